/**
 * The schedule of a key-value counterexample replayed on client programs, and how a live request is
 * matched with it by effect: each request is the model's abstract operation (which key is read or
 * written, with what value); a live request is the trace's next step of that client, a repeat of
 * its last read (a poll), a request the model does not have that cannot change what the trace
 * depends on by itself (a read, or a write of a key the client does not write next: setup writes,
 * re-reads), or a conflict — a write the model's client could not make there (the key it writes
 * next, with another value), which means the program took another branch than the model.
 */
import type { KvRequest } from '../../models/kv-store/messages.js';
import type { FaultSpec } from '../../sim/config.js';
import type { TraceEvent } from '../../sim/trace.js';

/** One step of the schedule; `t` is its time in the trace (the model's clock, or step numbers). */
export type Item = { t: number } & (
  | { kind: 'start'; node: string }
  | { kind: 'request'; node: string; req: KvRequest; repeatable: boolean; done: boolean }
  | { kind: 'input'; node: string; text: string }
  | { kind: 'quit'; node: string }
  | { kind: 'fault'; fault: FaultSpec }
);

export type RequestItem = Item & { kind: 'request' };

/** The schedule of a trace: starts, store arrivals, inputs, quits and client faults, in trace order. */
export function scheduleOf(events: readonly TraceEvent[], clients: ReadonlySet<string>): Item[] {
  const items: Item[] = [];
  const last = new Map<string, RequestItem>();
  for (const e of events) {
    if (e.k === 'start' && clients.has(e.node) && e.fresh && !items.some((i) => i.kind === 'start' && i.node === e.node)) items.push({ t: e.t, kind: 'start', node: e.node });
    else if (e.k === 'deliver' && e.to === 'store' && clients.has(e.from)) {
      const req = e.msg as unknown as KvRequest;
      const prev = last.get(e.from);
      if (prev !== undefined && isRead(req) && sameRequest(prev.req, req)) {
        prev.repeatable = true; // a poll: one item, repeated live as often as the client likes
        continue;
      }
      const item = { t: e.t, kind: 'request' as const, node: e.from, req, repeatable: false, done: false };
      items.push(item);
      last.set(e.from, item);
    } else if (e.k === 'input' && clients.has(e.node)) items.push({ t: e.t, kind: 'input', node: e.node, text: e.text });
    else if (e.k === 'quit' && clients.has(e.node)) items.push({ t: e.t, kind: 'quit', node: e.node });
    else if (e.k === 'fault' && 'node' in e.fault && clients.has(e.fault.node)) {
      items.push({ t: e.t, kind: 'fault', fault: e.fault });
      if (e.fault.kind === 'crash' || e.fault.kind === 'restart') last.delete(e.fault.node);
    } else if (e.k === 'finding') break;
  }
  return items;
}

export function isRead(r: KvRequest): boolean {
  return r.type === 'GET' || r.type === 'KEYS';
}

export function sameRequest(a: KvRequest, b: KvRequest): boolean {
  const f = (r: KvRequest): string => JSON.stringify([r.type, (r as { key?: string }).key ?? null, (r as { value?: string }).value ?? null]);
  return f(a) === f(b);
}

export const describeReq = (r: KvRequest): string => (r.type === 'SET' ? `SET ${r.key}=${JSON.stringify(r.value)}` : 'key' in r ? `${r.type} ${r.key}` : r.type);

/** How a live request relates to the client's place in the trace. */
export type Match =
  | { kind: 'step' }
  | { kind: 'poll' }
  | { kind: 'past-end' }
  | { kind: 'extra'; why: string }
  | { kind: 'conflict'; why: string };

/**
 * Matches a live request with the client's next trace step `next` (undefined past its last one) and
 * its last step done `last` (undefined before its first).
 */
export function matchRequest(live: KvRequest, next: RequestItem | undefined, last: Item | undefined): Match {
  if (next !== undefined && sameRequest(next.req, live)) return { kind: 'step' };
  if (last?.kind === 'request' && last.repeatable && sameRequest(last.req, live)) return { kind: 'poll' };
  if (next === undefined && last !== undefined) return { kind: 'past-end' };
  if (isRead(live)) return { kind: 'extra', why: 'a read the model does not make (it changes nothing in the store)' };
  if (next !== undefined && !isRead(next.req) && 'key' in next.req && 'key' in live && next.req.key === live.key) {
    return { kind: 'conflict', why: `the model's client writes ${describeReq(next.req)} here, not ${describeReq(live)}` };
  }
  return { kind: 'extra', why: `a write the model does not make, of a key its next step (${next ? describeReq(next.req) : 'none'}) does not write` };
}
