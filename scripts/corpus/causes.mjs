/**
 * Why protosim disagrees with an implementation the manifest calls correct (or with a faithful one
 * outside its documented flaws): the protosim assumption it legitimately differs from, found by
 * reading the failing case, the manifest's notes and PROTOCOLS.md. Keyed by case id, optionally
 * narrowed to implementations. `genuine: true` marks a FAIL where protosim is right and the
 * implementation has a bug its manifest does not admit. Rendered beside each false FAIL.
 */
export const causes = [
  // kv: protosim's own extensions, not the course's IM interface
  { case: 'kv/separate-stores', cause: "protosim's extension (a `store` parameter keeps stores apart); the course server, and every corpus server, has one store" },
  { case: 'kv/unknown-action', cause: 'reply wording: protosim wants an `error: ...` body; PROTOCOLS.md fixes none, the corpus servers answer "\\n"' },
  { case: 'kv/missing-key', cause: 'reply wording: protosim wants an `error: ...` body for a get without a key; the corpus servers answer "\\n" (an empty value)' },
  { case: 'kv/oversized-value', cause: "a size limit of protosim's reference server (20000 characters refused); the IM interface has none" },
  // lock-alternation / status-handshake clients
  { case: 'lock-alternation/client/server-faults', impl: /client-py-a|client-py-defective/, genuine: true, cause: 'genuine (recommended case): one HTTP 500 raises urllib.error.HTTPError and ends the program; no retry (the manifest calls it correct, but it does not survive a server fault)' },
  { case: 'lock-alternation/client/server-faults', impl: /client-py-faithful/, cause: "the seed's client has no retry, so one HTTP 500 ends it: the suite counts this among the seed's flaws, the manifest's documented flaws do not list it (a disagreement about the seed, not a wrong verdict)" },
  // chat clients
  { case: 'ping-liveness/system/server-killed', impl: /client-py-a|client-py-defective/, genuine: true, cause: 'genuine: on a killed server (connection reset) its reader thread dies with ConnectionResetError and the program keeps running without saying the server is gone' },
  // offline-queue servers
  { case: 'oq/dead-connection-queues', cause: "delivery rule: protosim's model confirms a push only when the recipient makes a later request; these servers count a push as delivered once the write succeeded on a socket that was still open (peeked), which PROTOCOLS.md's wording (\"a recipient whose connection has silently died\") also allows" },
  { case: 'oq/error-replies', cause: "protosim's extension (opcode 0 with a reason for a wrong version, an unknown opcode, bad bytes); PROTOCOLS.md has no opcode 0 and these servers ignore the version / the unknown opcode" },
  { case: 'oq/login-moves', cause: 'notification: PROTOCOLS.md says the other session "is logged out"; protosim expects an opcode 11 pushed to it, these servers log it out silently (its next request gets 4/7)' },
  { case: 'oq/quit', impl: /server-py-faithful/, cause: "the seed closes the connection after a successful quit (\"we kill the thread\"); protosim's model keeps it open" },
  // ping-liveness servers
  { case: 'ping/version-mismatch', cause: 'reply order / extra reply: VERSION_RESPONSE {success:false} then ERROR 5; protosim expects ERROR 5 alone' },
  { case: 'ping/wrong-version-field', cause: 'a later message with version != 1.0.0: protosim wants ERROR 5; these servers negotiated once and ignore the field afterwards (PROTOCOLS.md does not say)' },
  { case: 'ping/logout-frees-user', cause: 'LOGOUT handling: the server closes the connection (go-b) or acknowledges with a LOGOUT message (py-a); protosim\'s model keeps the connection open and sends nothing' },
  { case: 'ping/silent-session-dropped', cause: "after ERROR 2 (timeout) the server closes the connection; protosim's model keeps it open" },
  { case: 'ping/ping-keeps-alive', cause: 'PING is answered with PING (a pong); protosim\'s model sends nothing back' },
  { case: 'ping/malformed-line', cause: 'a line that is not JSON gets no reply (or the connection closes); the case waits for some message' },
  { case: /^ping\/(login|chat-echo|double-login|spoofed-session-logout|logout-frees-user|killed-client-lockout-ends|silent-session-dropped|ping-keeps-alive|slow-link|dropped-message|oversized-frame)$/, impl: /server-py-faithful/, cause: "case-to-case leakage: the seed's server does not end a session when its TCP connection closes (it relies on pings, as PROTOCOLS.md allows), so user1 of the previous case is still logged in when the next case logs in as user1 (ERROR 3); protosim runs cases back to back on one server and assumes a closed connection frees the user" },
  // register-exit servers
  { case: 're/unknown-recipient', cause: 'reply wording: "User X is not connected to this server" instead of the seed\'s "That user is not connected to this server"' },
  { case: 're/exit', impl: /server-py-b/, cause: 'reply wording (as re/unknown-recipient)' },
  { case: 're/vanished-client-forgotten', impl: /server-py-b/, cause: 'reply wording (as re/unknown-recipient)' },
  { case: 're/spoofed-exit', cause: "Exit naming another user: the server refuses with an error and keeps the connection; protosim's model takes it as the sender's own exit and closes the sender's connection" },
  { case: 're/duplicate-name', impl: /server-go-(a|defective)/, cause: "a refused duplicate name: the server closes that connection; protosim's model keeps it open (either is a refusal)" },
  { case: 're/malformed-frame', impl: /server-go-(a|defective|faithful)/, cause: 'garbage bytes: the server closes only that connection instead of answering Error; the case wants an Error message' },
  { case: 're/oversized-content', cause: "protosim's reference limit (8000 characters refused); these servers accept up to 64 KiB" },
  { case: /^re\/(route|vanished-client-server-survives|oversized-frame|restart-fresh)$/, impl: /server-go-faithful/, cause: 'the harness sends messages with an empty From (the fixed model fills it in); the seed\'s server forwards From as the client wrote it (flaw spoofed-from). A real seed client fills From with its own name, so honest clients are routed fine' },
];

export function causeOf(implId, caseId) {
  for (const c of causes) {
    const caseHit = typeof c.case === 'string' ? c.case === caseId : c.case.test(caseId);
    if (caseHit && (c.impl === undefined || c.impl.test(implId))) return c;
  }
  return undefined;
}

/** Why a defective twin went uncaught: what its trigger needs that no case of the suite does. */
export const missCauses = {
  'register-exit/server-go-defective': 'every name the suite registers is lower case (alice${run}, bob${run}); the case-folded lookup only fails for a name with a capital letter',
};
