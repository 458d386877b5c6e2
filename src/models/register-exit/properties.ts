/**
 * Properties of register-exit (docs/protocols.md section 4). They read the server console lines
 * (`print` kind `status` with `data.event`), what was delivered to the server, and who is alive.
 */
import type { GlobalView, HistoryProperty, Invariant, Observation } from '../types.js';

const serverLog = (obs: Observation): Record<string, unknown> | null =>
  obs.kind === 'print' && obs.params.kind === 'status' && obs.params.data ? obs.params.data : null;

/** The name a recipient sees in From is the name the sending client registered as. */
export const senderIsAuthentic: HistoryProperty<null> = {
  id: 'sender-is-authentic',
  description: 'a message shows the name its real sender registered as',
  initial: null,
  observe(state, obs, view) {
    const d = serverLog(obs);
    if (!d || d.event !== 'forward') return { state };
    const real = view.nodes[String(d.by)]?.context.user;
    if (typeof real === 'string' && real !== d.sender) {
      return { violation: `${String(d.by)} (registered as ${real}) sent ${JSON.stringify(d.content)} to ${String(d.to)} as from ${JSON.stringify(d.sender)}: the server trusted the From field` };
    }
    return { state };
  },
};

/** Exit removes only the name of the connection that sent it. */
export const exitOnlySelf: HistoryProperty<null> = {
  id: 'exit-only-self',
  description: 'a client can unregister only itself',
  initial: null,
  observe(state, obs) {
    const d = serverLog(obs);
    if (!d || d.event !== 'unregister') return { state };
    if (d.by !== d.owner) {
      return { violation: `${String(d.by)} unregistered ${String(d.name)}, whose connection is ${String(d.owner)}: the server trusted From on an Exit message` };
    }
    return { state };
  },
};

/** A name is never taken over while the client that registered it is still connected. */
export const uniqueNames: HistoryProperty<null> = {
  id: 'unique-names',
  description: 'a duplicate name does not replace a connected client',
  initial: null,
  observe(state, obs, view) {
    const d = serverLog(obs);
    if (!d || d.event !== 'register' || typeof d.replaced !== 'string') return { state };
    if (view.nodes[d.replaced]?.status === 'running') {
      return { violation: `${String(d.by)} registered as ${String(d.name)} and replaced ${d.replaced}, which is still connected: ${String(d.name)}'s messages now go to ${String(d.by)}` };
    }
    return { state };
  },
};

/** The default bound for noticing a vanished client when the server does not state one. */
export const defaultDetectBoundMs = 31_000;

interface GoneState {
  /** per client node: when it was first seen dead (crashed or exited) */
  goneSince: Record<string, number>;
}

/**
 * A client that vanished (killed, or gone without Exit) is unregistered within the bound: the
 * server does not forward messages into a dead connection later than that.
 */
export const noForwardToVanished: HistoryProperty<GoneState> = {
  id: 'no-forward-to-vanished',
  description: 'a vanished client is unregistered within the detection bound',
  initial: { goneSince: {} },
  observe(state, obs, view: GlobalView) {
    let goneSince = state.goneSince;
    for (const n of Object.values(view.nodes)) {
      const gone = n.role === 'client' && (n.status === 'crashed' || n.status === 'done');
      if (gone && goneSince[n.id] === undefined) goneSince = { ...goneSince, [n.id]: view.timeMs };
      if (!gone && goneSince[n.id] !== undefined) {
        const { [n.id]: _back, ...rest } = goneSince;
        goneSince = rest;
      }
    }
    const d = serverLog(obs);
    if (d && d.event === 'forward') {
      const since = goneSince[String(d.toConn)];
      const server = Object.values(view.nodes).find((n) => n.role === 'server');
      const bound = typeof server?.context.detectBoundMs === 'number' ? server.context.detectBoundMs : defaultDetectBoundMs;
      if (since !== undefined && view.timeMs - since > bound) {
        return {
          violation: `${String(d.to)} (${String(d.toConn)}) has been gone for ${view.timeMs - since} ms (bound ${bound} ms) but is still registered: ${String(d.sender)}'s ${JSON.stringify(d.content)} was forwarded into a dead connection and lost`,
        };
      }
    }
    return goneSince === state.goneSince ? { state } : { state: { goneSince } };
  },
};

interface HandledState {
  /** per sending connection: contents delivered to the server and not yet handled, in order */
  pending: Record<string, string[]>;
}

/**
 * Every message that reaches the server is handled (forwarded or refused with an error) in the
 * order it arrived: a message that vanishes inside the server is lost.
 */
export const allMessagesHandled: HistoryProperty<HandledState> = {
  id: 'all-messages-handled',
  description: 'messages sent close together all arrive',
  initial: { pending: {} },
  observe(state, obs, view) {
    if (obs.kind === 'deliver' && obs.msg.type === 'MESSAGE') {
      const m = obs.msg as unknown as { to: string; content: string; register: boolean; exit: boolean };
      // Only what reaches the server counts; the server's own forwards go to clients.
      if (m.register || m.exit || m.to === '' || view.nodes[obs.to]?.role !== 'server') return { state };
      const list = state.pending[obs.from] ?? [];
      return { state: { pending: { ...state.pending, [obs.from]: [...list, m.content] } } };
    }
    const d = serverLog(obs);
    if (!d || (d.event !== 'forward' && d.event !== 'reject')) return { state };
    const by = String(d.by);
    const list = state.pending[by] ?? [];
    const at = list.indexOf(String(d.content));
    if (at > 0) {
      return { violation: `${by}'s ${list.slice(0, at).map((c) => JSON.stringify(c)).join(', ')} never reached anyone: ${at === 1 ? 'it' : 'they'} arrived right before ${JSON.stringify(d.content)} and vanished inside the server` };
    }
    if (at < 0) return { state };
    return { state: { pending: { ...state.pending, [by]: list.slice(1) } } };
  },
};

/** The server stays up until its own person types EXIT. */
export const serverSurvivesClients: Invariant = {
  id: 'server-survives-clients',
  description: 'no client, bad or vanished, takes the server down',
  check(view) {
    for (const n of Object.values(view.nodes)) {
      if (n.role === 'server' && n.status === 'done' && n.context.exitReason !== 'EXIT') {
        return `the server went down (${String(n.context.exitReason)}) though nobody typed EXIT`;
      }
    }
    return null;
  },
};
