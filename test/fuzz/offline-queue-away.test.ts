/**
 * A user going away and coming back in fuzz's generated server cases (offline-queue: `goOffline`,
 * `comeBack`): it quits, leaves or its link dies silently, others send to it meanwhile, and it
 * comes back, logs in and reads its queue. The steps as rendered (a user whose connection carried
 * garbage writes no more on it); the oracle's reading of a login
 * elsewhere (a push the moved connection had may count as delivered); and, live, a case of that
 * shape fails on the reference server's drop-offline-queue and reorder-queue and passes on the
 * server without a defect.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { caseArbitrary, renderHooksOf } from '../../src/conformance/fuzz/case-arbitrary.js';
import { renderSteps, type FuzzCase } from '../../src/conformance/fuzz/fuzz-case.js';
import { fuzzGeneratorFor } from '../../src/conformance/fuzz/fuzz-generators.js';
import { fuzzSuite, fuzzSuiteText } from '../../src/conformance/fuzz/fuzz-suite.js';
import { heldByOwnLink } from '../../src/conformance/fuzz/run-fuzz.js';
import type { CaseResult } from '../../src/report/case-result.js';
import { runSuite } from '../../src/conformance/run-suite.js';
import { ServerModelOracle } from '../../src/conformance/server-model-oracle.js';
import { models } from '../../src/models/index.js';
import type { TargetFile } from '../../src/scenario/target-schema.js';

const dir = mkdtempSync(join(tmpdir(), 'protosim-oq-away-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const g = fuzzGeneratorFor('offline-queue')!;
const hooks = renderHooksOf(g);
const login = (user: number) => ({ send: `c${user + 1}`, msg: { opcode: 2, msg: `${['ann', 'bo', 'cy'][user]}\${run}` } });
const to = (user: number, text: string) => ({ opcode: 3, receiver: { $user: user }, msg: text });
const sent = (from: number, user: number, text: string) => ({ send: `c${from + 1}`, msg: { opcode: 3, receiver: `${['ann', 'bo', 'cy'][user]}\${run}`, msg: text } });
const model = { expect: 'model' };

/** Three users set up; user 1 goes away `how`, users 0 and 2 send to it, and it comes back. */
const awayCase = (how: 'message' | 'close' | 'reset' | 'silent', linked = false): FuzzCase => ({
  names: ['ann', 'bo', 'cy', 'di'],
  setupUsers: [0, 1, 2],
  actions: [
    ...[0, 1, 2].flatMap((u) => g.setup(u).map((msg) => ({ kind: 'send' as const, user: u, msgs: [msg] }))),
    ...(linked ? [{ kind: 'fault' as const, user: 1, fault: 'partition' as const }] : []),
    { kind: 'away', user: 1, how, back: true, sends: [{ user: 0, msgs: [to(1, 'one'), to(1, 'two')] }, { user: 2, msgs: [to(1, 'three')] }] },
  ],
});

describe('a user going away and coming back, as steps', () => {
  it('quits, the others send (each judged), logs in again and checks', () => {
    const steps = renderSteps(awayCase('message'), hooks);
    expect(steps.slice(13)).toEqual([
      { send: 'c2', msg: { opcode: 7 } },
      model,
      sent(0, 1, 'one'),
      model,
      sent(0, 1, 'two'),
      model,
      sent(2, 1, 'three'),
      model,
      login(1),
      model,
      { send: 'c2', msg: { opcode: 4 } },
      model,
    ]);
  });

  it('a close heals a link fault first (the target sees the close when the model does); the user reconnects before logging in', () => {
    const steps = renderSteps(awayCase('close', true), hooks);
    expect(steps.slice(13, 17)).toEqual([{ fault: 'partition', client: 'c2' }, { fault: 'clear', client: 'c2' }, { disconnect: 'c2', mode: 'close' }, model]);
    expect(steps.slice(-6, -3)).toEqual([model, { connect: 'c2' }, login(1)]);
  });

  it('a link that dies silently: one message per writer, in flight, then the reset, then the model; the link is cleared before the reconnection', () => {
    const steps = renderSteps(awayCase('silent'), hooks);
    expect(steps.slice(13)).toEqual([
      { fault: 'timeout', client: 'c2' },
      sent(0, 1, 'one'),
      sent(2, 1, 'three'),
      { wait: 100 },
      { disconnect: 'c2', mode: 'reset' },
      model,
      { fault: 'clear', client: 'c2' },
      { connect: 'c2' },
      login(1),
      model,
      { send: 'c2', msg: { opcode: 4 } },
      model,
    ]);
  });

  it('a user whose connection carried bytes that end inside a frame sends no more messages on it (a server may still act on them); another writes for it', () => {
    const c = awayCase('message');
    c.actions.splice(-1, 0, { kind: 'raw', user: 0, text: ' ' }, { kind: 'send', user: 0, msgs: [to(2, 'unjudged')] });
    const steps = renderSteps(c, hooks);
    expect(steps.slice(13, 17)).toEqual([{ send: 'c1', raw: { text: ' ' } }, model, { send: 'c2', msg: { opcode: 7 } }, model]);
    expect(steps.slice(17, 23)).toEqual([sent(2, 1, 'one'), model, sent(2, 1, 'two'), model, sent(2, 1, 'three'), model]);
  });

  it('is generated, every way of going away, as valid suite cases', () => {
    const cases = fc.sample(caseArbitrary(g, { processFaults: true }), { seed: 5, numRuns: 80 });
    const hows = new Set(cases.flatMap((c) => c.actions.flatMap((a) => (a.kind === 'away' ? [a.how] : []))));
    expect([...hows].sort()).toEqual(['close', 'message', 'reset', 'silent']);
    for (const [i, c] of cases.entries()) expect(() => fuzzSuite(fuzzSuiteText({ protocol: g.protocol, vars: {} }, g, c, `fuzz/oq/t-${i}`), `case ${i}`)).not.toThrow();
    // register-exit has no way back: none generated
    const re = fuzzGeneratorFor('register-exit')!;
    expect(fc.sample(caseArbitrary(re), { seed: 5, numRuns: 80 }).some((c) => c.actions.some((a) => a.kind === 'away'))).toBe(false);
  });
});

