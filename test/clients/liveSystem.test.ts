/**
 * Whole live systems: a server command and client programs, all live, with process faults on both.
 * The reference register-exit server passes the suite; the same suite catches its defects.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadAdapterFile } from '../../src/conformance/clients/adapter.js';
import { loadClientSuiteFile } from '../../src/conformance/clients/loadClientSuite.js';
import { runClientSuite } from '../../src/conformance/clients/runClientSuite.js';
import { protosimLauncher } from '../../src/conformance/managedProcess.js';

const root = resolve(__dirname, '../..');
const suitePath = resolve(root, 'scenarios/conformance/register-exit/clients.yaml');

/** The shipped suite with `--defect NAME` added to the server command, written next to a temp dir. */
function suiteWithDefect(defect: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'protosim-system-'));
  const text = readFileSync(suitePath, 'utf8')
    .replace("adapter: ../../../adapters/register-exit.yaml", `adapter: ${resolve(root, 'adapters/register-exit.yaml')}`)
    .replace("'{port}']", `'{port}', --defect, ${defect}]`);
  const file = join(dir, 'suite.yaml');
  writeFileSync(file, text);
  return file;
}

async function run(file: string, caseIds: string[] = []) {
  const report = await runClientSuite(loadClientSuiteFile(file), {
    adapter: loadAdapterFile(resolve(root, 'adapters/register-exit.yaml')),
    protosimLauncher: protosimLauncher(),
    caseIds,
  });
  return Object.fromEntries(report.cases.map((c) => [c.id.split('/').pop()!, c]));
}

describe('whole live system: register-exit server command and client programs', () => {
  it('the reference server and example client pass every case, with kill, pause, stop and restart of the server', async () => {
    const cases = await run(suitePath);
    const failed = Object.values(cases).filter((c) => c.verdict !== 'PASS').map((c) => `${c.id}: ${c.reason}\n${c.observed ?? ''}`);
    expect(failed).toEqual([]);
    expect(Object.keys(cases)).toEqual(['send', 'unknown-recipient', 'server-shutdown', 'paused-server', 'server-killed-and-restarted', 'client-killed']);
    const restart = cases['server-killed-and-restarted']!;
    expect(restart.trace!.filter((e) => e.k === 'fault').map((e) => (e.k === 'fault' ? `${e.fault.kind} ${'node' in e.fault ? e.fault.node : ''}` : ''))).toEqual(['crash server', 'restart server']);
  });

  it('catches a server that keeps a vanished client registered (messages to it vanish)', async () => {
    const cases = await run(suiteWithDefect('keep-vanished-client'), ['register-exit/system/client-killed']);
    expect(cases['client-killed']!.verdict).toBe('FAIL');
    expect(cases['client-killed']!.reason).toMatch(/expected alice to show a refused line; none within 3000 ms/);
  });

  it('catches a server that dies when a client vanishes', async () => {
    const cases = await run(suiteWithDefect('crash-on-disconnect'), ['register-exit/system/client-killed']);
    expect(cases['client-killed']!.verdict).toBe('FAIL');
    expect(cases['client-killed']!.observed).toMatch(/server: exit code 70/);
  });
});
