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
  /** `replyT`: when the trace delivers its reply (undefined: not before the trace ends) */
  | { kind: 'request'; node: string; req: KvRequest; repeatable: boolean; done: boolean; replyT?: number }
  | { kind: 'input'; node: string; text: string }
  | { kind: 'quit'; node: string }
  | { kind: 'fault'; fault: FaultSpec }
);

export type RequestItem = Item & { kind: 'request' };

/** The schedule of a trace: starts, store arrivals, inputs, quits and client faults, in trace order. */
export function scheduleOf(events: readonly TraceEvent[], clients: ReadonlySet<string>): Item[] {
  const items: Item[] = [];
  const last = new Map<string, RequestItem>();
  // a request's reply: the store's next send to its client, then that message's delivery
  const awaitingSend = new Map<string, RequestItem>();
  const awaitingDelivery = new Map<number, RequestItem>();
  for (const e of events) {
    if (e.k === 'send' && e.from === 'store' && awaitingSend.has(e.to)) {
      awaitingDelivery.set(e.id, awaitingSend.get(e.to)!);
      awaitingSend.delete(e.to);
    } else if (e.k === 'deliver' && e.from === 'store' && awaitingDelivery.has(e.id)) {
      awaitingDelivery.get(e.id)!.replyT = e.t;
      awaitingDelivery.delete(e.id);
    }
    if (e.k === 'start' && clients.has(e.node) && e.fresh && !items.some((i) => i.kind === 'start' && i.node === e.node)) items.push({ t: e.t, kind: 'start', node: e.node });
    else if (e.k === 'deliver' && e.to === 'store' && clients.has(e.from)) {
      const req = e.msg as unknown as KvRequest;
      const prev = last.get(e.from);
      if (prev !== undefined && isRead(req) && sameRequest(prev.req, req)) {
        prev.repeatable = true; // a poll: one item, repeated live as often as the client likes
        continue;
      }
      const item: RequestItem = { t: e.t, kind: 'request' as const, node: e.from, req, repeatable: false, done: false };
      awaitingSend.set(e.from, item);
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
  /** the client's step `upcoming[skip]`; the reads before it are steps the program does not make */
  | { kind: 'step'; skip: number }
  | { kind: 'poll' }
  | { kind: 'past-end' }
  | { kind: 'extra'; why: string }
  | { kind: 'conflict'; why: string };

/**
 * Matches a live request with the client's remaining request steps `upcoming` (in trace order; empty
 * past its last one) and its last step done `last` (undefined before its first). A read of the
 * model's the program does not make changes nothing: the live request may be a later step, after
 * reads only.
 */
export function matchRequest(live: KvRequest, upcoming: readonly RequestItem[], last: Item | undefined): Match {
  for (let k = 0; k < upcoming.length; k++) {
    if (sameRequest(upcoming[k]!.req, live)) return { kind: 'step', skip: k };
    if (!isRead(upcoming[k]!.req)) break;
  }
  const next = upcoming[0];
  if (last?.kind === 'request' && last.repeatable && sameRequest(last.req, live)) return { kind: 'poll' };
  // nothing more of this client reaches the store in the trace (or nothing at all: its requests were
  // lost with it): whatever it asks waits until the schedule is done
  if (next === undefined) return { kind: 'past-end' };
  if (isRead(live)) return { kind: 'extra', why: 'a read the model does not make (it changes nothing in the store)' };
  const write = upcoming.find((i) => !isRead(i.req));
  if (write !== undefined && 'key' in write.req && 'key' in live && write.req.key === live.key) {
    return { kind: 'conflict', why: `the model's client writes ${describeReq(write.req)} here, not ${describeReq(live)}` };
  }
  return { kind: 'extra', why: `a write the model does not make, of a key its next write (${write ? describeReq(write.req) : 'none'}) does not touch` };
}