describe('a reply held by a link protosim partitioned', () => {
  // user 1 partitioned, then user 0 sends to it: the push the model sends cannot arrive
  const c: FuzzCase = { ...awayCase('message'), actions: [...awayCase('message').actions.slice(0, 6), { kind: 'fault', user: 1, fault: 'partition' }, { kind: 'send', user: 0, msgs: [to(1, 'x')] }] };
  const timeout = (expected: string): CaseResult =>
    ({ id: 'x', title: 'x', level: 'required', points: 0, maxPoints: 1, verdict: 'ERROR', reason: 'timeout: the model sends more here', expected, step: 'step 16 (expect: model)', durationMs: 1 }) as CaseResult;

  it('is not a finding when only the partitioned client waited; it is when another did', () => {
    expect(renderSteps(c, hooks)[13]).toEqual({ fault: 'partition', client: 'c2' });
    expect(heldByOwnLink(c, g, timeout('c2: {opcode: 17, msg: "ann:x\\n"}'))).toBe(true);
    expect(heldByOwnLink(c, g, timeout('c1: {opcode: 3}'))).toBe(false);
    expect(heldByOwnLink(c, g, timeout('c2: {opcode: 17}\nc1: {opcode: 3}'))).toBe(false);
  });
});

describe('the oracle: a login elsewhere after a push', () => {
  const oq = (opcode: number, fields: Record<string, string> = {}) => ({ version: '0.1', opcode, sender: '', receiver: '', msg: '', ...fields });
  const mapping = (strict: boolean) => models['offline-queue']!.live!.mapping!({ vars: {}, strict });

  /** alice pushes "hi" to bob (seen by bob's connection or not), then c logs in as bob and checks: does the check allow `queue`? */
  function checkAllows(strict: boolean, seen: boolean, queue: string): boolean {
    const oracle = new ServerModelOracle(mapping(strict), () => 0);
    for (const [c, name] of [['a', 'alice'], ['b', 'bob']] as const) {
      oracle.send(c, oq(1, { msg: name }));
      expect(oracle.arrival(c, { kind: 'message', msg: { opcode: 1 } })).toBeNull();
      oracle.send(c, oq(2, { msg: name }));
      expect(oracle.arrival(c, { kind: 'message', msg: { opcode: 13 } })).toBeNull();
    }
    oracle.send('a', oq(3, { receiver: 'bob', msg: 'hi' }));
    if (seen) expect(oracle.arrival('b', { kind: 'message', msg: { opcode: 17, msg: 'alice:hi\n' } })).toBeNull();
    expect(oracle.arrival('a', { kind: 'message', msg: { opcode: 3 } })).toBeNull();
    oracle.send('c', oq(2, { msg: 'bob' }));
    expect(oracle.arrival('c', { kind: 'message', msg: { opcode: 13 } })).toBeNull();
    oracle.send('c', oq(4));
    return oracle.arrival('c', { kind: 'message', msg: { opcode: 6, msg: queue } }) === null;
  }

  it('a push the moved connection received counts as delivered or is queued again (a correct server gives it once)', () => {
    for (const strict of [false, true]) {
      expect(checkAllows(strict, true, '')).toBe(true);
      expect(checkAllows(strict, true, 'alice:hi\n')).toBe(true);
    }
  });

  it('one it was not seen to receive: either by default, queued again under --strict', () => {
    expect(checkAllows(false, false, '')).toBe(true);
    expect(checkAllows(true, false, '')).toBe(false);
    expect(checkAllows(true, false, 'alice:hi\n')).toBe(true);
  });
});

describe('live: a user back after messages were queued for it', () => {
  const reference = (defect?: string): TargetFile =>
    ({ command: ['{protosim}', 'serve', 'offline-queue', '--port', '{port}', ...(defect !== undefined ? ['--defect', defect] : [])], port: 'auto', ready: { stdout: 'listening on (\\S+)' } }) as TargetFile;
  const verdict = async (defect: string | undefined, how: 'message' | 'reset'): Promise<string> => {
    const text = fuzzSuiteText({ protocol: 'offline-queue', target: reference(defect), vars: {} }, g, awayCase(how), `fuzz/offline-queue/away-${how}`);
    const run = await runSuite(fuzzSuite(text, 'away'), { cwd: dir });
    return `${run.report.cases[0]!.verdict} ${run.report.cases[0]!.reason}`;
  };

  it('fails on drop-offline-queue and reorder-queue, passes without a defect', async () => {
    expect(await verdict('drop-offline-queue', 'message')).toMatch(/^FAIL .*expected "ann[^"]*:one\\n/);
    expect(await verdict('reorder-queue', 'reset')).toMatch(/^FAIL .*expected "ann[^"]*:one\\nann[^"]*:two\\ncy[^"]*:three\\n"/);
    for (const how of ['message', 'reset'] as const) expect(await verdict(undefined, how)).toMatch(/^PASS/);
  }, 30_000);
});
