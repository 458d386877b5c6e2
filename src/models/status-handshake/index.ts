/**
 * status-handshake: the first client sends, the second waits, a third is turned away; one
 * `received` flag and one `message` key between them (seed 001, docs/protocols.md section 2).
 */
import { kvLive } from '../kv-store/live.js';
import type { ProtocolPackage } from '../package.js';
import type { GlobalView, ModelDefaults, ModelVariant } from '../types.js';
import { createLeasedPairClient } from '../kv-store/leased-pair-client.js';
import { validateKvMessage } from '../kv-store/messages.js';
import { storeRole } from '../kv-store/store.js';
import { isMessageShown, kvClientRole } from '../kv-store/client-role.js';
import { noMessageShownTwice } from '../lock-alternation/invariants.js';
import { statusClientMachine } from './client.js';
import { noFalseRejection, noOwnMessage, oneSenderAtATime } from './properties.js';


/** Explains a finding in the seed's terms. */
export function diagnose(view: GlobalView, finding: { kind: string; id: string }): string | null {
  const clients = Object.values(view.nodes).filter((n) => n.role === 'client');
  if (finding.id === 'invariant:no-own-message') {
    return 'one `received` flag serves both directions: the sender set received=1, became the waiter, and polled the flag before the other user cleared it, so it read back its own message';
  }
  if (finding.id === 'invariant:no-false-rejection') {
    return 'a client killed without quitting never sets status=off: the store says `two` for ever and every later client is turned away';
  }
  if (finding.id === 'invariant:one-sender-at-a-time') {
    return 'the flag was read in the wrong direction (or by both), so both clients think it is their turn to type';
  }
  const ones = clients.filter((n) => n.status === 'running' && n.context.joinedAs === 'one').map((n) => n.id);
  if (ones.length >= 2) {
    return `${ones.join(' and ')} both read status=off before either set it (check-then-set race): each set status=one and waits for a second user that, to each, never comes`;
  }
  const store = Object.values(view.nodes).find((n) => n.role === 'store');
  const data = (store?.context.data ?? {}) as Record<string, string>;
  if (data.received === '1' && data.message !== undefined && data.message.trim() === '') {
    return 'the message is only white space: the waiter strips it before checking, takes it for "no message yet", and keeps waiting, with received=1 never cleared';
  }
  const gone = clients.filter((n) => n.status === 'crashed').map((n) => n.id);
  if (gone.length > 0) {
    return `${gone.join(', ')} was killed without quitting: status stays \`two\`, nobody sets status=off, and the other client waits for a message for ever`;
  }
  return null;
}

export const defaults: ModelDefaults = {
  clients: 2,
  rounds: 2,
  topology: ({ clients, rounds }) => {
    const ids = Array.from({ length: clients }, (_, i) => `c${i + 1}`);
    return {
      nodes: [
        { id: 'store', role: 'store' },
        ...ids.map((id) => ({ id, role: 'client', startAtMs: { uniform: [0, 50] as [number, number] } })),
        // A third person tries to join while the pair talks: the seed turns it away.
        { id: 'third', role: 'client', startAtMs: 3000 },
      ],
      workload: [
        ...ids.map((id) => ({ node: id, messages: Array.from({ length: rounds }, (_, r) => `${id} message ${r + 1}`) })),
        { node: 'third', messages: ['third wants in'] },
      ],
    };
  },
  scenario: {
    // A client killed (and perhaps restarted) early in the conversation; the store stays up.
    randomFaults: { count: 1, kinds: ['crash', 'restart'], windowMs: [0, 5000], nodes: ['c1', 'c2'] },
  },
};

export const faithful: ModelVariant = {
  name: 'faithful',
  summary: 'the seed as written: check-then-set on status, one received flag for both directions, strip-then-check, status left at two by a killed client',
  roles: {
    store: storeRole(false),
    client: kvClientRole(statusClientMachine, 'a person at a terminal running the seed client'),
  },
  invariants: [oneSenderAtATime],
  properties: [noOwnMessage, noFalseRejection, noMessageShownTwice],
  isProgress: isMessageShown,
  defaults,
  transport: 'http',
  diagnose,
};

/** The repaired client: status claimed by compare-and-set, one flag and message key per direction, leases. */
export const fixedClientMachine = createLeasedPairClient({
  id: 'status-handshake-fixed-client',
  joinKey: 'status',
  freeValues: ['off'],
  first: 'one',
  second: 'two',
  turn: 'flags',
});

export const fixed: ModelVariant = {
  name: 'fixed',
  summary: 'compare-and-set on status, a flag and a message key per direction (the flag, not the text, says a message is there), leases so a dead peer frees the chat',
  roles: {
    store: storeRole(true),
    client: kvClientRole(fixedClientMachine, 'a person at a terminal running the repaired client'),
  },
  invariants: [oneSenderAtATime],
  properties: [noOwnMessage, noFalseRejection, noMessageShownTwice],
  isProgress: isMessageShown,
  defaults,
  transport: 'http',
  diagnose,
};

/** The package: the model; live, it is a client protocol of `kv`, the course's IM key-value server. */
export const statusHandshake: ProtocolPackage = {
  name: 'status-handshake',
  summary: 'the first client sends, the second waits, a third is turned away; status, received and message keys on a key-value store',
  source: 'seed 001 (course design document: status handshake), described in docs/protocols.md#status-handshake',
  variants: { faithful, fixed },
  validateMessage: validateKvMessage,
  live: kvLive,
  clients: {
    exercised: ['prompt', 'message', 'waiting', 'joined', 'peerLeft', 'serverBusy'],
    // The protocol polls the store and names no interval; a poll every 10 ms is far more than any
    // waiting person needs, and a program that polls without pausing goes far past it.
    bounds: { idleRequestsPerSecond: 100 },
  },
};
