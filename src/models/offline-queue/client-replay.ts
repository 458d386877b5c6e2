/**
 * offline-queue counterexamples replayed on live client programs: a model client's program goes by
 * the account its typed lines log in to (`login bob`, else `create bob`), and the adapter's login
 * (create, then log in) stands for those two lines; `send`/`flood` lines are the messages a person
 * types (`flood bob 3 note` is three sends, `note 1`..`note 3`); `check` is the adapter's `check`;
 * `quit` is quitting as the adapter says. A message is matched by what it does: the request's
 * action with its name or recipient and text (never the `sender` field, which a correct server
 * ignores), a reply's opcode, a push's or a queue's letters.
 *
 * Live checks, on what the programs were written and showed (protosim's reference server is
 * correct, so what breaks is the programs' doing):
 * - `no-message-lost`: a letter written to a running program (a push, or an item of its queue
 *   returned by check or delete) that it never showed;
 * - `per-sender-order`: a program showed one sender's letters in another order than it was written them.
 *
 * What a program does that the model's client rules out (DIVERGED) is ./client-ruled-out.ts's.
 */
import type { ClientReplayMapping, LiveClientsView } from '../live-types.js';
import type { ProtocolMessage } from '../types.js';
import { parseQueueCommand } from './client.js';
import { offlineQueueRuledOut } from './client-ruled-out.js';
import { Op, parseLetters, Reply, type Letter, type QueueReply, type QueueRequest } from './messages.js';

const opName: Record<number, string> = Object.fromEntries(Object.entries(Op).map(([k, v]) => [v, k]));
const replyName: Record<number, string> = Object.fromEntries(Object.entries(Reply).map(([k, v]) => [v, k]));
/** replies that carry letters: a push, and the queue returned by check or delete */
const carriesLetters = new Set<number>([Reply.pushed, Reply.unread, Reply.deleted]);

type Wire = QueueRequest | QueueReply;
const asWire = (m: ProtocolMessage): Wire => m as unknown as Wire;

function effect(msg: ProtocolMessage): string {
  const m = asWire(msg);
  if (m.type === 'REQUEST') {
    const op = opName[m.opcode] ?? `request ${m.opcode}`;
    if (m.opcode === Op.send) return `send to ${m.receiver} ${JSON.stringify(m.msg)}`;
    if (m.opcode === Op.create || m.opcode === Op.login || m.opcode === Op.list) return `${op} ${m.msg}`;
    return op;
  }
  if (m.type !== 'REPLY') return String((m as { type?: unknown }).type);
  const name = replyName[m.opcode] ?? `reply ${m.opcode}`;
  if (!carriesLetters.has(m.opcode)) return name;
  const letters = parseLetters(m.msg).map((l) => `${l.sender}:${JSON.stringify(l.text)}`);
  return m.opcode === Reply.pushed ? `push ${letters.join(' ')}` : `${name} [${letters.join(' ')}]`;
}

function messageOfWire(wire: unknown): ProtocolMessage | null {
  const w = (wire ?? {}) as Record<string, unknown>;
  if (typeof w.opcode !== 'number') return null;
  const str = (v: unknown): string => (typeof v === 'string' ? v : '');
  const m: Wire = 'receiver' in w || 'sender' in w ? { type: 'REQUEST', opcode: w.opcode, sender: str(w.sender), receiver: str(w.receiver), msg: str(w.msg) } : { type: 'REPLY', opcode: w.opcode, msg: str(w.msg) };
  return m as unknown as ProtocolMessage;
}

/** The letters written to each running program, in order. */
function lettersWritten(view: LiveClientsView): Map<string, Letter[]> {
  const out = new Map<string, Letter[]>();
  for (const [receiver, received] of view.received) {
    if (!view.running.has(receiver)) continue;
    const letters = received.map(asWire).flatMap((m) => (m.type === 'REPLY' && carriesLetters.has(m.opcode) ? parseLetters(m.msg) : []));
    out.set(receiver, letters);
  }
  return out;
}

const shows = (line: { from?: string; text: string }, l: Letter): boolean => line.text.includes(l.text) && (line.from === undefined || line.from === '' || line.from === l.sender);

function lettersLost(view: LiveClientsView): string | null {
  const lost: string[] = [];
  for (const [receiver, letters] of lettersWritten(view)) {
    const unmatched = [...(view.shown.get(receiver) ?? [])];
    const missing = letters.filter((l) => {
      const at = unmatched.findIndex((line) => shows(line, l));
      if (at >= 0) unmatched.splice(at, 1);
      return at < 0;
    });
    if (missing.length === 0) continue;
    const words = missing.map((l) => `${l.sender}'s ${JSON.stringify(l.text)}`);
    lost.push(`${receiver}'s program was written ${words.slice(0, 8).join(', ')}${words.length > 8 ? ` and ${words.length - 8} more` : ''} and never showed ${missing.length === 1 ? 'it' : 'them'}`);
  }
  if (lost.length === 0) return null;
  return `${lost.join('; ')}: an accepted message is lost (the server pushed or returned every one; the receiving program lost them)`;
}

function outOfOrder(view: LiveClientsView): string | null {
  for (const [receiver, letters] of lettersWritten(view)) {
    const shown = view.shown.get(receiver) ?? [];
    const last = new Map<string, number>();
    for (const line of shown) {
      const at = letters.findIndex((l) => shows(line, l));
      if (at < 0) continue;
      const sender = letters[at]!.sender;
      const before = last.get(sender) ?? -1;
      if (at < before) return `${receiver}'s program showed ${sender}'s ${JSON.stringify(letters[at]!.text)} after ${JSON.stringify(letters[before]!.text)}, which it was written later`;
      last.set(sender, at);
    }
  }
  return null;
}

export const offlineQueueClientReplay: ClientReplayMapping = {
  liveName(node) {
    const lines = node.lines ?? [];
    const named = (verb: string): string | undefined => lines.map((l) => new RegExp(`^${verb}\\s+(\\S+)`).exec(l.trim())?.[1]).find((n) => n !== undefined);
    return named('login') ?? named('create') ?? node.id;
  },
  typing(line, self) {
    const cmd = parseQueueCommand(line);
    if (cmd.kind === 'invalid') return [];
    const first = cmd.requests[0];
    if (first === undefined) return [];
    if (first.opcode === Op.create || first.opcode === Op.login) return first.msg === self ? [] : { cannot: `${opName[first.opcode]} ${first.msg} (another account than its own, ${self})` };
    if (first.opcode === Op.quit) return 'quit';
    if (first.opcode === Op.check) return 'check';
    if (first.opcode !== Op.send) return { cannot: `${opName[first.opcode]}` };
    return cmd.requests.map((r) => ({ to: r.receiver, text: r.msg }));
  },
  messageOfWire,
  // one request in flight: every reply but a push answers the program's last request
  answers: (msg) => asWire(msg).type === 'REPLY' && asWire(msg).opcode !== Reply.pushed,
  effect,
  live: { 'no-message-lost': lettersLost, 'per-sender-order': outOfOrder },
  ruledOut: offlineQueueRuledOut,
};
