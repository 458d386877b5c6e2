/**
 * Properties of status-handshake (docs/protocols.md section 2), shared by its variants.
 */
import type { GlobalView, HistoryProperty, Invariant, Observation } from '../types.js';

/** At most one client believes it may send (tag `maySend`). */
export const oneSenderAtATime: Invariant = {
  id: 'one-sender-at-a-time',
  description: 'at most one client believes it is its turn to send',
  check(view: GlobalView): string | null {
    const senders = Object.values(view.nodes).filter((n) => n.role === 'client' && n.status === 'running' && n.tags.includes('maySend'));
    if (senders.length <= 1) return null;
    return `${senders.map((n) => n.id).join(' and ')} all believe it is their turn to send`;
  },
};

interface OwnState {
  /** message text (trimmed) -> the node that wrote it */
  writer: Record<string, string>;
}

/**
 * Nobody is shown a message they typed themselves.
 *
 * For the exhaustive search, `forget` drops the writer of a text once no string in the state is that
 * text, as it is or trimmed: a message shown is a message key's value trimmed, and a message key only
 * ever holds a value copied from a SET, whose value is a client's draft, copied from a line its person
 * typed. So no later print can look the entry up, and no later SET can overwrite it: dropping it
 * keeps every finding. (`''`, shown for a missing key, is kept.)
 */
export const noOwnMessage: HistoryProperty<OwnState> = {
  id: 'no-own-message',
  description: 'no client is shown its own message as if the other had sent it',
  initial: { writer: {} },
  observe(state, obs: Observation) {
    if (obs.kind === 'deliver' && obs.msg.type === 'SET' && typeof obs.msg.key === 'string' && obs.msg.key.startsWith('message')) {
      return { state: { writer: { ...state.writer, [String(obs.msg.value).trim()]: obs.from } } };
    }
    if (obs.kind === 'print' && obs.params.kind === 'message' && state.writer[obs.params.text.trim()] === obs.node) {
      return { violation: `${obs.node} was shown ${JSON.stringify(obs.params.text)}, which it wrote itself: it saw its own received=1 flag` };
    }
    return { state };
  },
  forget(state, present) {
    let writer: Record<string, string> | null = null;
    for (const text in state.writer) {
      if (text === '' || present(text)) continue;
      writer ??= { ...state.writer };
      delete writer[text];
    }
    return writer === null ? state : { writer };
  },
};

/** How long a newcomer may take to notice a dead member when no client says (no lease): 5 s. */
export const defaultNoticeMs = 5000;

interface RejectionState {
  /** per client node: when it last went away (crashed or exited), kept after a restart */
  goneAt: Record<string, number>;
  /** the client nodes that are down now */
  down: string[];
}

/**
 * A client is turned away only while two other clients are in the chat, or left it so recently
 * that nobody could know yet (within the clients' lease, plus two polls).
 */
export const noFalseRejection: HistoryProperty<RejectionState> = {
  id: 'no-false-rejection',
  description: 'a client is turned away only when two others are in the chat',
  initial: { goneAt: {}, down: [] },
  observe(state, obs: Observation, view: GlobalView) {
    let goneAt = state.goneAt;
    const down: string[] = [];
    for (const n of Object.values(view.nodes)) {
      if (n.role !== 'client' || (n.status !== 'crashed' && n.status !== 'done')) continue;
      down.push(n.id);
      if (!state.down.includes(n.id)) goneAt = { ...goneAt, [n.id]: view.timeMs };
    }
    down.sort();
    const changed = goneAt !== state.goneAt || down.join() !== state.down.join();
    const next = changed ? { goneAt, down } : state;
    if (obs.kind !== 'print' || obs.params.kind !== 'error' || obs.params.data?.event !== 'turned-away') return { state: next };
    const clients = Object.values(view.nodes).filter((n) => n.id !== obs.node && n.role === 'client');
    const lease = Math.max(0, ...clients.map((n) => (typeof n.context.leaseMs === 'number' ? n.context.leaseMs + 2 * Number(n.context.pollMs ?? 0) : 0)));
    const noticeMs = lease > 0 ? lease : defaultNoticeMs;
    const inChat = clients.filter((n) => n.status === 'running' && n.tags.includes('inChat'));
    const justGone = clients.filter((n) => !inChat.includes(n) && goneAt[n.id] !== undefined && view.timeMs - goneAt[n.id]! <= noticeMs);
    if (inChat.length + justGone.length >= 2) return { state: next };
    const who = inChat.length === 0 ? 'nobody is' : `only ${inChat.map((n) => n.id).join(' and ')} is`;
    return { violation: `${obs.node} was told the server is in use, but ${who} in the chat: status=two was left behind by a client that never quit` };
  },
  // `down` is kept sorted: sorted again once the node names in it are swapped
  renameNodes: (state, rename) => ({ goneAt: rename(state.goneAt), down: rename(state.down).sort() }),
};
