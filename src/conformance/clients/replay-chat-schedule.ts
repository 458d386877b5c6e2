/**
 * The schedule of a chat protocol's counterexample replayed on client programs: the trace's client
 * starts, typed lines, quits and client faults, each message a client's program sends as it reaches
 * the server (`arrive`), and each message the server's sends reach a client (`deliver`), in trace
 * order. Messages are compared by effect (the protocol package's `effect`: the message's type and
 * for whom), never byte for byte.
 */
import type { ClientReplayMapping } from '../../models/live-types.js';
import type { ProtocolMessage } from '../../models/types.js';
import type { FaultSpec } from '../../sim/config.js';
import type { TraceEvent } from '../../sim/trace.js';

/** One step of the schedule; `t` is its time in the trace. */
export type ChatItem = { t: number } & (
  | { kind: 'start'; node: string }
  | { kind: 'input'; node: string; text: string }
  | { kind: 'quit'; node: string }
  | { kind: 'fault'; fault: FaultSpec & { node: string } }
  /** `node`'s message reaches the server */
  | { kind: 'arrive'; node: string; effect: string; done: boolean }
  /** the server's message reaches `node` */
  | { kind: 'deliver'; node: string; effect: string; done: boolean }
);

export type MessageItem = ChatItem & { kind: 'arrive' | 'deliver' };

/** The schedule of a trace, up to its finding. */
export function chatScheduleOf(events: readonly TraceEvent[], clients: ReadonlySet<string>, server: string, mapping: ClientReplayMapping): ChatItem[] {
  const items: ChatItem[] = [];
  const started = new Set<string>();
  const effectOf = (msg: unknown): string => mapping.effect(msg as ProtocolMessage);
  for (const e of events) {
    if (e.k === 'finding') break;
    if (e.k === 'start' && clients.has(e.node) && e.fresh && !started.has(e.node)) {
      started.add(e.node);
      items.push({ t: e.t, kind: 'start', node: e.node });
    } else if (e.k === 'input' && clients.has(e.node)) items.push({ t: e.t, kind: 'input', node: e.node, text: e.text });
    else if (e.k === 'quit' && clients.has(e.node)) items.push({ t: e.t, kind: 'quit', node: e.node });
    else if (e.k === 'fault' && 'node' in e.fault && clients.has(e.fault.node)) items.push({ t: e.t, kind: 'fault', fault: e.fault as FaultSpec & { node: string } });
    else if (e.k === 'deliver' && e.to === server && clients.has(e.from)) items.push({ t: e.t, kind: 'arrive', node: e.from, effect: effectOf(e.msg), done: false });
    else if (e.k === 'deliver' && e.from === server && clients.has(e.to)) items.push({ t: e.t, kind: 'deliver', node: e.to, effect: effectOf(e.msg), done: false });
  }
  return items;
}

/** How a message a program sent relates to the trace: its next arrival, one past its last, or one the model does not have. */
export type ChatMatch = { kind: 'step'; index: number } | { kind: 'past-end' } | { kind: 'extra' };

/** Matches `effect`, sent by `node`, with its next arrival in the trace after item `after`. */
export function matchArrival(items: readonly ChatItem[], node: string, effect: string, after: number): ChatMatch {
  const next = items.findIndex((i, k) => k > after && i.kind === 'arrive' && i.node === node && !i.done);
  if (next < 0) return { kind: 'past-end' };
  return (items[next] as MessageItem).effect === effect ? { kind: 'step', index: next } : { kind: 'extra' };
}

export function describeChatItem(item: ChatItem): string {
  switch (item.kind) {
    case 'arrive':
      return `${item.node} sends ${item.effect}`;
    case 'deliver':
      return `${item.node} is sent ${item.effect}`;
    case 'input':
      return `${item.node} types ${JSON.stringify(item.text)}`;
    case 'fault':
      return `${item.fault.kind} ${item.fault.node}`;
    default:
      return `${item.kind} ${item.node}`;
  }
}
