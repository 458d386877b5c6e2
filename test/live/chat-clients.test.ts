/**
 * The chat protocols' example client programs (ping-liveness, offline-queue): `adapter check`
 * passes with their adapters (and fails with a broken pattern), and each protocol's whole live
 * system suite (`scenarios/conformance/<protocol>/clients.yaml`: a server command and client
 * programs) passes with the reference server and catches the server defects it is about.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadAdapterFile } from '../../src/conformance/clients/adapter.js';
import { loadClientSuiteFile } from '../../src/conformance/clients/load-client-suite.js';
import { runClientSuite } from '../../src/conformance/clients/run-client-suite.js';
import { protosimLauncher } from '../../src/conformance/managed-process.js';
import { cli, repoRoot } from './live-fixture.js';

const protocols = ['ping-liveness', 'offline-queue'] as const;
type Protocol = (typeof protocols)[number];

/** The shipped client suite, its server started with `--defect NAME`. */
function suiteWithDefect(protocol: Protocol, defect: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'protosim-chat-'));
  const text = readFileSync(resolve(repoRoot, `scenarios/conformance/${protocol}/clients.yaml`), 'utf8')
    .replace(`adapter: ../../../adapters/${protocol}.yaml`, `adapter: ${resolve(repoRoot, `adapters/${protocol}.yaml`)}`)
    .replace("'{port}'", `'{port}', --defect, ${defect}`);
  const file = join(dir, 'clients.yaml');
  writeFileSync(file, text);
  return file;
}

async function runSuite(protocol: Protocol, file: string, caseIds: string[] = []) {
  const report = await runClientSuite(loadClientSuiteFile(file), {
    adapter: loadAdapterFile(resolve(repoRoot, `adapters/${protocol}.yaml`)),
    protosimLauncher: protosimLauncher(),
    caseIds,
  });
  return Object.fromEntries(report.cases.map((c) => [c.id.split('/').pop()!, c]));
}

describe('adapter check on the chat example clients', () => {
  for (const protocol of protocols) {
    it(`${protocol}: every pattern the session provokes matches`, async () => {
      const { code, out } = await cli(['adapter', 'check', `adapters/${protocol}.yaml`]);
      expect(code, out).toBe(0);
      expect(out).toMatch(/ok +prompt +c1: /);
      expect(out).toMatch(/ok +message +c\d: "(echo: )?(c\d: )?adapter check one \d"/);
      expect(out).toMatch(/ok +joined +c1: "Logged in as /);
      expect(out).toMatch(/adapter check passed/);
    });
  }

  it('a message pattern that never matches makes the check fail, naming it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'protosim-chat-'));
    const file = join(dir, 'bad.yaml');
    writeFileSync(
      file,
      readFileSync(resolve(repoRoot, 'adapters/ping-liveness.yaml'), 'utf8')
        .replace("message: '^echo: (?<text>.*)$'", () => "message: '^ECHO> (?<text>.*)$'")
        .replace('cwd: ..', `cwd: ${repoRoot}`) + 'replyTimeoutMs: 1000\n',
    );
    const { code, out, err } = await cli(['adapter', 'check', file]);
    expect(code, out + err).toBe(1);
    expect(out).toMatch(/NEVER +message +never matched/);
  });
});

describe('whole live systems of the chat protocols', () => {
  it('ping-liveness: the reference server and the example client pass every case', async () => {
    const cases = await runSuite('ping-liveness', resolve(repoRoot, 'scenarios/conformance/ping-liveness/clients.yaml'));
    expect(Object.values(cases).filter((c) => c.verdict !== 'PASS').map((c) => `${c.id}: ${c.reason}\n${c.observed ?? ''}`)).toEqual([]);
    expect(Object.keys(cases)).toEqual(['echo', 'split-echo', 'pings-keep-the-session', 'double-login', 'killed-client-lockout-ends', 'quit-frees-user', 'server-killed']);
  });

  it('ping-liveness: catches a server without a heartbeat timeout (a killed client locks its user out) and one that allows a double login', async () => {
    const lockout = await runSuite('ping-liveness', suiteWithDefect('ping-liveness', 'no-heartbeat-timeout'), ['ping-liveness/system/killed-client-lockout-ends']);
    expect(lockout['killed-client-lockout-ends']!.verdict).toBe('FAIL');
    expect(lockout['killed-client-lockout-ends']!.reason).toMatch(/c1b/);
    const twice = await runSuite('ping-liveness', suiteWithDefect('ping-liveness', 'allow-double-login'), ['ping-liveness/system/double-login']);
    expect(twice['double-login']!.verdict).toBe('FAIL');
  });

  it('offline-queue: the reference server and the example client pass every case; a server that drops offline messages fails', async () => {
    const cases = await runSuite('offline-queue', resolve(repoRoot, 'scenarios/conformance/offline-queue/clients.yaml'));
    expect(Object.values(cases).filter((c) => c.verdict !== 'PASS').map((c) => `${c.id}: ${c.reason}`)).toEqual([]);
    expect(Object.keys(cases)).toEqual(['send-online', 'offline-then-check', 'unknown-recipient', 'server-killed']);
    const dropped = await runSuite('offline-queue', suiteWithDefect('offline-queue', 'drop-offline-queue'), ['offline-queue/system/offline-then-check']);
    expect(dropped['offline-then-check']!.verdict).toBe('FAIL');
    expect(dropped['offline-then-check']!.reason).toMatch(/while you were out/);
  });
});
