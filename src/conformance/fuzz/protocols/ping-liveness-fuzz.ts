/**
 * ping-liveness servers (docs/protocols.md section 3): version offers (with and without a common
 * version, empty, hostile), logins with right and wrong passwords to the seed's two accounts (the
 * same account from two users), chat with hostile text, pings, logouts, ids of another session or
 * of none, silence past the heartbeat timeout, and lines that are not JSON. A user goes away (a
 * close, a reset, a link that dies silently, or quiet past the heartbeat timeout while the others
 * ping) and comes back: it offers its version and logs in to its account again. A split of a
 * user's link is also drawn followed by a message of that user (`faultTraffic`).
 *
 * Session ids are the server's own: a message names one as `{ $session: 'own' | k }`, rendered as
 * `$sK` (bound by the oracle after `expect: model`) when this case has logged in that session, as
 * far as rendering can tell, and otherwise as an id no session has.
 */
import fc from 'fast-check';
import { PingMtype, pingSupportedVersions } from '../../../models/ping-liveness/wire.js';
import { nameBase, streamFaults, type ProtocolFuzz } from '../case-arbitrary.js';
import type { RenderHooks } from '../fuzz-case.js';
import { fieldText, hostileText, ladderText, unfixedLimitChars } from '../hostile-data.js';

const separators = ['\n', '{', '}', '"', '\\"', '\\n', ',', ':', '!quit'];
const accounts = [
  ['user1', 'pass1'],
  ['user2', 'pass2'],
] as const;
/** An id no session has (the server's own ids are small counters or random). */
const noSession = 424242;

const login = (account: number, right: boolean): unknown => ({ mtype: PingMtype.loginRequest, payload: { username: accounts[account]![0], password: right ? accounts[account]![1] : 'wrong' } });

function message(users: number): fc.Arbitrary<unknown> {
  const session = fc.oneof({ weight: 4, arbitrary: fc.constant('own') }, { weight: 1, arbitrary: fc.integer({ min: 1, max: users }) }).map((s) => ({ $session: s }));
  const versions = fc.subarray(['0.9.0', ...pingSupportedVersions, '2.0.0', '']).map((v) => ({ supported_versions: v }));
  return fc.oneof(
    { weight: 6, arbitrary: fc.record({ mtype: fc.constant(PingMtype.chatMessage), payload: fc.record({ id: session, time: fc.constant(1), message: fieldText(separators, unfixedLimitChars) }) }) },
    { weight: 2, arbitrary: fc.record({ mtype: fc.constant(PingMtype.ping), payload: fc.record({ id: session }) }) },
    { weight: 2, arbitrary: fc.tuple(fc.integer({ min: 0, max: 1 }), fc.boolean()).map(([a, right]) => login(a, right)) },
    { weight: 1, arbitrary: fc.record({ mtype: fc.constant(PingMtype.logout), payload: fc.record({ id: session }) }) },
    { weight: 1, arbitrary: fc.record({ mtype: fc.constant(PingMtype.versionRequest), payload: versions }) },
  );
}

interface Sessions {
  created: number;
  own: Map<number, number>;
  /** account name -> the user holding it */
  held: Map<string, number>;
}

const sessionsOf = (state: Map<string, unknown>): Sessions => {
  const s = (state.get('sessions') as Sessions | undefined) ?? { created: 0, own: new Map(), held: new Map() };
  state.set('sessions', s);
  return s;
};

/** User `user` holds no session any more (its connection ended): its account is free. */
function forget(user: number, state: Map<string, unknown>): void {
  const s = sessionsOf(state);
  s.own.delete(user);
  for (const [name, u] of s.held) if (u === user) s.held.delete(name);
}

/**
 * Follows logins and logouts as far as the case's own messages tell, and connections that ended (a
 * session the server dropped on a timeout is forgotten when its user closes, not before: a count
 * that lags the model's names sessions that exist, one ahead would name one that never did).
 */
const hooks: RenderHooks = {
  forget,
  // after these the server may close the connection (a logout of its own session, a version offer
  // with nothing in common: ERROR 5), so the user writes no more on it (a write to a connection the
  // model let close leaves the case inconclusive); it may come back on a new one
  leaves: (msg) => {
    const m = msg as { mtype?: number; payload?: { id?: unknown; supported_versions?: unknown } };
    if (m.mtype === PingMtype.logout) return (m.payload?.id as { $session?: unknown } | undefined)?.$session === 'own';
    return m.mtype === PingMtype.versionRequest && !(Array.isArray(m.payload?.supported_versions) && m.payload.supported_versions.some((v) => (pingSupportedVersions as readonly unknown[]).includes(v)));
  },
  resolve: (msg, user, state) => {
    const s = sessionsOf(state);
    const m = msg as { mtype?: number; payload?: Record<string, unknown> };
    const id = m.payload?.id as { $session?: unknown } | undefined;
    let out: unknown = msg;
    if (typeof id === 'object' && id !== null && '$session' in id) {
      const k = id.$session === 'own' ? s.own.get(user) : (id.$session as number);
      out = { ...m, payload: { ...m.payload, id: k !== undefined && k <= s.created ? `$s${k}` : noSession } };
    }
    if (m.mtype === PingMtype.loginRequest) {
      const { username, password } = m.payload as { username: string; password: string };
      const right = accounts.some(([u, p]) => u === username && p === password);
      if (right && !s.own.has(user) && !s.held.has(username)) {
        s.created++;
        s.own.set(user, s.created);
        s.held.set(username, user);
      }
    }
    if (m.mtype === PingMtype.logout && id?.$session === 'own' && s.own.has(user)) forget(user, state);
    return out;
  },
};

/** A user's setup, and what it sends when it comes back: a version offer, then a login to its account. */
const setup = (user: number): unknown[] => [{ mtype: PingMtype.versionRequest, payload: { supported_versions: ['1.0.0'] } }, login(user % 2, true)];

export const pingLivenessFuzz: ProtocolFuzz = {
  protocol: 'ping-liveness',
  maxUsers: 3,
  name: nameBase(),
  setup,
  message,
  comeBack: setup,
  // silent past the heartbeat timeout and its slack, while the others ping (the suite's interval)
  quiet: { ms: '$lockoutBoundMs', everyMs: '$pingIntervalMs', keepAlive: () => ({ mtype: PingMtype.ping, payload: { id: { $session: 'own' } } }) },
  raw: fc.oneof(hostileText(separators), ladderText()),
  rawEnd: '\n',
  faults: streamFaults,
  faultTraffic: true,
  waits: [0, 100, '$lockoutBoundMs'],
  vars: { heartbeatTimeoutMs: 800, lockoutBoundMs: 1400, pingIntervalMs: 250 },
  hooks,
};
