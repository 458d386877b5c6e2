/**
 * Process faults in `protosim fuzz`'s generated server cases: against a target protosim starts, cases
 * kill and restart the target (the users reconnect and do their setup again) and pause it while
 * users send, at any point of the workload; they are ordinary suite steps that `protosim run`
 * accepts; none are generated against an address. A server whose defect shows only across a
 * restart (test/fixtures/process-faults/stale-registrations.mjs: it replays the registrations of the
 * process that died) is found, and the shrunk case keeps the crash; the reference server without a
 * defect gives no finding with process faults on.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import fc from 'fast-check';
import YAML from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/program.js';
import { caseArbitrary, renderHooksOf } from '../../src/conformance/fuzz/case-arbitrary.js';
import { renderSteps, type FuzzCase } from '../../src/conformance/fuzz/fuzz-case.js';
import { fuzzGeneratorFor, fuzzGenerators } from '../../src/conformance/fuzz/fuzz-generators.js';
import { fuzzSuite, fuzzSuiteText } from '../../src/conformance/fuzz/fuzz-suite.js';
import { processFaultsOf, runFuzz, type FuzzOptions } from '../../src/conformance/fuzz/run-fuzz.js';
import { runSuite } from '../../src/conformance/run-suite.js';
import { parseSuite } from '../../src/scenario/load-suite.js';
import type { TargetFile } from '../../src/scenario/target-schema.js';

const dir = mkdtempSync(join(tmpdir(), 'protosim-process-faults-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const registerExit = fuzzGeneratorFor('register-exit')!;
const reference = (protocol: string): TargetFile => ({ command: ['{protosim}', 'serve', protocol, '--port', '{port}'], port: 'auto', ready: { stdout: 'listening on (\\S+)' } }) as TargetFile;
const staleRegistrations = (state: string): TargetFile =>
  ({ command: [process.execPath, resolve('test/fixtures/process-faults/stale-registrations.mjs'), '--port', '{port}', '--state', state], port: 'auto', ready: { stdout: 'listening on (\\S+)' } }) as TargetFile;

function fuzzOptions(target: TargetFile, seed: number, runs: number, budgetS: number, processFaults?: boolean): FuzzOptions {
  return {
    generator: registerExit,
    base: { protocol: 'register-exit', target, vars: {} },
    suiteOptions: { cwd: dir },
    seed,
    runs,
    repeat: 1,
    confirm: 2,
    timeBudgetMs: budgetS * 1000,
    ...(processFaults !== undefined ? { processFaults } : {}),
  };
}

/** The steps without each crash: its kill and restart, the links cleared and the reconnection after it. */
function withoutCrashes(steps: readonly Record<string, unknown>[]): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  let dropping = false;
  for (const s of steps) {
    if (s.fault === 'kill' || s.fault === 'restart') dropping = true;
    else if (dropping && s.fault === 'clear') continue;
    else if (dropping && s.connect !== undefined) dropping = false;
    else {
      dropping = false;
      out.push(s);
    }
  }
  return out;
}

const faultsOf = (steps: readonly Record<string, unknown>[]): string[] => steps.flatMap((s) => (typeof s.fault === 'string' && s.client === undefined ? [s.fault] : []));

describe('generated cases with process faults', () => {
  it.each(fuzzGenerators.map((g) => [g.protocol, g] as const))('%s: kills, restarts, pauses and resumes the target, as valid suite steps', (_, g) => {
    const cases = fc.sample(caseArbitrary(g, { processFaults: true }), { seed: 3, numRuns: 60 });
    const faults = new Set<string>();
    for (const [i, c] of cases.entries()) {
      const text = fuzzSuiteText({ protocol: g.protocol, vars: g.vars ?? {} }, g, c, `fuzz/${g.protocol}/t-${i}`);
      const suite = fuzzSuite(text, `case ${i}`);
      faultsOf(suite.spec.cases[0]!.steps as Record<string, unknown>[]).forEach((f) => faults.add(f));
    }
    expect([...faults].sort()).toEqual(['kill', 'pause', 'restart', 'resume']);
    // without them (an address target), none; and the same seed gives the same workload either way
    const plain = fc.sample(caseArbitrary(g), { seed: 3, numRuns: 60 });
    expect(plain.flatMap((c) => faultsOf(renderSteps(c, renderHooksOf(g)) as Record<string, unknown>[]))).toEqual([]);
    expect(cases.map((c) => c.actions.filter((a) => a.kind !== 'crash' && a.kind !== 'pause'))).toEqual(plain.map((c) => c.actions));
  });

  it('after a restart the users reconnect on a clean link and do their setup again before acting; sends during a pause are judged after it resumes', () => {
    const c: FuzzCase = {
      names: ['alice', 'bob', 'carol', 'dan'],
      setupUsers: [0, 1],
      actions: [
        { kind: 'send', user: 0, msgs: [{ From: { $self: true }, Register: true }] },
        { kind: 'send', user: 1, msgs: [{ From: { $self: true }, Register: true }] },
        { kind: 'fault', user: 1, fault: 'partition' },
        { kind: 'crash' },
        { kind: 'pause', sends: [{ user: 0, msg: { From: { $self: true }, To: { $user: 1 }, Content: 'hi' } }], ms: 50 },
      ],
    };
    expect(renderSteps(c, renderHooksOf(registerExit))).toEqual([
      { connect: ['c1', 'c2'] },
      { send: 'c1', msg: { From: 'alice${run}', Register: true } },
      { expect: 'model' },
      { send: 'c2', msg: { From: 'bob${run}', Register: true } },
      { expect: 'model' },
      { fault: 'partition', client: 'c2' },
      { fault: 'kill' },
      { fault: 'restart' },
      { fault: 'clear', client: 'c2' },
      { connect: ['c1', 'c2'] },
      { send: 'c1', msg: { From: 'alice${run}', Register: true } },
      { expect: 'model' },
      { send: 'c2', msg: { From: 'bob${run}', Register: true } },
      { expect: 'model' },
      { fault: 'pause' },
      { send: 'c1', msg: { From: 'alice${run}', To: 'bob${run}', Content: 'hi' } },
      { wait: 50 },
      { fault: 'resume' },
      { expect: 'model' },
    ]);
  });

  it('are generated only against a target protosim starts', () => {
    expect(processFaultsOf({ base: { protocol: 'kv', target: reference('kv'), vars: {} }, suiteOptions: {} }).on).toBe(true);
    expect(processFaultsOf({ base: { protocol: 'kv', target: reference('kv'), vars: {} }, suiteOptions: {}, processFaults: false }).on).toBe(false);
    const address = processFaultsOf({ base: { protocol: 'kv', vars: {} }, suiteOptions: { target: 'http://127.0.0.1:8112/' } });
    expect(address.on).toBe(false);
    expect(address.why).toMatch(/address/);
  });
});

