/**
 * `protosim fuzz` holds a server to its protocol's named bounds (src/models/live-bounds.ts) unless
 * `--no-bounds`: the reference server that never closes the connections its clients close
 * (`keep-closed-connections`) is found on `connections-released`, and the saved case carries the
 * bounds, so `protosim run` replays the failure; without the bounds the same search finds nothing.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import YAML from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { loadSuiteFile } from '../../src/scenario/load-suite.js';
import { runSuite } from '../../src/conformance/run-suite.js';
import { cliIn } from '../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'protosim-fuzz-bounds-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const cli = cliIn(dir);

const target = join(dir, 'leaky.yaml');
writeFileSync(target, YAML.stringify({ kind: 'target', version: 1, command: ['{protosim}', 'serve', 'register-exit', '--port', '{port}', '--defect', 'keep-closed-connections'], port: 'auto', ready: { stdout: 'listening on (\\S+)' } }));

describe('fuzz and the named bounds', () => {
  it('finds keep-closed-connections on connections-released; the saved case fails on replay', async () => {
    const saved = join(dir, 'leak-case.yaml');
    const r = await cli(['fuzz', 'register-exit', '--target', target, '--seed', '1', '--runs', '3', '--time-budget', '25', '--confirm', '1', '--save-case', saved, '--no-progress']);
    expect(r.err.split('\n')[0]).toMatch(/ bounds=on$/);
    expect(r.code, r.out + r.err).toBe(1);
    expect(r.out).toMatch(/connections-released: the target kept (a connection|\d+ connections) open 2000 ms after the case's clients closed/);
    const suite = loadSuiteFile(saved);
    expect(suite.spec.vars?.bounds).toBe(1);
    const replay = await runSuite(suite, { cwd: dir });
    expect(replay.report.cases[0]!.verdict).toBe('FAIL');
    expect(replay.report.cases[0]!.reason).toMatch(/^connections-released/);
  }, 120_000);

  it('with --no-bounds the same search has no finding', async () => {
    const r = await cli(['fuzz', 'register-exit', '--target', target, '--seed', '1', '--runs', '3', '--time-budget', '30', '--no-bounds', '--no-progress']);
    expect(r.err.split('\n')[0]).toMatch(/ bounds=off$/);
    expect(r.code, r.out + r.err).toBe(0);
    expect(r.out).toContain('no finding');
  }, 90_000);
});
