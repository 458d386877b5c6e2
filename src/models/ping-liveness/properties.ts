/**
 * Safety and bounded-liveness properties of ping-liveness (docs/protocols.md section 3), shared by every
 * variant. They read the server's console lines (`print` with `data.event`) and the users' screens.
 */
import type { GlobalView, HistoryProperty, Invariant, Observation } from '../types.js';

/** The lock-out bound used when the server does not state one (the seed's 10 s ping, 30 s timeout). */
export const defaultLockoutBoundMs = 31_000;

function serverBound(view: GlobalView): number {
  for (const n of Object.values(view.nodes)) {
    if (n.role === 'server' && typeof n.context.lockoutBoundMs === 'number') return n.context.lockoutBoundMs;
  }
  return defaultLockoutBoundMs;
}

/** Every session the server acts on belongs to the connection that asked. */
export const sessionBoundToConnection: HistoryProperty<null> = {
  id: 'session-bound-to-connection',
  description: 'a client can chat, ping or log out only in its own session',
  initial: null,
  observe(state, obs: Observation) {
    if (obs.kind !== 'print' || obs.params.kind !== 'status') return { state };
    const d = obs.params.data;
    if (!d || !['chat', 'logout', 'ping'].includes(String(d.event))) return { state };
    if (d.by !== d.owner) {
      return {
        violation: `${String(d.by)} ${d.event === 'chat' ? 'chatted' : d.event === 'logout' ? 'logged out' : 'pinged'} in session ${String(d.session)} of ${String(d.user)}, which belongs to ${String(d.owner)}: the server took the session from the message's id`,
      };
    }
    return { state };
  },
};

interface LockoutState {
  /** per user: when the client logged in as that user was killed (a lock-out started) */
  deadSince: Record<string, number>;
}

/**
 * A user whose client was killed while logged in can log in again within the server's bound
 * (its timeout plus one sweep and the network): a refusal "logged in from another location" after
 * the bound is a violation. Time comes from `view.timeMs`.
 */
export const lockoutEndsWithinBound: HistoryProperty<LockoutState> = {
  id: 'lockout-ends-within-bound',
  description: 'a killed client locks its user out for at most the session timeout',
  initial: { deadSince: {} },
  observe(state, obs: Observation, view: GlobalView) {
    if (obs.kind === 'crash') {
      const n = view.nodes[obs.node];
      const user = n?.context.user;
      if (n?.role === 'client' && typeof user === 'string' && n.context.sessionId && state.deadSince[user] === undefined) {
        return { state: { deadSince: { ...state.deadSince, [user]: view.timeMs } } };
      }
      return { state };
    }
    if (obs.kind !== 'print') return { state };
    const d = obs.params.data;
    if (!d || typeof d.user !== 'string') return { state };
    const since = state.deadSince[d.user];
    if (since === undefined) return { state };
    if (d.event === 'logged-in') {
      const { [d.user]: _gone, ...rest } = state.deadSince;
      return { state: { deadSince: rest } };
    }
    const bound = serverBound(view);
    if (d.code === 3 && view.timeMs - since > bound) {
      return {
        violation: `${d.user} is still locked out ${view.timeMs - since} ms after its client was killed (the bound is ${bound} ms): ${obs.node} was refused as "logged in from another location"`,
      };
    }
    return { state };
  },
};

/** The server never holds two sessions for one user. */
export const oneSessionPerUser: Invariant = {
  id: 'one-session-per-user',
  description: 'the server holds at most one session per user',
  check(view: GlobalView): string | null {
    for (const n of Object.values(view.nodes)) {
      if (n.role !== 'server') continue;
      const sessions = (n.context.sessions ?? {}) as Record<string, { user: string }>;
      const seen = new Map<string, string>();
      for (const [id, s] of Object.entries(sessions)) {
        const other = seen.get(s.user);
        if (other !== undefined) return `${s.user} has two sessions, ${other} and ${id}`;
        seen.set(s.user, id);
      }
    }
    return null;
  },
};
