/**
 * The named bound of key-value client programs, `idle-requests` (src/models/live-bounds.ts): the
 * fixed example clients, which pass every case at their usual poll interval (./*-fixed.test.ts run
 * with the bounds on), fail it when they poll without pausing (`pollMs=0`), and only because of the
 * bound: without `bounds` the same runs pass.
 */
import { describe, expect, it } from 'vitest';
import { idleRequestsViolation } from '../../src/conformance/clients/idle-requests.js';
import type { ImRequestRecord } from '../../src/conformance/clients/im-server.js';
import { runShippedSuite } from './suite-run.js';

/** `n` GETs of `client`, evenly from `fromMs` to `toMs`. */
function polls(client: string, n: number, fromMs: number, toMs: number, seq0 = 0): ImRequestRecord[] {
  return Array.from({ length: n }, (_, i) => ({ seq: seq0 + i, atMs: fromMs + ((toMs - fromMs) * i) / n, client, action: 'get', key: 'lock', store: '', reply: { status: 200, body: '1\n' } }));
}

describe('idle-requests, measured on the requests protosim\'s IM server recorded', () => {
  const bound = { perSecond: 100, windowMs: 250 };

  it('a program polling 400 times a second between two steps breaks it, and the reason says who, how many and what', () => {
    const v = idleRequestsViolation(polls('c2', 400, 1000, 2000), [0, 1000], 2500, bound);
    expect(v).toMatch(/^idle-requests: c2 made (9\d|100) requests in 250 ms while the case did nothing \(from \d+ ms; the bound is 100 per second\): GET lock$/);
  });

  it('polling every 20 ms holds it; so does a burst of 20 requests right after a step', () => {
    expect(idleRequestsViolation(polls('c1', 50, 0, 1000), [], 1000, bound)).toBeNull();
    expect(idleRequestsViolation([...polls('c1', 20, 500, 520), ...polls('c1', 10, 520, 1500, 20)], [500], 1500, bound)).toBeNull();
  });

  it('a stretch shorter than the window is not measured: a step that acts cuts it', () => {
    const flood = polls('c1', 60, 0, 200);
    expect(idleRequestsViolation(flood, [200], 400, bound)).toBeNull();
    expect(idleRequestsViolation(flood, [], 400, bound)).toMatch(/c1 made 60 requests/);
  });
});

describe.each(['lock-alternation', 'status-handshake'] as const)('%s: the fixed example client polling without a pause', (protocol) => {
  it('fails idle-requests with the bounds on, and passes the same case without them', async () => {
    const more = { vars: { pollMs: '0' }, caseIds: [`${protocol}/client/happy-path`] };
    const on = await runShippedSuite(protocol, `${protocol}-fixed`, { ...more, bounds: true });
    const c = on.report.cases[0]!;
    expect(c.verdict, c.reason).toBe('FAIL');
    expect(c.reason).toMatch(/^idle-requests: c\d made \d+ requests in 250 ms while the case did nothing/);
    const off = await runShippedSuite(protocol, `${protocol}-fixed`, more);
    expect(off.report.cases[0]!.verdict, off.report.cases[0]!.reason).toBe('PASS');
  }, 60_000);
});