describe('process faults against live servers', () => {
  it('protosim run accepts a generated case with a crash and a pause, and the reference server passes it', async () => {
    const c: FuzzCase = {
      names: ['ann', 'ben', 'cy', 'di'],
      setupUsers: [0, 1],
      actions: [
        { kind: 'send', user: 0, msgs: [{ From: { $self: true }, Register: true }] },
        { kind: 'send', user: 1, msgs: [{ From: { $self: true }, Register: true }] },
        { kind: 'crash' },
        { kind: 'send', user: 1, msgs: [{ From: { $self: true }, To: { $user: 0 }, Content: 'after the restart' }] },
        { kind: 'pause', sends: [{ user: 0, msg: { From: { $self: true }, To: { $user: 1 }, Content: 'while paused' } }], ms: 300 },
      ],
    };
    const file = join(dir, 'generated.yaml');
    writeFileSync(file, fuzzSuiteText({ protocol: 'register-exit', target: reference('register-exit'), vars: {} }, registerExit, c, 'fuzz/register-exit/generated'));
    let out = '';
    const code = await runCli(['run', file], { stdout: (s) => (out += s), stderr: (s) => (out += s), cwd: dir });
    expect(code, out).toBe(0);
    expect(out).toMatch(/1 passed/);
  }, 60_000);

  it('finds a server that replays stale registrations after a restart; the shrunk case keeps the crash, and fails on replay only with it', async () => {
    const target = staleRegistrations(join(dir, 'stale-names'));
    const outcome = await runFuzz(fuzzOptions(target, 1, 20, 15));
    const f = outcome.finding;
    expect(f, JSON.stringify(outcome)).toBeDefined();
    expect(f!.result.reason).toMatch(/does not send/);
    const steps = fuzzSuite(f!.suiteText, 'shrunk').spec.cases[0]!.steps as Record<string, unknown>[];
    expect(faultsOf(steps)).toEqual(expect.arrayContaining(['kill', 'restart']));
    expect(f!.size.steps).toBeLessThanOrEqual(f!.originalSize.steps);
    const replay = await runSuite(fuzzSuite(f!.suiteText, 'shrunk'), { cwd: dir });
    expect(replay.report.cases[0]!.verdict).toBe('FAIL');
    // the same case without the crash (the kill, the restart, the clean links and the reconnection
    // after it; the users register again on their connections) passes: the defect shows only across a restart
    const spec = YAML.parse(f!.suiteText) as { cases: { steps: Record<string, unknown>[] }[] };
    spec.cases[0]!.steps = withoutCrashes(spec.cases[0]!.steps);
    const without = await runSuite(parseSuite(YAML.stringify(spec), 'without'), { cwd: dir });
    expect(without.report.cases[0]!.verdict, without.report.cases[0]!.reason).toBe('PASS');
  }, 90_000);

  it('gives no finding on the reference offline-queue server with process faults on', async () => {
    const g = fuzzGeneratorFor('offline-queue')!;
    const outcome = await runFuzz({ ...fuzzOptions(reference('offline-queue'), 2, 6, 25), generator: g, base: { protocol: 'offline-queue', target: reference('offline-queue'), vars: {} } });
    expect(outcome.finding?.result.reason, outcome.finding?.suiteText).toBeUndefined();
    expect(outcome.unreachable).toBeUndefined();
    expect(outcome.runs).toBeGreaterThan(0);
  }, 60_000);
});
