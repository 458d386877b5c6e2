/**
 * Safety properties of lock-alternation (docs/protocols.md section 1), shared with its fixed variant.
 */
import type { GlobalView, HistoryProperty, Invariant, Observation } from '../types.js';

/** At most one client believes it may send (tag `maySend`: it has seen the lock hold its number). */
export const singleSender: Invariant = {
  id: 'single-sender',
  description: 'at most one client believes it may send',
  check(view: GlobalView): string | null {
    // Counted without building arrays first: this runs after every state change of every run.
    let count = 0;
    for (const id in view.nodes) {
      const n = view.nodes[id]!;
      if (n.status === 'running' && n.tags.includes('maySend')) count++;
    }
    if (count <= 1) return null;
    const senders = Object.values(view.nodes).filter((n) => n.status === 'running' && n.tags.includes('maySend'));
    const who = senders.map((n) => `${n.id} (client ${String(n.context.myNo)})`).join(' and ');
    return `${who} both believe they may send`;
  },
};

interface OverwriteState {
  /** the message last written to the store and not yet shown to anyone but its writer */
  pending: { text: string; writer: string } | null;
}

/** No message is overwritten before it is shown: a SET message lands while the previous one is unread. */
export const noOverwriteBeforeShown: HistoryProperty<OverwriteState> = {
  id: 'no-overwrite-before-shown',
  description: 'no message is overwritten before it is shown',
  initial: { pending: null },
  observe(state, obs: Observation) {
    // Withdrawing an unread message (the fixed client does when its reader is gone) is not overwriting it.
    if (obs.kind === 'deliver' && ((obs.msg.type === 'UNSET' && obs.msg.key === 'message') || obs.msg.type === 'CLEAR')) return { state: { pending: null } };
    if (obs.kind === 'deliver' && obs.msg.type === 'SET' && obs.msg.key === 'message') {
      const text = String(obs.msg.value);
      if (state.pending !== null) {
        return {
          violation: `${obs.from} overwrote message ${JSON.stringify(state.pending.text)} (written by ${state.pending.writer}) with ${JSON.stringify(text)} before anyone was shown it`,
        };
      }
      return { state: { pending: { text, writer: obs.from } } };
    }
    if (
      obs.kind === 'print' &&
      obs.params.kind === 'message' &&
      state.pending !== null &&
      obs.node !== state.pending.writer &&
      obs.params.text === state.pending.text
    ) {
      return { state: { pending: null } };
    }
    return { state };
  },
};

interface ShownState {
  /** `node|text` of every message shown whose text may still be shown again, sorted (canonical for hashing) */
  shown: string[];
}

/**
 * No message is shown twice to the same user. Workload texts are unique, so a text identifies a
 * message.
 *
 * For the exhaustive search, `forget` drops an entry once its text can never be shown again: in
 * lock-alternation (both variants) and status-handshake (both variants, which share this property)
 * a message shown is the value of a store's message key, copied from a VALUE reply as it is or
 * trimmed (or `''` when the key is absent: such entries are kept); that key only ever holds a value
 * copied from a SET, whose value is a client's draft, copied from a line its person typed (or the
 * store's initial data). So a text that is nowhere in the state (store, contexts, messages in
 * flight, lines not typed yet, role inputs) is never shown again, and its entries can never be a
 * violation: dropping them keeps every finding, while histories that differ only in such entries
 * are one state. (The random simulator keeps the whole list.)
 */
export const noMessageShownTwice: HistoryProperty<ShownState> = {
  id: 'no-message-shown-twice',
  description: 'no message is shown twice',
  initial: { shown: [] },
  observe(state, obs: Observation) {
    if (obs.kind !== 'print' || obs.params.kind !== 'message') return { state };
    const key = `${obs.node}|${obs.params.text}`;
    if (state.shown.includes(key)) {
      return { violation: `${obs.node} was shown ${JSON.stringify(obs.params.text)} a second time` };
    }
    return { state: { shown: [...state.shown, key].sort() } };
  },
  // a set kept as a sorted list: sorted again once the node names in it are swapped
  renameNodes: (state, rename) => ({ shown: rename(state.shown).sort() }),
  forget(state, present) {
    if (state.shown.length === 0) return state;
    const kept = state.shown.filter((key) => {
      const text = key.slice(key.indexOf('|') + 1);
      return text === '' || present(text);
    });
    return kept.length === state.shown.length ? state : { shown: kept };
  },
};
