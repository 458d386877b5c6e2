/**
 * A user going quiet past the server's timeout and coming back, in fuzz's generated ping-liveness
 * server cases (`quiet` and `comeBack` in its generator): it says nothing on its open connection
 * while the others ping every `$pingIntervalMs` (each ping judged), closes, reconnects, offers its
 * version and logs in to its account again (the model says the dropped session freed it). The steps
 * as rendered; generated with a fixed seed, as valid suite cases; and, live, the reference server
 * (heartbeat 800 ms) passes such a case, a generated one too, while its `no-heartbeat-timeout`
 * defect fails it (the drop the model sends never comes). A chat sent into a partition before a
 * quiet spell reaches the server when the spell clears the link, and the model takes it then.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { caseArbitrary, renderHooksOf } from '../../src/conformance/fuzz/case-arbitrary.js';
import { quietRounds, renderSteps, type FuzzAction, type FuzzCase } from '../../src/conformance/fuzz/fuzz-case.js';
import { fuzzGeneratorFor } from '../../src/conformance/fuzz/fuzz-generators.js';
import { fuzzSuite, fuzzSuiteText } from '../../src/conformance/fuzz/fuzz-suite.js';
import { runSuite } from '../../src/conformance/run-suite.js';
import type { TargetFile } from '../../src/scenario/target-schema.js';

const dir = mkdtempSync(join(tmpdir(), 'protosim-pl-quiet-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const g = fuzzGeneratorFor('ping-liveness')!;
const vars = g.vars!;
const model = { expect: 'model' };
const version = (c: string) => ({ send: c, msg: { mtype: 7, payload: { supported_versions: ['1.0.0'] } } });
const login = (c: string, account: 1 | 2) => ({ send: c, msg: { mtype: 1, payload: { username: `user${account}`, password: `pass${account}` } } });
const ping = (c: string, id: string | number) => ({ send: c, msg: { mtype: 6, payload: { id } } });

/** Users 0 and 1 set up (accounts user1, user2); user 0 goes quiet, maybe behind a partition, and comes back. */
const quietCase = (partitioned = false): FuzzCase => ({
  names: ['ann', 'bo', 'cy', 'di'],
  setupUsers: [0, 1],
  actions: [
    ...[0, 1].flatMap((u) => g.setup(u).map((msg) => ({ kind: 'send' as const, user: u, msgs: [msg] }))),
    ...(partitioned ? [{ kind: 'fault' as const, user: 0, fault: 'partition' as const }] : []),
    { kind: 'away', user: 0, how: 'quiet', back: true, sends: [] },
  ],
});

/**
 * User 1's link partitioned, user 1 sends a chat into it (naming its own session, or user 0's),
 * then goes quiet: the spell clears the link first, and the held chat reaches the server then.
 */
const heldChatCase = (session: 'own' | 1): FuzzCase => ({
  names: ['ann', 'bo'],
  setupUsers: [0, 1],
  actions: [
    ...[0, 1].flatMap((u) => g.setup(u).map((msg) => ({ kind: 'send' as const, user: u, msgs: [msg] }))),
    { kind: 'fault', user: 1, fault: 'partition' },
    { kind: 'send', user: 1, msgs: [{ mtype: 3, payload: { id: { $session: session }, time: 1, message: 'held by the link' } }] },
    { kind: 'away', user: 1, how: 'quiet', back: false, sends: [] },
  ],
});

/** Whether an action is a quiet spell of a user whose setup opened the case, who comes back. */
const quietAndBack = (c: FuzzCase) => (a: FuzzAction): boolean => a.kind === 'away' && a.how === 'quiet' && a.back && (c.setupUsers ?? []).includes(a.user);

