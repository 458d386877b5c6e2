/**
 * Properties of offline-queue (docs/protocols.md section 5). They read the server console lines
 * (`print` kind `status` with `data.event`), the messages users are shown, and the server's queues.
 * A message is identified by `sender|text` (workload texts are distinct per sender).
 */
import type { GlobalView, HistoryProperty, Observation } from '../types.js';
import { messageLengthMax, nameLengthMax } from './messages.js';

const serverLog = (obs: Observation): Record<string, unknown> | null =>
  obs.kind === 'print' && obs.params.kind === 'status' && obs.params.data && obs.params.data.event !== undefined && typeof obs.params.data.by === 'string'
    ? obs.params.data
    : null;

const letterId = (sender: string, text: string): string => `${sender}|${text}`;

/** The letters the server still holds for `account`: its queue and (fixed) its unconfirmed pushes. */
function held(view: GlobalView, account: string): Set<string> {
  const out = new Set<string>();
  for (const n of Object.values(view.nodes)) {
    if (n.role !== 'server') continue;
    const accounts = (n.context.accounts ?? {}) as Record<string, { queue: { sender: string; text: string }[] }>;
    for (const l of accounts[account]?.queue ?? []) out.add(letterId(l.sender, l.text));
    const unacked = (n.context.unacked ?? {}) as Record<string, { sender: string; text: string }[]>;
    for (const l of unacked[account] ?? []) out.add(letterId(l.sender, l.text));
  }
  return out;
}

interface DeliveryState {
  /** per recipient account: accepted letters not yet shown, in acceptance order */
  outstanding: Record<string, string[]>;
  /** per recipient account: letters shown, with the node that showed them */
  shown: Record<string, Record<string, string>>;
}

/**
 * No accepted message is lost or shown twice. Loss is judged when the recipient checks its queue:
 * a letter accepted for it, never shown, and no longer held by the server (not queued, not
 * awaiting confirmation) is gone. A letter shown again after the node that showed it crashed is
 * forgiven (the crash may have come before the confirmation).
 */
export const noMessageLost: HistoryProperty<DeliveryState> = {
  id: 'no-message-lost',
  description: 'no accepted message is lost or delivered twice',
  initial: { outstanding: {}, shown: {} },
  observe(state, obs, view) {
    if (obs.kind === 'crash') {
      const shown: DeliveryState['shown'] = {};
      for (const [acct, m] of Object.entries(state.shown)) {
        shown[acct] = Object.fromEntries(Object.entries(m).filter(([, node]) => node !== obs.node));
      }
      return { state: { ...state, shown } };
    }
    if (obs.kind !== 'print') return { state };
    const d = obs.params.data;
    const log = serverLog(obs);
    if (log && log.event === 'send') {
      const to = String(log.to);
      const id = letterId(String(log.account), String(log.text));
      return { state: { ...state, outstanding: { ...state.outstanding, [to]: [...(state.outstanding[to] ?? []), id] } } };
    }
    if (log && log.event === 'delete') {
      const { [String(log.account)]: _gone, ...outstanding } = state.outstanding;
      const { [String(log.account)]: _seen, ...shown } = state.shown;
      return { state: { outstanding, shown } };
    }
    if (obs.params.kind === 'message' && d && typeof d.account === 'string') {
      const account = d.account;
      const id = letterId(obs.params.author ?? '', obs.params.text);
      const before = state.shown[account]?.[id];
      if (before !== undefined) {
        return { violation: `${account} was shown ${JSON.stringify(obs.params.text)} from ${obs.params.author ?? '?'} twice (on ${before}, then on ${obs.node})` };
      }
      const list = state.outstanding[account] ?? [];
      return {
        state: {
          outstanding: { ...state.outstanding, [account]: list.filter((x) => x !== id) },
          shown: { ...state.shown, [account]: { ...(state.shown[account] ?? {}), [id]: obs.node } },
        },
      };
    }
    if (obs.params.kind === 'status' && d && d.event === 'checked' && typeof d.account === 'string') {
      const still = held(view, d.account);
      const lost = (state.outstanding[d.account] ?? []).filter((id) => !still.has(id));
      if (lost.length > 0) {
        const [sender, ...text] = lost[0]!.split('|');
        return {
          violation: `${d.account} checked its messages, but ${JSON.stringify(text.join('|'))} from ${sender}, accepted by the server, was never shown and is no longer queued: it was written into a dead connection and dropped`,
        };
      }
    }
    return { state };
  },
};

