/**
 * `protosim replay <trace> --target ...`: counterexamples of the faithful models that concern the
 * server reproduce against the reference server started with the matching defect (exit 0), and do
 * not against the reference server without it (exit 1, saying what happened instead).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startServer, type ServerProtocol } from '../../src/servers/index.js';
import { cli, serverOptionsFor } from './live-fixture.js';

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

  it('a target file starts the server itself: reproduces against the defect, not against the reference server', async () => {
    const trace = await counterexample('register-exit/spoofed-from.yaml');
    const targetFile = (defect: string[]): string => {
      const file = join(dir, `target-${defect.join('-').replace(/\W+/g, '') || 'reference'}.yaml`);
      const command = ['{protosim}', 'serve', 'register-exit', '--port', '{port}', ...defect].map((a) => JSON.stringify(a)).join(', ');
      writeFileSync(file, `command: [${command}]\nport: auto\nready: { stdout: 'listening on (\\S+)' }\n`);
      return file;
    };
    const bad = await cli(['replay', trace, '--target', targetFile(['--defect', 'trust-sender-field']), '--time-scale', '0.2']);
    expect(bad.code, bad.out + bad.err).toBe(0);
    expect(bad.out).toMatch(/against tcp:\/\/127\.0\.0\.1:\d+ \(started: protosim serve register-exit --port \d+ --defect trust-sender-field\)/);
    expect(bad.out).toMatch(/REPRODUCED: the live system shows the same failure/);
    const good = await cli(['replay', trace, '--target', targetFile([]), '--time-scale', '0.2']);
    expect(good.code, good.out + good.err).toBe(1);
    expect(good.out).toContain('NOT REPRODUCED: the live system does not show invariant:sender-is-authentic');
    // A counterexample in which the server itself dies needs a server protosim owns: with a target
    // file it replays too (against an address, protosim could not tell a crash from a closed port).
    const crash = await counterexample('register-exit/killed-client-kills-server.yaml');
    const crashing = await cli(['replay', crash, '--target', targetFile(['--defect', 'crash-on-disconnect']), '--time-scale', '0.2']);
    expect(crashing.code, crashing.out + crashing.err).toBe(0);
    expect(crashing.out).toContain('invariant:server-survives-clients: ');
    expect(crashing.out).toMatch(/the live server process exited with code \d+/);
    const surviving = await cli(['replay', crash, '--target', targetFile([]), '--time-scale', '0.2']);
    expect(surviving.code, surviving.out + surviving.err).toBe(1);
    expect(surviving.out).toContain('NOT REPRODUCED: the live system does not show invariant:server-survives-clients');
  });

  it('a bad target file is refused with its file, line and column, exit 2', async () => {
    const trace = await counterexample('register-exit/spoofed-from.yaml');
    const typo = join(dir, 'typo.yaml');
    writeFileSync(typo, 'command: [node, server.js]\nport: auto\ncodc: gob\n');
    const r1 = await cli(['replay', trace, '--target', typo]);
    expect(r1.code).toBe(2);
    expect(r1.err).toContain(`${typo}:3:1: codc: unknown field "codc"`);
    expect(r1.err).toContain('did you mean "codec"?');
    const missing = await cli(['replay', trace, '--target', join(dir, 'nowhere.yaml')]);
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/--target: expected an address \(tcp:\/\/127\.0\.0\.1:PORT\) or a target file .*nowhere\.yaml" is neither/);
    const noScheme = await cli(['replay', trace, '--target', '127.0.0.1:9000']);
    expect(noScheme.code).toBe(2);
    expect(noScheme.err).toMatch(/--target: expected an address \(tcp:\/\/127\.0\.0\.1:PORT\)/);
    const badPattern = join(dir, 'bad-pattern.yaml');
    writeFileSync(badPattern, "command: [node, server.js]\nport: auto\nready: { stdout: '(' }\n");
    const r3 = await cli(['replay', trace, '--target', badPattern]);
    expect(r3.code, r3.err).toBe(2);
    expect(r3.err).toMatch(/bad-pattern\.yaml:3:\d+: ready\.stdout: not a valid regular expression/);
    expect(r3.err).not.toMatch(/internal error|at .*\.js:\d+/);
    const wrongScheme = join(dir, 'wrong-scheme.yaml');
    writeFileSync(wrongScheme, 'address: http://127.0.0.1:9000/\n');
    const r4 = await cli(['replay', trace, '--target', wrongScheme]);
    expect(r4.code).toBe(2);
    expect(r4.err).toMatch(/wrong-scheme\.yaml:1:10: address: register-exit targets are tcp:\/\/ addresses/);
    const remote = join(dir, 'remote.yaml');
    writeFileSync(remote, 'address: tcp://10.0.0.1:9000\n');
    const r2 = await cli(['replay', trace, '--target', remote]);
    expect(r2.code).toBe(2);
    expect(r2.err).toMatch(/remote\.yaml:1:10: address: only loopback addresses/);
  });

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
