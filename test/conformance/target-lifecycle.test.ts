/**
 * Targets as people write them, and verdicts that say what happened (issue 14, items 1-3): a target
 * that never becomes ready ends the run with ERROR and exit 3 and leaves nothing; stdin stays open
 * and a console line can stop a target; readiness is seen without a connection unless asked, and a
 * probe that kills a target says so; ready lines without a scheme or ending in \r are read; no case
 * passes without an exchange with the target; an address target that goes away turns the rest into
 * "unreachable since case X"; a crash after a case ended is charged to that case; SIGTERM, SIGINT
 * and SIGKILL to `protosim run` leave no process of the target.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/program.js';
import { ManagedProcess, portListening, readyAddress } from '../../src/conformance/managed-process.js';
import { startReferenceServer } from '../../src/conformance/clients/reference-server.js';
import { runSuite } from '../../src/conformance/run-suite.js';
import { hostileTarget, repoRoot, shippedSuite, withTarget } from './suite-fixture.js';
import { leftAfter, markedPids } from './process-fixture.js';

const hostile = fileURLToPath(new URL('../fixtures/hostile/hostile-server.mjs', import.meta.url));
const spawner = fileURLToPath(new URL('../fixtures/lifecycle/spawner.sh', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'protosim-lifecycle-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const linux = process.platform === 'linux';

/** A port nothing listens on. */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

function hostileProcess(mode: string, extra: Record<string, unknown> = {}): ManagedProcess {
  return new ManagedProcess({ command: [process.execPath, hostile, mode, '{port}'], port: 'auto', ready: { stdout: 'listening on (\\S+)' }, startTimeoutMs: 5000, scheme: 'tcp', ...extra });
}

describe('a target that never becomes ready', () => {
  it('a suite of several cases ends (ERROR, exit 3) and leaves no process, wrapper script or not', async () => {
    const marker = randomBytes(6).toString('hex');
    const file = join(dir, 'never.yaml');
    writeFileSync(file, `command: [/bin/sh, ${spawner}, '{port}', never-ready]\nport: auto\nready: { stdout: 'listening on (\\S+)' }\nstartTimeoutMs: 500\nenv: { LIFECYCLE_MARKER: ${marker}, NODE: ${process.execPath} }\n`);
    let err = '';
    const code = await runCli(['run', 'scenarios/conformance/ping-liveness/suite.yaml', '--target', file, '--case', 'ping/login,ping/chat-echo,ping/version-agreed', '--no-progress'], { stdout: () => undefined, stderr: (s) => (err += s), cwd: repoRoot });
    expect(code, err).toBe(3);
    expect(err).toMatch(/not ready within startTimeoutMs=500/);
    expect(await leftAfter(marker)).toEqual([]);
  });

  it('a ready line without a scheme, or ending in \\r, names the address all the same', async () => {
    expect(readyAddress('127.0.0.1:9000', 'tcp')).toBe('tcp://127.0.0.1:9000');
    expect(readyAddress('0.0.0.0:9000', 'tcp')).toBe('tcp://127.0.0.1:9000');
    expect(readyAddress('[::]:9000', 'tcp')).toBe('tcp://127.0.0.1:9000');
    expect(readyAddress(':8112/IMserver.php', 'http')).toBe('http://127.0.0.1:8112/IMserver.php');
    expect(readyAddress('9000', 'tcp')).toBe('tcp://127.0.0.1:9000');
    expect(readyAddress('example.com:80', 'tcp')).toMatchObject({ problem: expect.stringMatching(/only loopback/) });
    for (const eol of ['cr', 'crlf']) {
      const p = hostileProcess('silent', { env: { HOSTILE_READY: 'bare', HOSTILE_EOL: eol }, ready: { stdout: 'listening on (\\S+)$' } });
      expect(await p.start()).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
      await p.stop();
    }
  });
});

