import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/program.js';
import { defectsFor } from '../../src/servers/index.js';
import { encodeGobMessage, GobDecoder } from './protocol-wire.js';
import { httpGet, kvQuery } from './http-client.js';
import { within } from './server-fixture.js';

function capture(): { io: { stdout(s: string): void; stderr(s: string): void }; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return { io: { stdout: (s) => (out += s), stderr: (s) => (err += s) }, out: () => out, err: () => err };
}

describe('protosim serve (in-process)', () => {
  it('--list-defects lists every defect as "name - description", one per line', async () => {
    const c = capture();
    expect(await runCli(['serve', '--list-defects'], c.io)).toBe(0);
    const lines = c.out().trimEnd().split('\n');
    expect(lines).toHaveLength(defectsFor().length);
    expect(lines.map((l) => l.split(' - ')[0])).toEqual(defectsFor().map((d) => d.name));
  });

  it('<protocol> --list-defects lists only that protocol', async () => {
    const c = capture();
    expect(await runCli(['serve', 'register-exit', '--list-defects'], c.io)).toBe(0);
    expect(c.out()).toBe(
      defectsFor('register-exit').map((d) => `${d.name} - ${d.description}`).join('\n') + '\n',
    );
    expect(c.out()).toMatch(/^trust-sender-field - /);
  });

  it.each([
    [['serve', 'chat', '--port', '0'], /unknown protocol "chat"; servers exist for: kv, ping-liveness, register-exit, offline-queue/],
    [['serve', 'kv', '--defect', 'nope'], /unknown defect "nope" for kv; valid defects: nonatomic-kv, no-trailing-newline, shared-stores/],
    [['serve', 'kv', '--host', '0.0.0.0'], /not a loopback address/],
    [['serve', 'kv', '--port', '70000'], /--port must be an integer 0\.\.65535/],
    [['serve', 'kv', '--framing', 'raw'], /--framing applies to offline-queue only/],
    [['serve', 'offline-queue', '--framing', 'xml'], /--framing must be length-delimited or raw/],
    [['serve'], /serve needs a protocol/],
  ])('refuses %j with exit 2 and a clear error', async (argv, message) => {
    const c = capture();
    expect(await runCli(argv, c.io)).toBe(2);
    expect(c.err()).toMatch(message);
  });
});

describe('protosim serve (end to end, the built binary)', () => {
  it('prints the ready line, serves, logs connections, and exits 0 on SIGTERM', async () => {
    const bin = fileURLToPath(new URL('../../bin/protosim.js', import.meta.url));
    const child = spawn(process.execPath, [bin, 'serve', 'kv', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const ready = await new Promise<string>((resolve, reject) => {
        const lines = createInterface({ input: child.stdout });
        lines.once('line', resolve);
        child.once('exit', (code) => reject(new Error(`exited ${code} before ready: ${stderr}`)));
        setTimeout(() => reject(new Error('no ready line within 10 s')), 10_000).unref();
      });
      const match = /^protosim kv listening on (http:\/\/127\.0\.0\.1:(\d+))$/.exec(ready);
      expect(match).not.toBeNull();
      const address = match![1]!;
      expect((await httpGet(address, kvQuery({ action: 'set', key: 'k', value: 'v' }))).body).toBe('\n');
      expect((await httpGet(address, kvQuery({ action: 'get', key: 'k' }))).body).toBe('v\n');
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(stderr).toMatch(/kv: connection #1 from 127\.0\.0\.1:\d+/);
      expect(stderr).toMatch(/SIGTERM received, shutting down/);
    } finally {
      child.kill('SIGKILL');
    }
  });
});

/** Spawns the built binary and resolves with the ready line's port. */
async function spawnServe(
  args: string[],
): Promise<{ child: ChildProcessByStdio<null, Readable, Readable>; port: number; exited: Promise<number | null>; stderr: () => string; logged: (pattern: RegExp) => Promise<void> }> {
  const bin = fileURLToPath(new URL('../../bin/protosim.js', import.meta.url));
  const child = spawn(process.execPath, [bin, 'serve', ...args, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const ready = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`exited ${code} before ready: ${stderr}`)));
    setTimeout(() => reject(new Error('no ready line within 10 s')), 10_000).unref();
  });
  const match = /^protosim \S+ listening on tcp:\/\/127\.0\.0\.1:(\d+)$/.exec(ready);
  if (match === null) throw new Error(`unexpected ready line ${ready}`);
  /** Resolves once the server's log (stderr) matches `pattern`: what it did, told by itself. */
  const logged = (pattern: RegExp): Promise<void> =>
    within(
      new Promise<void>((resolve) => {
        const check = (): void => void (pattern.test(stderr) && resolve());
        child.stderr.on('data', check);
        check();
      }),
      10_000,
      `the server to log ${pattern}; it logged: ${stderr}`,
    );
  return { child, port: Number(match[1]), exited, stderr: () => stderr, logged };
}

/** Reads JSON lines from `socket` until one matches `test`. */
function lineFrom(socket: import('node:net').Socket, test: (m: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
  const lines = createInterface({ input: socket });
  return within(
    new Promise((resolve) =>
      lines.on('line', (l) => {
        const m = JSON.parse(l) as Record<string, unknown>;
        if (test(m)) resolve(m);
      }),
    ),
    10_000,
    'a reply from the server',
  );
}

describe('protosim serve register-exit (end to end)', () => {
  it('broadcasts Exit in gob to every client on SIGTERM, then exits 0', async () => {
    const { child, port, exited, logged } = await spawnServe(['register-exit', '--codec', 'gob']);
    try {
      const decoder = new GobDecoder(1 << 16);
      const received: unknown[] = [];
      const socket = connect(port, '127.0.0.1');
      socket.on('data', (d: Buffer) => received.push(...decoder.push(d)));
      await new Promise((r) => socket.once('connect', r));
      socket.write(encodeGobMessage({ From: 'alice', Register: true }));
      await logged(/register-exit: connection #1 from/); // the server has the connection: it is told Exit
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(received).toEqual([{ kind: 'message', message: { To: '', From: '', Content: '', Register: false, Exit: true } }]);
      socket.destroy();
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('defect crash-on-disconnect: the process dies (exit 70) when a client vanishes', async () => {
    const { child, port, exited, stderr } = await spawnServe(['register-exit', '--defect', 'crash-on-disconnect']);
    try {
      const socket = connect(port, '127.0.0.1');
      await new Promise((r) => socket.once('connect', r));
      // bob is registered once the server answered what he sent next (requests are served in order)
      const answered = lineFrom(socket, (m) => m['From'] === 'Error');
      socket.write(JSON.stringify({ From: 'bob', Register: true }) + '\n' + JSON.stringify({ To: 'nobody', Content: 'x' }) + '\n');
      expect(await answered).toMatchObject({ Content: 'That user is not connected to this server' });
      socket.resetAndDestroy();
      expect(await exited).toBe(70);
      expect(stderr()).toMatch(/server died: connection #1 \(bob\) vanished without Exit/);
    } finally {
      child.kill('SIGKILL');
    }
  });
});

describe('defect coverage', () => {
  it('every defect in the catalogue has a test named "defect <name>: ..." in test/servers', () => {
    const dir = fileURLToPath(new URL('.', import.meta.url));
    const sources = readdirSync(dir).filter((f) => f.endsWith('.test.ts')).map((f) => readFileSync(`${dir}/${f}`, 'utf8')).join('\n');
    const missing = defectsFor().filter((d) => !sources.includes(`defect ${d.name}:`)).map((d) => d.name);
    expect(missing).toEqual([]);
  });
});