describe('a user quiet past the heartbeat timeout, as steps', () => {
  it('the others ping at the start of each round (judged), the quiet user closes, reconnects, offers its version and logs in again', () => {
    const rounds = quietRounds(g.quiet!, vars);
    expect(rounds).toBe(6); // lockoutBoundMs 1400 / pingIntervalMs 250
    const steps = renderSteps(quietCase(), renderHooksOf(g));
    const round = [ping('c2', '$s2'), model, { wait: '$pingIntervalMs' }];
    expect(steps.slice(9)).toEqual([
      ...Array.from({ length: rounds }, () => round).flat(),
      model,
      { disconnect: 'c1', mode: 'close' },
      model,
      { connect: 'c1' },
      version('c1'),
      model,
      login('c1', 1),
      model,
    ]);
  });

  it('clears a link fault first (the drop must reach the user); the rounds follow the run’s variables', () => {
    const steps = renderSteps(quietCase(true), renderHooksOf(g, { lockoutBoundMs: 2400 }));
    expect(steps.slice(9, 11)).toEqual([{ fault: 'partition', client: 'c1' }, { fault: 'clear', client: 'c1' }]);
    expect(steps.filter((s) => (s as { wait?: unknown }).wait !== undefined)).toHaveLength(10);
  });

  it('with nobody else to keep alive: one wait of the whole spell, then the model', () => {
    const alone: FuzzCase = { names: ['ann'], setupUsers: [0], actions: [...g.setup(0).map((msg) => ({ kind: 'send' as const, user: 0, msgs: [msg] })), { kind: 'away', user: 0, how: 'quiet', back: false, sends: [] }] };
    expect(renderSteps(alone, renderHooksOf(g)).slice(5)).toEqual([{ wait: '$lockoutBoundMs' }, model, { disconnect: 'c1', mode: 'close' }, model]);
  });

  it('is generated with a fixed seed, as valid suite cases, with and without others to keep alive', () => {
    const cases = fc.sample(caseArbitrary(g, { processFaults: true }), { seed: 3, numRuns: 60 });
    const quiet = cases.filter((c) => c.actions.some(quietAndBack(c)));
    expect(quiet.length).toBeGreaterThan(5);
    const hows = new Set(cases.flatMap((c) => c.actions.flatMap((a) => (a.kind === 'away' ? [a.how] : []))));
    expect([...hows].sort()).toEqual(['close', 'quiet', 'reset', 'silent']);
    // rendered with others pinging, and with nobody else there
    const spells = quiet.map((c) => renderSteps(c, renderHooksOf(g)).filter((st) => (st as { wait?: unknown }).wait !== undefined).map((st) => (st as { wait: unknown }).wait));
    expect(spells.some((w) => w.includes('$pingIntervalMs'))).toBe(true);
    expect(spells.some((w) => w.includes('$lockoutBoundMs'))).toBe(true);
    for (const [i, c] of cases.entries()) expect(() => fuzzSuite(fuzzSuiteText({ protocol: g.protocol, vars }, g, c, `fuzz/pl/t-${i}`), `case ${i}`)).not.toThrow();
  });
});

describe('live: the reference server, heartbeat 800 ms', () => {
  const reference = (defect?: string): TargetFile =>
    ({ command: ['{protosim}', 'serve', 'ping-liveness', '--port', '{port}', '--heartbeat-timeout-ms', '800', ...(defect !== undefined ? ['--defect', defect] : [])], port: 'auto', ready: { stdout: 'listening on (\\S+)' } }) as TargetFile;
  const verdict = async (c: FuzzCase, defect?: string): Promise<string> => {
    const text = fuzzSuiteText({ protocol: g.protocol, target: reference(defect), vars }, g, c, 'fuzz/ping-liveness/quiet');
    const run = await runSuite(fuzzSuite(text, 'quiet'), { cwd: dir });
    const r = run.report.cases[0]!;
    return `${r.verdict} ${r.reason} (${r.step ?? ''}; expected ${r.expected ?? ''})`;
  };

  it('passes the quiet-then-back case; no-heartbeat-timeout fails it (the drop never comes)', async () => {
    expect(await verdict(quietCase())).toMatch(/^PASS/);
    expect(await verdict(quietCase(), 'no-heartbeat-timeout')).toMatch(/^ERROR timeout: .*sends a message here.*expected c1: .*error_code: 2/s);
  }, 40_000);

  it('a chat held by a partition reaches the server when the quiet spell clears the link: echoed on the reference server; trust-session-id caught', async () => {
    const steps = renderSteps(heldChatCase('own'), renderHooksOf(g));
    expect(steps.slice(9, 13)).toEqual([{ fault: 'partition', client: 'c2' }, { send: 'c2', msg: { mtype: 3, payload: { id: '$s2', time: 1, message: 'held by the link' } } }, model, { fault: 'clear', client: 'c2' }]);
    // before, the model took the held chat as read when sent or never, and committed to never
    expect(await verdict(heldChatCase('own'))).toMatch(/^PASS/);
    expect(await verdict(heldChatCase(1))).toMatch(/^PASS/);
    // the chat naming ann's session, held and then delivered: the defect echoes it as ann's
    expect(await verdict(heldChatCase(1), 'trust-session-id')).toMatch(/^FAIL c2 got .*expected 5 \(ERROR\), got 3 \(step 15 /);
  }, 60_000);

  it('passes a generated case with a quiet spell (seed 3: its smallest)', async () => {
    const cases = fc.sample(caseArbitrary(g), { seed: 3, numRuns: 60 }).filter((c) => c.actions.some(quietAndBack(c)));
    const smallest = cases.sort((a, b) => a.actions.length - b.actions.length)[0]!;
    expect(await verdict(smallest)).toMatch(/^PASS/);
  }, 40_000);
});