describe('targets as people write them', () => {
  it('stdin is open by default (a server reading its console keeps running), closed on request; shutdown by a console line', async () => {
    const open = hostileProcess('console', { shutdown: { console: 'quit' } });
    await open.start();
    await new Promise((r) => setTimeout(r, 200)); // a quiet window: with stdin closed it would exit (code 3) within it
    expect(open.running).toBe(true);
    await open.stop();
    expect(open.exit).toMatchObject({ code: 0, signal: null });
    expect(open.tails()).toMatch(/bye/);
    const closed = hostileProcess('console', { stdin: 'closed', ready: { probe: 'connect' } });
    await expect(closed.start()).rejects.toThrow(/exit code 3/);
  });

  it.runIf(linux)('readiness by the port listening is seen in /proc/net/tcp without a connection; a fixed port in use is named', async () => {
    // crash-on-connect dies at the first connection: seen listening, it is ready and alive.
    const quiet = new ManagedProcess({ command: [process.execPath, hostile, 'crash-on-connect', '{port}'], port: 'auto', startTimeoutMs: 5000, scheme: 'tcp' });
    const address = await quiet.start();
    expect(quiet.readiness).toMatch(/seen listening/);
    await new Promise((r) => setTimeout(r, 200)); // a quiet window: no readiness probe connected, so it must not crash
    expect(quiet.running).toBe(true);
    const port = Number(new URL(address).port);
    expect(portListening(port)).toBe(true);
    // The same port, fixed, for a second target: in use.
    const fixed = new ManagedProcess({ command: [process.execPath, hostile, 'silent', String(port)], port, startTimeoutMs: 2000, scheme: 'tcp' });
    await expect(fixed.start()).rejects.toThrow(new RegExp(`port ${port} is already in use`));
    await quiet.stop();
    // ...and free again: a fixed port with no ready line is ready when it listens.
    const again = new ManagedProcess({ command: [process.execPath, hostile, 'silent', String(port)], port, startTimeoutMs: 5000, scheme: 'tcp' });
    expect(await again.start()).toBe(`tcp://127.0.0.1:${port}`);
    await again.stop();
  });

  it.runIf(linux)('a restart waits for the last run\'s socket to go: readiness is the new run\'s, not a listener left on the port', async () => {
    // A killed PID namespace dies asynchronously: its listening socket outlives kill() by some
    // milliseconds (8-36 ms for PHP's server with workers). Here the test holds the port itself
    // for 400 ms after the kill, as such a socket would, a little longer.
    const p = new ManagedProcess({ command: [process.execPath, hostile, 'silent', '{port}'], port: 'auto', startTimeoutMs: 5000, scheme: 'tcp' });
    try {
      const port = Number(new URL(await p.start()).port);
      await p.kill();
      while (portListening(port) === true) await new Promise((r) => setTimeout(r, 5));
      const lingering = createServer();
      await new Promise<void>((r) => lingering.listen(port, '127.0.0.1', r));
      const released = new Promise<number>((r) => setTimeout(() => lingering.close(() => r(performance.now())), 400));
      await p.start();
      const ready = performance.now();
      const releasedAt = await released;
      await new Promise((r) => setTimeout(r, 300));
      // seen ready only once the lingering socket was gone, and the new run holds the port
      expect({ readyAfterRelease: ready >= releasedAt, running: p.running, listening: portListening(port) }, p.tails()).toEqual({ readyAfterRelease: true, running: true, listening: true });
    } finally {
      await p.stop();
    }
  });

  it('a readiness probe that connects (when asked) and kills the target is named as the cause', async () => {
    const p = new ManagedProcess({ command: [process.execPath, hostile, 'crash-on-connect', '{port}'], port: 'auto', ready: { probe: 'connect' }, startTimeoutMs: 5000, scheme: 'tcp' });
    await expect(p.start()).rejects.toThrow(/exited right after the readiness probe connected to it .*exit code 70/);
  });
});

