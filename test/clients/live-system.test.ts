/**
 * Whole live systems: a server command and client programs, all live, with process faults on both.
 * The reference register-exit server passes the suite; the same suite catches its defects.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadAdapterFile } from '../../src/conformance/clients/adapter.js';
import { loadClientSuiteFile } from '../../src/conformance/clients/load-client-suite.js';
import { runClientSuite } from '../../src/conformance/clients/run-client-suite.js';
import { protosimLauncher } from '../../src/conformance/managed-process.js';
import { leftAfter } from '../conformance/process-fixture.js';

const root = resolve(__dirname, '../..');
const suitePath = resolve(root, 'scenarios/conformance/register-exit/clients.yaml');

/** Temp folders of the tests, removed at the end. */
const made: string[] = [];
afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

/** The shipped suite with `--defect NAME` added to the server command, written next to a temp dir. */
function suiteWithDefect(defect: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'protosim-system-'));
  made.push(dir);
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
    expect(Object.keys(cases)).toEqual(['send', 'quick-succession', 'unknown-recipient', 'server-shutdown', 'paused-server', 'server-killed-and-restarted', 'client-killed']);
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

  it('a server command that is a shell script: kill, stop and restart reach the server it started, and nothing is left', async () => {
    const marker = randomBytes(6).toString('hex');
    const dir = mkdtempSync(join(tmpdir(), 'protosim-system-'));
    made.push(dir);
    const text = readFileSync(suitePath, 'utf8')
      .replace('adapter: ../../../adapters/register-exit.yaml', `adapter: ${resolve(root, 'adapters/register-exit.yaml')}`)
      // not exec: the script stays the parent of the server, as a wrapper script does
      .replace("command: ['{protosim}', serve, register-exit, --port, '{port}']", `command: [/bin/sh, -c, '"$@"; exit $?', wrapper, '{protosim}', serve, register-exit, --port, '{port}']\n  env: { LIFECYCLE_MARKER: '${marker}' }`);
    const file = join(dir, 'suite.yaml');
    writeFileSync(file, text);
    const cases = await run(file, ['register-exit/system/server-shutdown', 'register-exit/system/server-killed-and-restarted']);
    expect(Object.values(cases).map((c) => `${c.id} ${c.verdict} ${c.verdict === 'PASS' ? '' : c.reason}`)).toEqual([
      'register-exit/system/server-shutdown PASS ',
      'register-exit/system/server-killed-and-restarted PASS ',
    ]);
    expect(await leftAfter(marker)).toEqual([]);
  });
});
