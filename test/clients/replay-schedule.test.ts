/**
 * Matching a live key-value request with a counterexample's steps by effect (replay-schedule.ts):
 * the trace's next step, a poll, a request the model does not have (let through), or a write the
 * model's client could not make there (the replay leaves the trace: DIVERGED).
 */
import { describe, expect, it } from 'vitest';
import { matchRequest, scheduleOf, type RequestItem } from '../../src/conformance/clients/replay-schedule.js';
import type { KvRequest } from '../../src/models/kv-store/messages.js';
import type { TraceEvent } from '../../src/sim/trace.js';

const item = (req: KvRequest, repeatable = false): RequestItem => ({ t: 0, kind: 'request', node: 'c1', req, repeatable, done: false });

describe('matching live requests with a trace by effect', () => {
  it('the next step, a repeated read of the last one, and past the end', () => {
    const next = [item({ type: 'SET', key: 'connected', value: '1' })];
    const last = item({ type: 'GET', key: 'connected' }, true);
    expect(matchRequest({ type: 'SET', key: 'connected', value: '1' }, next, last)).toEqual({ kind: 'step', skip: 0 });
    expect(matchRequest({ type: 'GET', key: 'connected' }, next, last).kind).toBe('poll');
    expect(matchRequest({ type: 'GET', key: 'connected' }, [], last).kind).toBe('poll');
    expect(matchRequest({ type: 'GET', key: 'lock' }, [], last).kind).toBe('past-end');
    // a client none of whose requests reaches the store in the trace (lost with it when it was killed)
    expect(matchRequest({ type: 'SET', key: 'status', value: 'one' }, [], undefined).kind).toBe('past-end');
    // a read repeated in the trace only once is not a poll: another read goes through as an extra
    expect(matchRequest({ type: 'GET', key: 'connected' }, next, item({ type: 'GET', key: 'connected' })).kind).toBe('extra');
  });

  it('a later step after reads the program does not make (they change nothing), never past a write', () => {
    const upcoming = [item({ type: 'GET', key: 'status' }), item({ type: 'GET', key: 'received' }), item({ type: 'SET', key: 'received', value: '0' }), item({ type: 'GET', key: 'message' })];
    expect(matchRequest({ type: 'GET', key: 'received' }, upcoming, undefined)).toEqual({ kind: 'step', skip: 1 });
    expect(matchRequest({ type: 'SET', key: 'received', value: '0' }, upcoming, undefined)).toEqual({ kind: 'step', skip: 2 });
    // past the write: not a step of the trace (an extra read here)
    expect(matchRequest({ type: 'GET', key: 'message' }, upcoming, undefined).kind).toBe('extra');
  });

  it('lets through reads and writes of keys the client does not write next; a write of that key with another value is a conflict', () => {
    const next = [item({ type: 'SET', key: 'connected', value: '1' })];
    expect(matchRequest({ type: 'GET', key: 'lock' }, next, undefined)).toMatchObject({ kind: 'extra' });
    expect(matchRequest({ type: 'SET', key: 'received', value: '0' }, next, undefined)).toMatchObject({ kind: 'extra' });
    expect(matchRequest({ type: 'SET', key: 'connected', value: '2' }, next, undefined)).toEqual({ kind: 'conflict', why: 'the model\'s client writes SET connected="1" here, not SET connected="2"' });
    expect(matchRequest({ type: 'UNSET', key: 'connected' }, next, undefined).kind).toBe('conflict');
    // before a read of the key, a write of it is let through: what it changes shows in the requests that follow
    expect(matchRequest({ type: 'UNSET', key: 'connected' }, [item({ type: 'GET', key: 'connected' })], undefined).kind).toBe('extra');
    // the write it conflicts with is the client's next write, after its reads
    expect(matchRequest({ type: 'SET', key: 'connected', value: '2' }, [item({ type: 'GET', key: 'lock' }), ...next], undefined).kind).toBe('conflict');
  });

  it('collapses a client\'s repeated reads into one repeatable step, and starts over after a restart', () => {
    const get = (t: number, from: string): TraceEvent => ({ k: 'deliver', t, id: t, from, to: 'store', msg: { type: 'GET', key: 'connected' } } as unknown as TraceEvent);
    const events: TraceEvent[] = [
      { k: 'start', t: 0, node: 'c1', role: 'client', state: 'joining', fresh: true } as TraceEvent,
      get(1, 'c1'),
      get(2, 'c1'),
      { k: 'fault', t: 3, fault: { kind: 'restart', atMs: 0, node: 'c1', state: 'fresh' } } as TraceEvent,
      get(4, 'c1'),
    ];
    const items = scheduleOf(events, new Set(['c1']));
    expect(items.map((i) => (i.kind === 'request' ? `${i.kind}${i.repeatable ? '*' : ''}` : i.kind))).toEqual(['start', 'request*', 'fault', 'request']);
  });

  it("notes when the trace delivers each request's reply, and none for a reply still in flight at the end", () => {
    const ev = (e: Record<string, unknown>): TraceEvent => e as unknown as TraceEvent;
    const events: TraceEvent[] = [
      ev({ k: 'start', t: 0, node: 'c1', role: 'client', state: 'joining', fresh: true }),
      ev({ k: 'deliver', t: 1, id: 1, from: 'c1', to: 'store', msg: { type: 'GET', key: 'status' } }),
      ev({ k: 'send', t: 1, id: 2, from: 'store', to: 'c1', msg: { type: 'VALUE', key: 'status', value: null } }),
      ev({ k: 'deliver', t: 2, id: 2, from: 'store', to: 'c1', msg: { type: 'VALUE', key: 'status', value: null } }),
      ev({ k: 'deliver', t: 3, id: 3, from: 'c1', to: 'store', msg: { type: 'SET', key: 'status', value: 'one' } }),
      ev({ k: 'send', t: 3, id: 4, from: 'store', to: 'c1', msg: { type: 'OK', op: 'SET' } }),
      ev({ k: 'end', t: 4, reason: 'finding' }),
    ];
    const requests = scheduleOf(events, new Set(['c1'])).filter((i): i is RequestItem => i.kind === 'request');
    expect(requests.map((i) => i.replyT)).toEqual([2, undefined]);
  });
});
