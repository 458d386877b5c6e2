/**
 * The QUIC flags as a user gives them: `serve --transport quic` (with or without --cert/--key) and
 * `run ... --target quic://...`, in-process; bad input is a clear error with exit 2. One test spawns
 * the built binary, as a user would, and waits for its ready line.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startServer } from '../../src/servers/index.js';
import { cliIn } from '../support/cli.js';

const root = resolve(__dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'protosim-quic-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cli = cliIn(root);

describe.concurrent('bad QUIC input: exit 2 and what would be valid', () => {
  const cases: [string, string[], RegExp][] = [
    ['an unknown transport', ['serve', 'ping-liveness', '--transport', 'udp'], /--transport must be tcp or quic, got "udp"/],
    ['--cert without --key', ['serve', 'ping-liveness', '--transport', 'quic', '--cert', 'x.pem'], /--cert and --key go together/],
    ['--cert over TCP', ['serve', 'ping-liveness', '--cert', 'a', '--key', 'b'], /apply to --transport quic only/],
    ['a missing certificate file', ['serve', 'ping-liveness', '--transport', 'quic', '--cert', 'nowhere.pem', '--key', 'nowhere.key'], /--cert nowhere\.pem: cannot read it \(ENOENT\)/],
    ['QUIC for the HTTP key-value server', ['serve', 'kv', '--transport', 'quic'], /served over HTTP/],
    ['QUIC for a server without a JSON wire', ['serve', 'offline-queue', '--transport', 'quic'], /needs its JSON wire/],
    ['a non-loopback QUIC target', ['run', 'scenarios/conformance/ping-liveness/suite.yaml', '--target', 'quic://192.168.1.9:4433', '--no-progress'], /only loopback addresses/],
    ['an unknown quic:// parameter', ['run', 'scenarios/conformance/ping-liveness/suite.yaml', '--target', 'quic://127.0.0.1:4433?alpm=x', '--no-progress'], /unknown parameter "alpm"/],
  ];
  for (const [what, args, message] of cases) {
    it(what, async ({ expect }) => {
      const { code, err } = await cli(args);
      expect(code).toBe(2);
      expect(err).toMatch(message);
    });
  }

  it('a file that is not a PEM certificate', async ({ expect }) => {
    writeFileSync(join(dir, 'not.pem'), 'hello');
    const { code, err } = await cli(['serve', 'ping-liveness', '--transport', 'quic', '--cert', join(dir, 'not.pem'), '--key', join(dir, 'not.pem')]);
    expect(code).toBe(2);
    expect(err).toMatch(/not a PEM certificate/);
  });
});

describe('protosim run --target quic://', () => {
  it('runs the suite over QUIC and says where (cases selected with --case)', async () => {
    const server = await startServer('ping-liveness', { transport: 'quic', heartbeatTimeoutMs: 800 });
    try {
      const { code, out } = await cli(['run', 'scenarios/conformance/ping-liveness/suite.yaml', '--target', server.address, '--case', 'ping/login', '--case', 'ping/split-frames', '--no-progress']);
      expect(out).toMatch(new RegExp(`against ${server.address.replace(/[.]/g, '\\.')}: 2 passed`));
      expect(code).toBe(0);
    } finally {
      await server.close();
    }
  }, 30_000);
});

describe('a command target over QUIC (a target file with transport: quic)', () => {
  it('starts serve --transport quic itself, runs cases over QUIC and stops it', async () => {
    const file = join(dir, 'quic-target.yaml');
    writeFileSync(
      file,
      [
        'kind: target',
        'version: 1',
        "command: ['{protosim}', serve, ping-liveness, --transport, quic, --port, '{port}', --heartbeat-timeout-ms, '800']",
        'port: auto',
        "ready: { stdout: 'listening on (\\S+)' }",
        'transport: quic',
      ].join('\n'),
    );
    const { code, out } = await cli(['run', 'scenarios/conformance/ping-liveness/suite.yaml', '--target', file, '--case', 'ping/login', '--no-progress']);
    expect(out).toMatch(/against quic:\/\/127\.0\.0\.1:\d+ \(started: protosim serve ping-liveness --transport quic/);
    expect(code).toBe(0);
  }, 30_000);

  it('refuses transport: on an address, and a QUIC command without a ready pattern', async () => {
    const file = join(dir, 'bad-target.yaml');
    writeFileSync(file, "kind: target\nversion: 1\naddress: quic://127.0.0.1:4433\ntransport: quic\n");
    const bad = await cli(['run', 'scenarios/conformance/ping-liveness/suite.yaml', '--target', file, '--no-progress']);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/transport applies to a command target/);
    writeFileSync(file, "kind: target\nversion: 1\ncommand: [./server]\nport: 4433\ntransport: quic\n");
    const noReady = await cli(['run', 'scenarios/conformance/ping-liveness/suite.yaml', '--target', file, '--no-progress']);
    expect(noReady.code).toBe(2);
    expect(noReady.err).toMatch(/a UDP port cannot be probed/);
  });
});

describe('the built binary', () => {
  it('serve ping-liveness --transport quic prints a quic:// ready line and stops on SIGTERM', async () => {
    const child = spawn(process.execPath, [join(root, 'bin/protosim.js'), 'serve', 'ping-liveness', '--transport', 'quic', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
    const exited = new Promise<number | null>((resolveExit) => child.once('exit', (code) => resolveExit(code)));
    try {
      await expect.poll(() => out, { timeout: 15_000 }).toMatch(/^protosim ping-liveness listening on quic:\/\/127\.0\.0\.1:\d+$/m);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  }, 30_000);
});