interface OrderState {
  /** per `sender>recipient`: texts in the order the server accepted them */
  sent: Record<string, string[]>;
  /** per `sender>recipient`: index of the last one shown */
  lastShown: Record<string, number>;
}

/** Messages from one sender to one recipient are shown in the order they were sent. */
export const perSenderOrder: HistoryProperty<OrderState> = {
  id: 'per-sender-order',
  description: 'messages from one sender to one recipient arrive in send order',
  initial: { sent: {}, lastShown: {} },
  observe(state, obs) {
    if (obs.kind !== 'print') return { state };
    const log = serverLog(obs);
    if (log && log.event === 'send') {
      const key = `${String(log.account)}>${String(log.to)}`;
      return { state: { ...state, sent: { ...state.sent, [key]: [...(state.sent[key] ?? []), String(log.text)] } } };
    }
    const d = obs.params.data;
    if (obs.params.kind !== 'message' || !d || typeof d.account !== 'string') return { state };
    const key = `${obs.params.author ?? ''}>${d.account}`;
    const at = (state.sent[key] ?? []).indexOf(obs.params.text);
    if (at < 0) return { state };
    const last = state.lastShown[key] ?? -1;
    if (at < last) {
      return { violation: `${d.account} was shown ${JSON.stringify(obs.params.text)} from ${obs.params.author ?? '?'} after ${JSON.stringify(state.sent[key]![last])}, which was sent later` };
    }
    return { state: { ...state, lastShown: { ...state.lastShown, [key]: at } } };
  },
};

const acts = ['send', 'check', 'delete'];

/** The account a request acts on is the one its connection logged in to, never the `sender` field. */
export const identityFromLogin: HistoryProperty<null> = {
  id: 'identity-from-login',
  description: "a client acts only as the account it logged in to",
  initial: null,
  observe(state, obs) {
    const log = serverLog(obs);
    if (!log || !acts.includes(String(log.event))) return { state };
    if (log.login !== log.account) {
      return { violation: `${String(log.by)}, logged in as ${String(log.login)}, did ${String(log.event)} as ${String(log.account)}: the server took the account from the sender field` };
    }
    return { state };
  },
};

/**
 * A session acts only while its account is still its own: not after the account was opened at a
 * second location, and not after it was deleted (a new account of the same name is someone else).
 */
export const oneLocationPerAccount: HistoryProperty<null> = {
  id: 'one-location-per-account',
  description: 'a session moved away or deleted cannot act for the account any more',
  initial: null,
  observe(state, obs) {
    const log = serverLog(obs);
    if (!log || !acts.includes(String(log.event)) || log.login !== log.account) return { state };
    if (log.sessionInc !== log.accountInc) {
      return { violation: `${String(log.by)} logged in to an earlier ${String(log.account)} that was deleted, and did ${String(log.event)} on the new account of the same name` };
    }
    if (log.owner !== log.by) {
      return { violation: `${String(log.by)} did ${String(log.event)} as ${String(log.account)}, which has since logged in on ${String(log.owner)}: the first location was never logged out` };
    }
    return { state };
  },
};

/** The pattern budget: a `list` that takes more steps than this would freeze a real server. */
export const patternStepsMax = 100_000;

/** A pattern from a client cannot make the server spin. */
export const patternCannotSpin: HistoryProperty<null> = {
  id: 'pattern-cannot-spin',
  description: 'a list pattern cannot make the server spin',
  initial: null,
  observe(state, obs) {
    const log = serverLog(obs);
    if (!log || log.event !== 'list') return { state };
    if (log.exhausted === true || Number(log.steps) > patternStepsMax) {
      return { violation: `the pattern ${JSON.stringify(log.pattern)} from ${String(log.by)} took more than ${patternStepsMax} backtracking steps: a regular-expression engine would spin, and the server answers nobody meanwhile` };
    }
    return { state };
  },
};

/** Oversized names and messages get an error, not an account or a delivery. */
export const limitsEnforced: HistoryProperty<null> = {
  id: 'limits-enforced',
  description: `names longer than ${nameLengthMax} and messages longer than ${messageLengthMax} characters are refused`,
  initial: null,
  observe(state, obs) {
    const log = serverLog(obs);
    if (!log) return { state };
    if (log.event === 'create' && Number(log.length) > nameLengthMax) {
      return { violation: `${String(log.by)} created an account with a ${String(log.length)}-character name (the limit is ${nameLengthMax})` };
    }
    if (log.event === 'send' && Number(log.length) > messageLengthMax) {
      return { violation: `${String(log.by)} sent a ${String(log.length)}-character message (the limit is ${messageLengthMax})` };
    }
    return { state };
  },
};
