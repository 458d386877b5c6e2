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
    const next = item({ type: 'SET', key: 'connected', value: '1' });
    const last = item({ type: 'GET', key: 'connected' }, true);
    expect(matchRequest({ type: 'SET', key: 'connected', value: '1' }, next, last).kind).toBe('step');
    expect(matchRequest({ type: 'GET', key: 'connected' }, next, last).kind).toBe('poll');
    expect(matchRequest({ type: 'GET', key: 'connected' }, undefined, last).kind).toBe('poll');
    expect(matchRequest({ type: 'GET', key: 'lock' }, undefined, last).kind).toBe('past-end');
    // a read repeated in the trace only once is not a poll: another read goes through as an extra
    expect(matchRequest({ type: 'GET', key: 'connected' }, next, item({ type: 'GET', key: 'connected' })).kind).toBe('extra');
  });

  it('lets through reads and writes of keys the client does not write next; a write of that key with another value is a conflict', () => {
    const next = item({ type: 'SET', key: 'connected', value: '1' });
    expect(matchRequest({ type: 'GET', key: 'lock' }, next, undefined)).toMatchObject({ kind: 'extra' });
    expect(matchRequest({ type: 'SET', key: 'received', value: '0' }, next, undefined)).toMatchObject({ kind: 'extra' });
    expect(matchRequest({ type: 'SET', key: 'connected', value: '2' }, next, undefined)).toEqual({ kind: 'conflict', why: 'the model\'s client writes SET connected="1" here, not SET connected="2"' });
    expect(matchRequest({ type: 'UNSET', key: 'connected' }, next, undefined).kind).toBe('conflict');
    // before a read of the key, a write of it is let through: what it changes shows in the requests that follow
    expect(matchRequest({ type: 'UNSET', key: 'connected' }, item({ type: 'GET', key: 'connected' }), undefined).kind).toBe('extra');
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
});
