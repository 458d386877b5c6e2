/**
 * Client programs over QUIC with protosim as the server: the ping-liveness client suite, run as a
 * user runs it (`protosim run clients.yaml --adapter ...`, in-process), against the corpus's
 * independent quic-go client (corpus/ping-liveness-quic/client-go-a, whose adapter says
 * `transport: quic`): the suite's reference server is started with `--transport quic`, the client
 * gets its quic:// address, and a correct client gets no FAIL. A killed server over QUIC is silent
 * (no reset), so that case is a SKIP saying why, not a false FAIL. Bad combinations are exit 2.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAdapterFile } from '../../src/conformance/clients/adapter.js';
import { loadClientSuiteFile } from '../../src/conformance/clients/load-client-suite.js';
import { suiteServerCommand } from '../../src/conformance/clients/suite-server.js';
import type { SuiteReport } from '../../src/report/case-result.js';
import { GoPrograms, goMissing } from './go-programs.js';
import { cliIn, processesNaming } from '../support/cli.js';

const root = resolve(__dirname, '../..');
const suiteFile = 'scenarios/conformance/ping-liveness/clients.yaml';
const adapterFile = 'corpus/ping-liveness-quic/client-go-a/adapter.yaml';
const dir = mkdtempSync(join(tmpdir(), 'protosim-client-quic-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cli = cliIn(root);


const missing = goMissing();
const go = missing ? undefined : new GoPrograms();

describe.skipIf(missing !== '')(`the ping-liveness client suite over QUIC on the quic-go client${missing ? ` (skipped: ${missing})` : ''}`, () => {
  beforeAll(() => go!.build(['client-go-a']), 180_000);
  afterAll(() => go!.cleanup());

  it('starts the reference server with --transport quic and gives the client its quic:// address', () => {
    const command = suiteServerCommand(loadClientSuiteFile(join(root, suiteFile)), loadAdapterFile(join(root, adapterFile)));
    expect(command?.slice(0, 3)).toEqual(['{protosim}', 'serve', 'ping-liveness']);
    expect(command?.slice(-2)).toEqual(['--transport', 'quic']);
  });

  it('no false FAIL: every case passes but the killed server (silent over QUIC: SKIP, saying why)', async () => {
    const report = join(dir, 'report.json');
    const bin = join(go!.dir, 'client-go-a');
    const { code, out, err } = await cli(['run', suiteFile, '--adapter', adapterFile, '--var', `bin=${bin}`, '--report', `json=${report}`, '--no-progress', '--no-color']);
    expect(err).not.toMatch(/Error:|at .*\.ts:/);
    const r = JSON.parse(readFileSync(report, 'utf8')) as SuiteReport;
    const verdicts = Object.fromEntries(r.cases.map((c) => [c.id.replace('ping-liveness/system/', ''), c.verdict]));
    expect(verdicts, out).toEqual({
      echo: 'PASS',
      'split-echo': 'PASS',
      'pings-keep-the-session': 'PASS',
      'double-login': 'PASS',
      'killed-client-lockout-ends': 'PASS',
      'quit-frees-user': 'PASS',
      'server-killed': 'SKIP',
    });
    expect(code).toBe(0);
    expect(r.cases.find((c) => c.id.endsWith('server-killed'))!.reason).toMatch(/over QUIC a killed server sends nothing .* gives no leaseMs/);
    expect(out).toMatch(/SKIP {2}ping-liveness\/system\/server-killed .*\n {8}over QUIC a killed server sends nothing/);
    // Something real went over QUIC (the client speaks nothing else, and a server whose ready line is
    // not a quic:// address is an ERROR): the server's echo, its refusal of a second login.
    const echo = r.cases.find((c) => c.id.endsWith('/echo'))!;
    expect(echo.trace).toContainEqual(expect.objectContaining({ k: 'print', node: 'c1', kind: 'message', text: 'hello, echo' }));
    expect(echo.trace).toContainEqual(expect.objectContaining({ k: 'start', node: 'server', role: 'server' }));
    const refused = r.cases.find((c) => c.id.endsWith('/double-login'))!;
    expect(refused.trace).toContainEqual(expect.objectContaining({ k: 'print', node: 'c1b', text: 'user1 is already logged in elsewhere' }));
    // Every process of the run (servers, clients) is gone.
    expect(processesNaming(bin)).toEqual([]);
  }, 90_000);
});

describe.concurrent('client programs over QUIC: bad combinations are exit 2, naming the field', () => {
  const adapter = (name: string, protocol: string, extra = ''): string => {
    const file = join(dir, `${name}.yaml`);
    writeFileSync(file, `kind: adapter\nversion: 1\nadapter: ${name}\nprotocol: ${protocol}\ntransport: quic\ncommand: ["true"]\npatterns: {}\n${extra}`);
    return file;
  };
  const suite = (name: string, server: string): string => {
    const file = join(dir, `${name}.yaml`);
    writeFileSync(file, readFileSync(join(root, suiteFile), 'utf8').replace(/^adapter: .*$/m, `adapter: ${join(root, adapterFile)}`).replace(/^ {2}command: .*$/m, `  command: ${server}`));
    return file;
  };

  it('QUIC for a key-value protocol (HTTP): the adapter file, line and field', async ({ expect }) => {
    const file = adapter('kv-quic', 'lock-alternation');
    const { code, err } = await cli(['run', 'scenarios/conformance/lock-alternation/clients.yaml', '--adapter', file, '--no-progress']);
    expect(code).toBe(2);
    expect(err).toMatch(/kv-quic\.yaml:5:\d+: transport: expected tcp: lock-alternation clients speak the IM interface over HTTP, .*\(ping-liveness, register-exit\)/);
    expect(err).not.toMatch(/\n\s+at /);
  });

  it('QUIC for a protocol whose wire is not JSON (offline-queue: protobuf)', async ({ expect }) => {
    const file = adapter('oq-quic', 'offline-queue');
    const { code, err } = await cli(['run', 'scenarios/conformance/offline-queue/clients.yaml', '--adapter', file, '--no-progress']);
    expect(code).toBe(2);
    expect(err).toMatch(/oq-quic\.yaml:5:\d+: transport: expected tcp: offline-queue's wire is protobuf/);
  });

  it('a suite whose server command is not protosim\'s reference server', async ({ expect }) => {
    const file = suite('own-server', `['node', 'my-server.js', '--port', '{port}']`);
    const { code, err } = await cli(['run', file, '--no-progress']);
    expect(code).toBe(2);
    expect(err).toMatch(/transport: quic: protosim can start only its own reference server over QUIC, and .*own-server\.yaml: server\.command is "node my-server\.js --port \{port\}"/);
    expect(err).not.toMatch(/\n\s+at /);
  });

  it('a reference server already told --transport tcp', async ({ expect }) => {
    const file = suite('tcp-server', `['{protosim}', serve, ping-liveness, --port, '{port}', --transport, tcp]`);
    const { code, err } = await cli(['run', file, '--no-progress']);
    expect(code).toBe(2);
    expect(err).toMatch(/already says --transport tcp; expected no --transport \(protosim adds --transport quic\) or --transport quic/);
  });

  it('the corpus client\'s adapter loads (its default program is the manifest\'s build output)', ({ expect }) => {
    const a = loadAdapterFile(join(root, adapterFile));
    expect(a.spec.transport).toBe('quic');
    expect(existsSync(join(root, 'corpus/ping-liveness-quic/client-go-a/impl.json'))).toBe(true);
  });
});
