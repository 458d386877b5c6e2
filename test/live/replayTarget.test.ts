/**
 * `protosim replay <trace> --target ...`: counterexamples of the faithful models that concern the
 * server reproduce against the reference server started with the matching defect (exit 0), and do
 * not against the reference server without it (exit 1, saying what happened instead).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startServer, type ServerProtocol } from '../../src/servers/index.js';
import { cli, serverOptionsFor } from './liveFixture.js';

const dir = mkdtempSync(join(tmpdir(), 'protosim-replay-'));

/** Writes the model's counterexample trace of a scenario (a seeded run) and returns its path. */
async function counterexample(scenario: string): Promise<string> {
  const file = join(dir, `${scenario.replace(/\W+/g, '_')}.jsonl`);
  const run = await cli(['run', `scenarios/${scenario}`, '--trace-out', file, '--no-color']);
  expect(run.code, run.out).toBe(0);
  return file;
}

async function replayAgainst(trace: string, protocol: ServerProtocol, timeScale: number, defect?: string): Promise<{ code: number; out: string }> {
  const server = await startServer(protocol, serverOptionsFor(protocol, timeScale, defect ? { defect } : {}));
  try {
    return await cli(['replay', trace, '--target', server.address, '--time-scale', String(timeScale)]);
  } finally {
    await server.close();
  }
}

const counterexamples: { scenario: string; protocol: ServerProtocol; defect: string; finding: string; timeScale: number }[] = [
  { scenario: 'register-exit/spoofed-from.yaml', protocol: 'register-exit', defect: 'trust-sender-field', finding: 'invariant:sender-is-authentic', timeScale: 0.2 },
  { scenario: 'register-exit/exit-as-other.yaml', protocol: 'register-exit', defect: 'trust-exit-field', finding: 'invariant:exit-only-self', timeScale: 0.2 },
  { scenario: 'register-exit/duplicate-name.yaml', protocol: 'register-exit', defect: 'duplicate-name-replaces', finding: 'invariant:unique-names', timeScale: 0.2 },
  { scenario: 'offline-queue/spoofed-sender.yaml', protocol: 'offline-queue', defect: 'trust-sender-field', finding: 'invariant:identity-from-login', timeScale: 0.1 },
  { scenario: 'offline-queue/silent-death.yaml', protocol: 'offline-queue', defect: 'drop-on-dead-connection', finding: 'invariant:no-message-lost', timeScale: 0.1 },
  { scenario: 'ping-liveness/spoofed-session.yaml', protocol: 'ping-liveness', defect: 'trust-session-id', finding: 'invariant:session-bound-to-connection', timeScale: 0.1 },
  { scenario: 'ping-liveness/killed-client-no-ping.yaml', protocol: 'ping-liveness', defect: 'no-heartbeat-timeout', finding: 'invariant:lockout-ends-within-bound', timeScale: 0.05 },
  { scenario: 'ping-liveness/version-mismatch.yaml', protocol: 'ping-liveness', defect: 'silent-version-mismatch', finding: 'deadlock', timeScale: 0.05 },
];

describe('model counterexamples replayed against live servers', () => {
  for (const c of counterexamples) {
    it(`${c.scenario}: reproduces against --defect ${c.defect}, not against the reference server`, async () => {
      const trace = await counterexample(c.scenario);
      const bad = await replayAgainst(trace, c.protocol, c.timeScale, c.defect);
      expect(bad.code, bad.out).toBe(0);
      expect(bad.out).toMatch(/REPRODUCED: the live system shows the same failure/);
      expect(bad.out).toContain(`${c.finding}:`);
      const good = await replayAgainst(trace, c.protocol, c.timeScale);
      expect(good.code, good.out).toBe(1);
      expect(good.out).toContain(`NOT REPRODUCED: the live system does not show ${c.finding}`);
      // What happened instead: the live run's own account (its findings, or that the seed's server
      // model stopped explaining the live server, and where).
      expect(good.out).toMatch(/the live run \(\d+ events, time scale [\d.]+\): /);
    });
  }

  it('a non-loopback target, or --target with --adapter, is refused with exit 2', async () => {
    const trace = await counterexample('register-exit/spoofed-from.yaml');
    const remote = await cli(['replay', trace, '--target', 'tcp://10.0.0.1:9000']);
    expect(remote.code).toBe(2);
    expect(remote.err).toMatch(/only loopback addresses/);
    const both = await cli(['replay', trace, '--target', 'tcp://127.0.0.1:1', '--adapter', 'adapters/register-exit.yaml']);
    expect(both.code).toBe(2);
    expect(both.err).toMatch(/not both/);
  });
});
