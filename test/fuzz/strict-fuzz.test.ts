/**
 * `protosim fuzz --strict`: the strict generator (protosim's own extensions: the kv `store`
 * parameter and its error replies) and the strict oracle. With a fixed seed and a small budget, the
 * reference kv server's `shared-stores` defect is found, shrunk and saved (and fails on replay),
 * the same server without the defect gives no finding, and without `--strict` the defect is out of
 * reach (the store parameter is not protosim's to ask of other servers). Also: the general
 * follow-ups (a message to a user who just left or was just named) that register-exit cases draw.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import YAML from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { caseArbitrary, generatorFor } from '../../src/conformance/fuzz/case-arbitrary.js';
import { fuzzGeneratorFor } from '../../src/conformance/fuzz/fuzz-generators.js';
import { fuzzSuite, fuzzSuiteText } from '../../src/conformance/fuzz/fuzz-suite.js';
import type { FuzzAction } from '../../src/conformance/fuzz/fuzz-case.js';
import { loadSuiteFile } from '../../src/scenario/load-suite.js';
import { runSuite } from '../../src/conformance/run-suite.js';
import { cliIn } from '../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'protosim-strict-fuzz-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cli = cliIn(dir);

function kvTarget(defect?: string): string {
  const file = join(dir, `kv-${defect ?? 'correct'}.yaml`);
  const command = ['{protosim}', 'serve', 'kv', '--port', '{port}', ...(defect !== undefined ? ['--defect', defect] : [])];
  writeFileSync(file, YAML.stringify({ kind: 'target', version: 1, command, port: 'auto', ready: { stdout: 'listening on (\\S+)' } }));
  return file;
}

describe('the strict kv generator', () => {
  const kv = fuzzGeneratorFor('kv')!;
  const strict = generatorFor(kv, true);

  it('is another generator than the default one, which has no stores and no error requests', () => {
    expect(strict).not.toBe(kv);
    const plain = fc.sample(caseArbitrary(kv), { seed: 3, numRuns: 100 });
    expect(plain.every((c) => c.connect === undefined && c.actions.every((a) => a.kind !== 'check'))).toBe(true);
  });

  it('gives users stores (shared or apart) and requests answered by an error reply, as valid suite cases', () => {
    const cases = fc.sample(caseArbitrary(strict), { seed: 3, numRuns: 100 });
    let apart = 0;
    let checks = 0;
    for (const [i, c] of cases.entries()) {
      const text = fuzzSuiteText({ protocol: 'kv', vars: { strict: 1 } }, strict, c, `fuzz/kv/t-${i}`);
      const steps = fuzzSuite(text, `case ${i}`).spec.cases[0]!.steps as Record<string, unknown>[];
      const stores = new Set(steps.filter((s) => s.connect !== undefined).map((s) => s.store));
      if (stores.size > 1) apart++;
      expect([...stores].every((s) => typeof s === 'string' && s.endsWith('-${run}'))).toBe(true);
      checks += steps.filter((s) => typeof s.expect === 'string' && s.expect !== 'model').length;
    }
    expect(apart).toBeGreaterThan(20);
    expect(checks).toBeGreaterThan(10);
  });
});

describe('protosim fuzz --strict against the reference kv server (fixed seed)', () => {
  it('finds shared-stores, shrinks it, and the saved case fails on replay', async () => {
    const saved = join(dir, 'kv-shared.yaml');
    const r = await cli(['fuzz', 'kv', '--strict', '--target', kvTarget('shared-stores'), '--seed', '1', '--runs', '4', '--time-budget', '20', '--save-case', saved, '--no-progress']);
    expect(r.err.split('\n')[0]).toMatch(/^seed=1 .* strict bounds=on$/);
    expect(r.code, r.out + r.err).toBe(1);
    const suite = loadSuiteFile(saved);
    expect(suite.spec.vars?.strict).toBe(1);
    const replay = await runSuite(suite, { cwd: dir });
    expect(replay.report.cases[0]!.verdict).toBe('FAIL');
  }, 120_000);

  it('does not find shared-stores without --strict in the same runs', async () => {
    const r = await cli(['fuzz', 'kv', '--target', kvTarget('shared-stores'), '--seed', '1', '--runs', '4', '--time-budget', '20', '--no-progress']);
    expect(r.code, r.out + r.err).toBe(0);
  }, 60_000);

  it('gives no finding on the server without a defect', async () => {
    const r = await cli(['fuzz', 'kv', '--strict', '--target', kvTarget(), '--seed', '1', '--runs', '6', '--time-budget', '30', '--no-progress']);
    expect(r.code, r.out + r.err).toBe(0);
    expect(r.out).toContain('no finding');
  }, 60_000);

  it('exits 2 for --strict with --adapter', async () => {
    const r = await cli(['fuzz', 'register-exit', '--strict', '--adapter', 'no-such-adapter.yaml']);
    expect(r.code).toBe(2);
  });
});

describe('follow-ups in register-exit cases', () => {
  const re = fuzzGeneratorFor('register-exit')!;
  const to = (a: FuzzAction | undefined): unknown => (a?.kind === 'send' && a.msgs.length === 1 ? (a.msgs[0] as { To?: { $user?: number } }).To?.$user : undefined);

  it('often write to a user right after it leaves, from another user', () => {
    const cases = fc.sample(caseArbitrary(re), { seed: 5, numRuns: 400 });
    const followed = cases.filter((c) => c.actions.some((a, i) => a.kind === 'leave' && to(c.actions[i + 1]) === a.user && (c.actions[i + 1] as { user: number }).user !== a.user));
    expect(followed.length).toBeGreaterThan(20);
  });

  it('write to a user named in another user\'s Exit right after it', () => {
    const cases = fc.sample(caseArbitrary(re), { seed: 5, numRuns: 400 });
    const spoofed = (a: FuzzAction): number | undefined => {
      if (a.kind !== 'send') return undefined;
      const m = a.msgs.find((x) => (x as { Exit?: boolean }).Exit === true) as { From?: { $user?: number } } | undefined;
      return m?.From?.$user !== undefined && m.From.$user !== a.user ? m.From.$user : undefined;
    };
    const followed = cases.filter((c) => c.actions.some((a, i) => spoofed(a) !== undefined && spoofed(a)! < re.maxUsers && to(c.actions[i + 1]) === spoofed(a)));
    expect(followed.length).toBeGreaterThan(5);
  });
});