describe('verdicts that say what happened', () => {
  it('kv/slow-network against a port where nothing listens does not pass: ERROR unreachable, exit 3', async () => {
    const port = await deadPort();
    let out = '';
    let err = '';
    const code = await runCli(['run', 'scenarios/conformance/kv/suite.yaml', '--case', 'kv/slow-network', '--target', `http://127.0.0.1:${port}`, '--no-progress'], { stdout: (s) => (out += s), stderr: (s) => (err += s), cwd: repoRoot });
    expect(out).not.toMatch(/PASS/);
    expect(out).toMatch(/ERROR kv\/slow-network/);
    expect(out).toMatch(/unreachable/);
    expect(code, out + err).toBe(3);
  });

  it('an address target that goes away: the case that met it gone is ERROR unreachable, the rest "unreachable since case X"; exit 3', async () => {
    const server = await startReferenceServer('ping-liveness', undefined, ['--heartbeat-timeout-ms', '800']);
    const suite = shippedSuite('ping-liveness');
    const ids = ['ping/version-agreed', 'ping/login', 'ping/chat-echo', 'ping/logout-frees-user'];
    const run = await runSuite(suite, {
      target: server.address!,
      caseIds: ids,
      onCase: (r) => {
        if (r.id !== 'ping/version-agreed') return;
        // Gone before the next case starts.
        void server.kill();
        const port = Number(new URL(server.address!).port);
        const nap = new Int32Array(new SharedArrayBuffer(4));
        for (let i = 0; i < 200 && portListening(port) !== false; i++) Atomics.wait(nap, 0, 0, 10);
      },
    });
    const [first, second, third, fourth] = run.report.cases;
    expect(first!.verdict).toBe('PASS');
    expect(second!.verdict).toBe('ERROR');
    expect(second!.reason).toMatch(/unreachable/);
    expect(third!.reason).toMatch(/^not run: the target is unreachable since case ping\/login/);
    expect(fourth!.reason).toMatch(/unreachable since case ping\/login/);
    expect(run.unreachable).toBe(true);
  });

  it('a target that dies after a case ended is charged to that case, not the next', async () => {
    // (a reply timeout with room for a loaded machine: the property is where the crash is charged)
    const run = await runSuite(withTarget(shippedSuite('ping-liveness'), hostileTarget('crash-after-close')), { caseIds: ['ping/version-agreed', 'ping/login'], replyTimeoutMs: 3000 });
    const [first, second] = run.report.cases;
    expect(first!.reason).toMatch(/the target crashed (after case ping\/version-agreed ended|when the case's clients disconnected) \(exit code 70\)/);
    // the second case runs on a fresh start: the first case's crash is never charged to it (its own
    // crash, after it ended in turn, may be)
    expect(second!.reason).not.toMatch(/version-agreed/);
  });
});

describe.runIf(linux)('signals to protosim run', () => {
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGKILL'] as const) {
    it(`${signal} to protosim run leaves no process of the target (double fork and setsid included)`, async () => {
      const marker = randomBytes(6).toString('hex');
      const file = join(dir, `silent-${signal}.yaml`);
      writeFileSync(file, `command: [/bin/sh, ${spawner}, '{port}', silent]\nport: auto\nready: { stdout: 'listening on (\\S+)' }\nenv: { LIFECYCLE_MARKER: ${marker}, NODE: ${process.execPath} }\n`);
      const child = spawn(process.execPath, ['bin/protosim.js', 'run', 'scenarios/conformance/ping-liveness/suite.yaml', '--target', file, '--no-progress'], { cwd: repoRoot, stdio: 'ignore' });
      const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
      // the script, the server, the double fork, the setsid daemon, the background child
      await expect.poll(() => markedPids(marker).length, { timeout: 20_000, interval: 100 }).toBeGreaterThanOrEqual(5);
      child.kill(signal);
      await exited;
      expect(await leftAfter(marker, 5000)).toEqual([]);
    }, 40_000);
  }
});
