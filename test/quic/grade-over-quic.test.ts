/**
 * `protosim grade` on server submissions that speak QUIC (issue 17 item 1: grading manifests take
 * the QUIC transport): a manifest's `transport: quic` makes its server a QUIC target on the UDP
 * `{port}`; the reference server gets full marks, a planted defect loses its catching case, and a
 * manifest with a QUIC option it does not have is refused with the field named (exit 2).
 */
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/program.js';
import type { SuiteReport } from '../../src/report/case-result.js';

const root = resolve(import.meta.dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'protosim-grade-quic-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function submission(name: string, extra: string[], manifestExtra = ''): void {
  mkdirSync(join(dir, 'subs', name), { recursive: true });
  const command = ['{protosim}', 'serve', 'ping-liveness', '--transport', 'quic', '--port', '{port}', '--heartbeat-timeout-ms', '800', ...extra];
  writeFileSync(
    join(dir, 'subs', name, 'protosim.yaml'),
    ['kind: manifest', 'version: 1', `name: ${name}`, 'server:', `  command: ${JSON.stringify(command)}`, "  ready: { stdout: 'listening on (\\S+)' }", '  transport: quic', manifestExtra].join('\n'),
  );
}

async function grade(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, { stdout: (s) => (stdout += s), stderr: (s) => (stderr += s), cwd: root, isTTY: false, stderrIsTTY: false });
  return { code, stdout, stderr };
}

describe('protosim grade: server submissions over QUIC', () => {
  it('the reference server gets full marks, allow-double-login loses ping/double-login', async () => {
    submission('reference', []);
    submission('double-login', ['--defect', 'allow-double-login']);
    const out = join(dir, 'out');
    const cases = ['ping/login', 'ping/double-login'];
    const r = await grade(['grade', join(dir, 'subs'), '--suite', 'scenarios/conformance/ping-liveness', '--case', cases.join(','), '--var', 'heartbeatTimeoutMs=800', '--time-limit-ms', '20000', '--jobs', '2', '--retries', '0', '--out', out]);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const report = (name: string): SuiteReport => JSON.parse(readFileSync(join(out, name, 'report.json'), 'utf8')) as SuiteReport;
    expect(report('reference').cases.map((c) => `${c.id} ${c.verdict}`)).toEqual(cases.map((c) => `${c} PASS`));
    const defective = report('double-login').cases;
    expect(defective.find((c) => c.id === 'ping/double-login')?.verdict).toBe('FAIL');
    expect(defective.find((c) => c.id === 'ping/login')?.verdict).toBe('PASS');
    // it was QUIC: the server listens on UDP only, so a PASS means the cases spoke QUIC to it
  }, 120_000);

  it('a QUIC option that does not exist is refused, naming the field', async () => {
    rmSync(join(dir, 'subs'), { recursive: true, force: true });
    submission('bad', [], '  quic: { alpn: echo-protocol, colour: blue }');
    const r = await grade(['grade', join(dir, 'subs'), '--suite', 'scenarios/conformance/ping-liveness', '--out', join(dir, 'out-bad')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/server\.quic/);
    expect(r.stderr).toMatch(/colour/);
  });
});
