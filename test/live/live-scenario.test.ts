/**
 * Model scenarios in live mode: the scenario's clients played from their models against a live
 * reference server, the fixed server model as oracle, the scenario's checks over the live run.
 * A fixed twin (`violations: none`) passes against the reference server and fails against a
 * server with the matching defect; the key-value race deadlocks live as in the model; the codecs
 * (gob, raw protobuf framing) and the CLI's exit codes and renderers work on live runs.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderRunReport } from '../../src/cli/render-run.js';
import { conformanceFindingId } from '../../src/conformance/live-scenario-run.js';
import { startServer } from '../../src/servers/index.js';
import { cli, repoRoot, runLive, serverOptionsFor, summary } from './live-fixture.js';

describe('fixed twins: violations none against the reference server, a finding against the defect', () => {
  const cases = [
    { file: 'register-exit/fixed-spoofed-from.yaml', protocol: 'register-exit', defect: 'trust-sender-field', timeScale: 0.2 },
    { file: 'ping-liveness/fixed-spoofed-session.yaml', protocol: 'ping-liveness', defect: 'trust-session-id', timeScale: 0.1 },
    { file: 'offline-queue/fixed-spoofed-sender.yaml', protocol: 'offline-queue', defect: 'trust-sender-field', timeScale: 0.1 },
  ] as const;
  for (const c of cases) {
    it(`${c.file}: passes against the reference server, fails against --defect ${c.defect}`, async () => {
      const { defect, ...base } = c;
      const good = await runLive(base);
      expect(good.ok, summary(good)).toBe(true);
      expect(good.findings).toEqual([]);
      expect(good.live?.trace.some((e) => e.k === 'deliver'), 'replies came from the live server').toBe(true);
      const bad = await runLive({ ...base, defect });
      expect(bad.ok, summary(bad)).toBe(false);
      const conformance = bad.findings.find((f) => f.id === conformanceFindingId);
      expect(conformance?.summary, summary(bad)).toMatch(/does not send/);
    });
  }
});

describe('the key-value protocols over HTTP', () => {
  it('two lock-alternation clients started together deadlock live, as the model found; the store is judged by the kv-store model', async () => {
    const report = await runLive({ file: 'deadlock.yaml', protocol: 'kv', timeScale: 0.1 });
    expect(report.ok, summary(report)).toBe(true);
    const deadlock = report.findings.find((f) => f.id === 'deadlock');
    expect(deadlock?.summary).toMatch(/c1, c2 wait for ever/);
    // The clients polled the live store: GET requests went out and VALUE replies came back.
    expect(report.live!.trace.filter((e) => e.k === 'send').length).toBeGreaterThan(4);
    expect(report.findings.some((f) => f.id === conformanceFindingId), summary(report)).toBe(false);
  });

  // (status-handshake's happy path is no good here: live timing can make its faithful clients
  // show the one-flag flaw, two senders at once, which the model's seed 3 happens to avoid.)
  it('a happy path over the live IM server passes (violations none)', async () => {
    const report = await runLive({ file: 'lock-alternation/started-apart.yaml', protocol: 'kv', timeScale: 0.2 });
    expect(report.ok, summary(report)).toBe(true);
    expect(report.live!.trace.some((e) => e.k === 'print' && e.kind === 'message')).toBe(true);
  });
});

describe('codecs', () => {
  it('register-exit over Go gob: the spoofed From shows live against --defect trust-sender-field', async () => {
    const report = await runLive({ file: 'register-exit/spoofed-from.yaml', protocol: 'register-exit', defect: 'trust-sender-field', timeScale: 0.2, codec: 'gob', server: { codec: 'gob' } });
    expect(report.ok, summary(report)).toBe(true);
    expect(report.findings.map((f) => f.id)).toContain('invariant:sender-is-authentic');
  });

  it('offline-queue over raw protobuf framing: a message to a silently dead recipient is lost live against --defect drop-on-dead-connection', async () => {
    const report = await runLive({ file: 'offline-queue/silent-death.yaml', protocol: 'offline-queue', defect: 'drop-on-dead-connection', timeScale: 0.1, framing: 'raw', server: { framing: 'raw' } });
    expect(report.ok, summary(report)).toBe(true);
    expect(report.findings.map((f) => f.id)).toContain('invariant:no-message-lost');
  });
});

describe('protosim run SCENARIO --target', () => {
  it('exits 0 when the expectation holds live, 1 when it does not; the report draws the live trace', async () => {
    const good = await startServer('register-exit', serverOptionsFor('register-exit', 0.2));
    const bad = await startServer('register-exit', serverOptionsFor('register-exit', 0.2, { defect: 'trust-sender-field' }));
    try {
      const pass = await cli(['run', 'scenarios/register-exit/fixed-spoofed-from.yaml', '--target', good.address, '--time-scale', '0.2', '--no-save-trace', '--no-color']);
      expect(pass.code, pass.out + pass.err).toBe(0);
      expect(pass.out).toMatch(/live run against tcp:\/\/127\.0\.0\.1:\d+: seed=1, time scale 0\.2/);
      expect(pass.out).toMatch(/✔ expected violations: none; observed: none/);
      const fail = await cli(['run', 'scenarios/register-exit/fixed-spoofed-from.yaml', '--target', bad.address, '--time-scale', '0.2', '--no-save-trace', '--no-color', '--format', 'json']);
      expect(fail.code).toBe(1);
      const report = JSON.parse(fail.out);
      expect(report.live.target).toBe(bad.address);
      expect(report.findings[0].id).toBe(conformanceFindingId);
      // The terminal diagram of the live trace shows the live delivery and the failure.
      const text = renderRunReport(report, { color: false, width: 120 });
      expect(text).toMatch(/FOUND invariant \(conformance:server-model\) at seed=1, step \d+, t=\d+ ms \(live\)/);
      expect(text).toMatch(/the live run up to the finding/);
      expect(text).toMatch(/From: expected "mallory", got "alice"/);
    } finally {
      await good.close();
      await bad.close();
    }
  });
});

describe('a command target: protosim starts the server the scenario names', () => {
  it('a server that dies when a killed client is written to breaks server-survives-clients live (--defect crash-on-disconnect), the reference server does not', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'protosim-live-'));
    const original = readFileSync(join(repoRoot, 'scenarios/register-exit/killed-client-kills-server.yaml'), 'utf8');
    const withTarget = (defect: string): string => {
      const file = join(dir, `kks-${defect || 'none'}.yaml`);
      const command = ['{protosim}', 'serve', 'register-exit', '--port', '{port}', ...(defect ? ['--defect', defect] : [])].map((a) => `'${a}'`).join(', ');
      writeFileSync(file, `${original}\ntarget:\n  command: [${command}]\n  port: auto\n  ready: { stdout: 'listening on (\\S+)' }\nlive: { timeScale: 0.2 }\n`);
      return file;
    };
    const crashed = await cli(['run', withTarget('crash-on-disconnect'), '--no-save-trace', '--no-color']);
    expect(crashed.code, crashed.out + crashed.err).toBe(0);
    expect(crashed.out).toMatch(/the server went down \(the live server process exited with code 70\)/);
    const survived = await cli(['run', withTarget(''), '--no-save-trace', '--no-color']);
    expect(survived.code, survived.out).toBe(1);
    expect(survived.out).toMatch(/✘ expected invariant: server-survives-clients broken; observed: none/);
  });
});
