/**
 * lock-alternation: two clients alternate over a key-value store with `connected`, `lock` and
 * `message` keys (seed 000, docs/protocols.md section 1).
 */
import { kvLive } from '../kv-store/live.js';
import type { ProtocolPackage } from '../package.js';
import type { GlobalView, ModelDefaults, ModelVariant } from '../types.js';
import { storeRole } from '../kv-store/store.js';
import { isMessageShown, kvClientRole } from '../kv-store/client-role.js';
import { validateKvMessage } from '../kv-store/messages.js';
import { createLeasedPairClient } from '../kv-store/leased-pair-client.js';
import { lockClientMachine } from './client.js';
import { noMessageShownTwice, noOverwriteBeforeShown, singleSender } from './invariants.js';


/** Explains a finding in the seed's own terms. */
export function diagnose(view: GlobalView, finding: { kind: string; id: string }): string | null {
  const clients = Object.values(view.nodes).filter((n) => n.role === 'client');
  const ones = clients.filter((n) => n.context.myNo === 1).map((n) => n.id);
  const twos = clients.filter((n) => n.context.myNo === 2).map((n) => n.id);
  const gone = clients.filter((n) => n.status === 'crashed' || n.status === 'done').map((n) => n.id);
  if (ones.length >= 2) {
    return `${ones.join(' and ')} ${ones.length === 2 ? 'both' : 'all'} read \`connected\` as absent before any of them set it (check-then-set race), so each made itself client 1 and waits for connected=2, which no client will ever set`;
  }
  if (twos.length >= 2) {
    return `${twos.join(' and ')} ${twos.length === 2 ? 'both' : 'all'} became client 2 (a third client, or \`connected\` left at 2 by an earlier session): both wait for lock=2 and both take the turn`;
  }
  if (gone.length > 0 && finding.kind !== 'invariant') {
    const left = clients.filter((n) => !gone.includes(n.id) && n.status === 'running').map((n) => n.id);
    return `${gone.join(', ')} stopped (crashed or quit) without telling anyone; ${left.join(', ') || 'the other client'} keep${left.length === 1 ? 's' : ''} polling for a turn only ${gone.join(', ')} could give, and the seed offers no way to rejoin`;
  }
  if (ones.length === 0 && twos.length > 0 && finding.kind !== 'invariant') {
    return 'no client is client 1: `connected` was already set when they started (keys left over from an earlier session)';
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
        // Started close together: the seed's race is in play, as a student would start two terminals.
        ...ids.map((id) => ({ id, role: 'client', startAtMs: { uniform: [0, 50] as [number, number] } })),
      ],
      workload: ids.map((id) => ({ node: id, messages: Array.from({ length: rounds }, (_, r) => `${id} message ${r + 1}`) })),
    };
  },
  scenario: {
    // A client killed (and perhaps restarted) early in the conversation; the store stays up.
    randomFaults: { count: 1, kinds: ['crash', 'restart'], windowMs: [0, 5000], nodes: ['c1', 'c2'] },
  },
};

export const faithful: ModelVariant = {
  name: 'faithful',
  summary: 'the seed as written: check-then-set join, polling, no rejoin',
  roles: {
    store: storeRole(false),
    client: kvClientRole(lockClientMachine, 'a person at a terminal running the seed client'),
  },
  invariants: [singleSender],
  properties: [noOverwriteBeforeShown, noMessageShownTwice],
  isProgress: isMessageShown,
  defaults,
  transport: 'http',
  diagnose,
};

/** The repaired client: `connected` claimed by compare-and-set (0 means nobody), leases, clean leave. */
export const fixedClientMachine = createLeasedPairClient({
  id: 'lock-alternation-fixed-client',
  joinKey: 'connected',
  freeValues: ['0'],
  first: '1',
  second: '2',
  turn: 'lock',
});

/**
 * Explains findings in the fixed variant. Its only known weakness is the lease's: a client whose
 * lease is not renewed in time (paused, slow, or — in the untimed exhaustive search — simply
 * outrun by the other's timer) is taken for dead while it still acts.
 */
export function diagnoseFixed(view: GlobalView, finding: { kind: string; id: string }): string | null {
  const live = Object.values(view.nodes).filter((n) => n.role === 'client' && n.status === 'running');
  if (finding.kind === 'invariant' && live.length >= 2) {
    return `${live.map((n) => n.id).join(' and ')} are both alive, but a lease check took one for dead (its lease was not renewed in time: a paused or slow client, or, in the untimed exhaustive search, the other's timer firing first) and reset the pair under it; a lease without a fencing token is only safe while no client stalls longer than the lease`;
  }
  return null;
}

export const fixed: ModelVariant = {
  name: 'fixed',
  summary: 'atomic join (compare-and-set on connected), a lease per client so a dead peer is noticed and the pair can be joined again, a clean leave',
  roles: {
    store: storeRole(true),
    client: kvClientRole(fixedClientMachine, 'a person at a terminal running the repaired client'),
  },
  invariants: [singleSender],
  properties: [noOverwriteBeforeShown, noMessageShownTwice],
  isProgress: isMessageShown,
  defaults,
  transport: 'http',
  diagnose: diagnoseFixed,
};

/** The package: the model; live, it is a client protocol of `kv`, the course's IM key-value server. */
export const lockAlternation: ProtocolPackage = {
  name: 'lock-alternation',
  summary: 'two clients alternate turns through `connected`, `lock` and `message` keys on a key-value store',
  source: 'seed 000 (course design document: lock alternation over a key-value store), described in docs/protocols.md#lock-alternation',
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
