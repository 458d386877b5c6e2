/**
 * Which suite cases show each documented flaw of the seed-faithful implementations (their
 * impl.json `defects`), read from the flaw descriptions of the manifests and the `flaw:` lines of
 * the suites. A faithful implementation must fail (FAIL or ERROR) the cases of its flaws and
 * nothing else. A flaw mapped to no case has no case in its suite that provokes it: it is listed,
 * not required.
 */
export const flawCases = {
  'register-exit/server-go-faithful': {
    'spoofed-from': ['re/spoofed-from'],
    'exit-for-another-user': ['re/spoofed-exit'],
    'duplicate-name-replaces': ['re/duplicate-name'],
    'vanished-client-stays-registered': ['re/vanished-client-forgotten'],
    'close-together-messages-lost': ['re/back-to-back', 're/lossy-link'],
    'unsynchronized-connection-map': [],
  },
  'offline-queue/server-py-faithful': {
    'unframed-requests-merge': ['oq/back-to-back', 'oq/split-frames'],
    'list-pattern-is-regex': ['oq/list-pattern-is-not-a-regex'],
    'oversized-input-no-clear-error': ['oq/limits'],
    'sender-field-trusted': ['oq/spoofed-sender'],
    'sigint-waits-for-clients': [],
  },
  'ping-liveness/server-py-faithful': {
    'spoofed-chat': ['ping/spoofed-session-chat'],
    'spoofed-logout': ['ping/spoofed-session-logout'],
    'spoofed-ping': ['ping/spoofed-session-ping'],
  },
  'ping-liveness-quic/server-go-faithful': {
    'spoofed-chat': ['ping/spoofed-session-chat'],
    'spoofed-logout': ['ping/spoofed-session-logout'],
    'spoofed-ping': ['ping/spoofed-session-ping'],
  },
  'kv-store/server-go-faithful': {},
  'lock-alternation/client-py-faithful': {
    'join-race-two-client-1': ['lock-alternation/client/simultaneous-start'],
    'third-client-second-client-2': ['lock-alternation/client/third-client'],
    'dead-partner-polls-forever': ['lock-alternation/client/peer-killed'],
    'no-rejoin': ['lock-alternation/client/rejoin'],
    'stale-keys-break-next-session': ['lock-alternation/client/leftover-keys'],
  },
  'status-handshake/client-py-faithful': {
    'status-check-then-set-race': ['status-handshake/client/simultaneous-start'],
    'shared-received-flag': ['status-handshake/client/own-message'],
    'killed-client-locks-server': ['status-handshake/client/peer-killed', 'status-handshake/client/stale-in-use'],
    'whitespace-message-never-delivered': ['status-handshake/client/whitespace-message'],
  },
  'offline-queue/client-py-faithful': {
    'unframed-replies-merge': [],
  },
  'ping-liveness/client-py-faithful': {},
  'register-exit/client-go-faithful': {
    // shows only when the messages reach it in one read (timing: it passed once, failed once)
    'close-together-messages-lost': ['register-exit/system/quick-succession'],
  },
};
