/**
 * `protosim explore <protocol> --target` against protosim's reference servers (a target file: a
 * fresh `protosim serve` per schedule): a correct server shows nothing in every order of a small
 * bound and in PCT schedules; order-dependent defects are found, and the failing schedule's
 * `--choices` repeats the failure while another order of the same workload passes; bad input exits
 * 2 with a clear message. Over QUIC (quic:// targets) the same, through the QUIC message proxy.
 * Every server started is stopped (no process with the test's marker is left).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { runCli } from '../../src/cli/program.js';
import { ManagedProcess } from '../../src/conformance/managed-process.js';
import { startServer, type ServerHandle } from '../../src/servers/index.js';

const root = resolve(__dirname, '../..');
const marker = `explore-target-${process.pid}-${Date.now()}`;
let work: string;

async function cli(args: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const code = await runCli(['explore', ...args, '--no-progress'], { stdout: (s) => (out += s), stderr: (s) => (out += s), cwd: root });
  return { code, out };
}

/** A target file starting `protosim serve <protocol> [args]` on a free port, marked with this test's environment. */
function targetFile(name: string, protocol: string, args: string[] = [], transport: 'tcp' | 'quic' = 'tcp'): string {
  const file = join(work, `${name}.yaml`);
  const serve = transport === 'quic' ? ['serve', protocol, '--transport', 'quic'] : ['serve', protocol];
  const spec = { command: ['{protosim}', ...serve, '--port', '{port}', ...args], port: 'auto', ...(transport === 'quic' ? { transport } : {}), ready: { stdout: 'listening on (\\S+)' }, env: { PROTOSIM_TEST_MARK: marker } };
  writeFileSync(file, YAML.stringify(spec));
  return file;
}

/** A suite file with one case, for a workload spelled out. */
function suiteFile(name: string, protocol: string, steps: unknown[]): string {
  const file = join(work, `${name}.yaml`);
  writeFileSync(file, YAML.stringify({ kind: 'suite', version: 1, suite: `explore/${name}`, title: name, protocol, cases: [{ id: name, title: name, steps }] }));
  return file;
}

/** Processes whose environment carries this test's marker (servers left behind). */
function markedProcesses(): string[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/environ`, 'utf8').includes(marker);
      } catch {
        return false;
      }
    });
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'protosim-explore-target-'));
});
afterAll(() => {
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
});

describe('protosim explore --target: bad input (exit 2)', () => {
  it('refuses kv, a non-loopback address, an unknown protocol, --case without --suite, and both --adapter and --target', async () => {
    const kv = await cli(['kv', '--target', 'http://127.0.0.1:1/IMserver.php']);
    expect(kv.code).toBe(2);
    expect(kv.out).toMatch(/not for kv yet/);
    const far = await cli(['register-exit', '--target', 'tcp://10.1.2.3:9000']);
    expect(far.code).toBe(2);
    expect(far.out).toMatch(/only loopback addresses/);
    const unknown = await cli(['no-such-protocol', '--target', 'tcp://127.0.0.1:1']);
    expect(unknown.code).toBe(2);
    expect(unknown.out).toMatch(/expected a protocol a server speaks \(.*register-exit.*\), got "no-such-protocol"/);
    const lonelyCase = await cli(['register-exit', '--target', 'tcp://127.0.0.1:1', '--case', 'x']);
    expect(lonelyCase.code).toBe(2);
    expect(lonelyCase.out).toMatch(/--case needs --suite/);
    const both = await cli(['register-exit', '--target', 'tcp://127.0.0.1:1', '--adapter', 'adapters/x.yaml']);
    expect(both.code).toBe(2);
  });
});

/** offline-queue: x makes an account, logs in and deletes it; b sends to x meanwhile. */
const deletedMeanwhile = [
  { connect: ['b', 'x'] },
  { send: 'b', msg: { opcode: 1, msg: 'b${run}' } },
  { send: 'b', msg: { opcode: 2, msg: 'b${run}' } },
  { send: 'b', msg: { opcode: 3, receiver: 'x${run}', msg: 'hi' } },
  { send: 'x', msg: { opcode: 1, msg: 'x${run}' } },
  { send: 'x', msg: { opcode: 2, msg: 'x${run}' } },
  { send: 'x', msg: { opcode: 5 } },
  { expect: 'model' },
];

/** register-exit: a and b register, b writes to a (who may have been killed by then). */
const writeToA = [
  { connect: ['a', 'b'] },
  { send: 'a', msg: { From: 'a${run}', Register: true } },
  { send: 'b', msg: { From: 'b${run}', Register: true } },
  { send: 'b', msg: { From: 'b${run}', To: 'a${run}', Content: 'hi' } },
  { expect: 'model' },
];

describe('protosim explore --target: correct reference servers show nothing', () => {
  let server: ManagedProcess;
  let address: string;
  beforeAll(async () => {
    server = new ManagedProcess({ command: ['{protosim}', 'serve', 'offline-queue', '--port', '{port}'], port: 'auto', ready: { stdout: 'listening on (\\S+)' }, startTimeoutMs: 15_000, scheme: 'tcp', env: { PROTOSIM_TEST_MARK: marker } });
    address = await server.start();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('register-exit (a fresh server per schedule): every order of a generated workload within 4 steps', async () => {
    const r = await cli(['register-exit', '--target', targetFile('re-correct', 'register-exit'), '--strategy', 'exhaustive', '--steps', '4', '--seed', '1']);
    expect(r.out).toMatch(/schedules tried: 6 \(every order within the bound\)/);
    expect(r.out).toMatch(/nothing found/);
    expect(r.code).toBe(0);
  }, 60_000);

  it('offline-queue (an address): every one of the 20 orders of a case, and 10 PCT schedules of a generated workload with a kill', async () => {
    const suite = suiteFile('oq-deleted', 'offline-queue', deletedMeanwhile);
    const every = await cli(['offline-queue', '--target', address, '--suite', suite, '--case', 'oq-deleted', '--strategy', 'exhaustive', '--steps', '6']);
    expect(every.out).toMatch(/schedules tried: 20 \(every order within the bound\)/);
    expect(every.out).toMatch(/nothing found/);
    expect(every.code).toBe(0);
    const pct = await cli(['offline-queue', '--target', address, '--seed', '3', '--schedules', '10', '--steps', '6', '--kills', '1']);
    expect(pct.out).toMatch(/schedules tried: 10 in/);
    expect(pct.out).toMatch(/PCT's bound: a depth-2 bug shows in one schedule with probability at least 1\/\(n·k\^\(d-1\)\) = 8\.3 %; missed in all 10: at most 41\.9 %/);
    expect(pct.out).toMatch(/nothing found/);
    expect(pct.code).toBe(0);
  }, 60_000);
});

describe('protosim explore --target: order-dependent defects are found, and --choices repeats them', () => {
  it('offline-queue --defect deliver-to-deleted: found when b writes after x deleted its account (b is told it was sent); the replay fails again, another order passes', async () => {
    const suite = suiteFile('oq-deleted-defect', 'offline-queue', deletedMeanwhile);
    const target = targetFile('oq-deliver-to-deleted', 'offline-queue', ['--defect', 'deliver-to-deleted']);
    const found = await cli(['offline-queue', '--target', target, '--suite', suite, '--case', 'oq-deleted-defect', '--strategy', 'exhaustive', '--steps', '6']);
    // every order in which b writes after x deleted its account: the first is the 4th tried
    expect(found.out).toMatch(/first failing schedule \(schedule 4, choices 0\.0\.1\.1\.1\.0\): b got what the offline-queue \(fixed\) server model does not send: opcode: expected 5, got 3/);
    expect(found.out).toMatch(/5\. x \{"opcode":5\}/);
    expect(found.code).toBe(1);
    const choices = /--choices (\S+)/.exec(found.out)![1]!;
    expect(choices.split('.').length).toBe(6);
    const again = await cli(['offline-queue', '--target', target, '--suite', suite, '--case', 'oq-deleted-defect', '--steps', '6', '--choices', choices]);
    expect(again.out).toMatch(/FAILED at schedule 1/);
    expect(again.out).toMatch(/b got what the offline-queue \(fixed\) server model does not send: opcode: expected 5, got 3/);
    expect(again.code).toBe(1);
    // b first, all of it: b writes to x before x exists (refused by both servers)
    const other = await cli(['offline-queue', '--target', target, '--suite', suite, '--case', 'oq-deleted-defect', '--steps', '6', '--choices', '0.0.0']);
    expect(other.out).toMatch(/nothing found/);
    expect(other.code).toBe(0);
  }, 60_000);

  it('register-exit --defect keep-vanished-client: found only with a kill (a killed before b writes to it), repeated by --choices', async () => {
    const suite = suiteFile('re-write-to-a', 'register-exit', writeToA);
    const target = targetFile('re-keep-vanished', 'register-exit', ['--defect', 'keep-vanished-client']);
    const common = ['register-exit', '--target', target, '--suite', suite, '--case', 're-write-to-a', '--steps', '4', '--reply-timeout-ms', '800'];
    const noKills = await cli([...common, '--strategy', 'exhaustive']);
    expect(noKills.out).toMatch(/nothing found/);
    expect(noKills.code).toBe(0);
    const found = await cli([...common, '--strategy', 'exhaustive', '--kills', '1']);
    expect(found.out).toMatch(/first failing schedule \(schedule \d+, choices [\d.]+\): timeout: the register-exit/);
    expect(found.out).toMatch(/kill a \(its connection reset\)/);
    expect(found.code).toBe(1);
    const replay = /repeat it: npx protosim explore (.*)$/m.exec(found.out)![1]!.split(' ');
    expect(replay).toContain('--kills');
    const again = await cli(replay);
    expect(again.out).toMatch(/FAILED at schedule 1/);
    expect(again.code).toBe(1);
  }, 90_000);

  it('register-exit --defect crash-on-disconnect: a crash of the command target, with its output', async () => {
    const r = await cli(['register-exit', '--target', targetFile('re-crash', 'register-exit', ['--defect', 'crash-on-disconnect']), '--seed', '1', '--steps', '6', '--schedules', '3']);
    expect(r.out).toMatch(/first failing schedule \(schedule 1, choices [\d.]+\): crash: the target exited \(exit code 70\)/);
    expect(r.out).toMatch(/vanished without Exit/);
    expect(r.code).toBe(1);
  }, 60_000);

  it('a target that cannot be started exits 3', async () => {
    const file = join(work, 'broken.yaml');
    writeFileSync(file, YAML.stringify({ command: ['/nonexistent/server', '{port}'], port: 'auto', env: { PROTOSIM_TEST_MARK: marker }, startTimeoutMs: 2000 }));
    const r = await cli(['register-exit', '--target', file, '--seed', '1']);
    expect(r.out).toMatch(/the target could not be started or reached/);
    expect(r.code).toBe(3);
  });
});

/** ping-liveness: c1 and c2 log in as one user; c1 logs out (the shipped case ping/double-login). */
const loginUser1 = { mtype: 1, payload: { username: 'user1', password: 'pass1' } };
const doubleLogin = [{ connect: ['c1', 'c2'] }, { send: 'c1', msg: loginUser1 }, { send: 'c2', msg: loginUser1 }, { send: 'c1', msg: { mtype: 4, payload: { id: '$s1' } } }, { expect: 'model' }];

/**
 * Over QUIC: each client's messages are held at its own QUIC message proxy (a terminating proxy,
 * src/conformance/proxy/quic-proxy.ts) and released in the scheduler's order.
 */
describe('protosim explore --target quic://', () => {
  it('every order of a double login within 3 steps: nothing on the correct server, allow-double-login found; --choices repeats it', async () => {
    const suite = suiteFile('double-login', 'ping-liveness', doubleLogin);
    const common = ['--suite', suite, '--case', 'double-login', '--strategy', 'exhaustive', '--steps', '3', '--reply-timeout-ms', '1000'];
    const correct = await cli(['ping-liveness', '--target', targetFile('pl-correct', 'ping-liveness', [], 'quic'), ...common]);
    expect(correct.out).toMatch(/schedules tried: \d+ \(every order within the bound\)/);
    expect(correct.out).toMatch(/nothing found/);
    expect(correct.code).toBe(0);
    const tried = Number(/schedules tried: (\d+)/.exec(correct.out)![1]);
    expect(tried).toBeGreaterThanOrEqual(2);
    const target = targetFile('pl-double', 'ping-liveness', ['--defect', 'allow-double-login'], 'quic');
    const found = await cli(['ping-liveness', '--target', target, ...common]);
    expect(found.out).toMatch(/first failing schedule \(schedule \d+, choices [\d.]+\): c2 got what the ping-liveness/);
    expect(found.code).toBe(1);
    const choices = /--choices (\S+)/.exec(found.out)![1]!;
    const again = await cli(['ping-liveness', '--target', target, ...common.filter((a) => a !== 'exhaustive' && a !== '--strategy'), '--choices', choices]);
    expect(again.out).toMatch(/FAILED at schedule 1/);
    expect(again.code).toBe(1);
  }, 120_000);

  it('an address target: generated workloads with a kill show nothing on the correct server', async () => {
    let server: ServerHandle | undefined;
    try {
      server = await startServer('ping-liveness', { transport: 'quic', heartbeatTimeoutMs: 5000 });
      const r = await cli(['ping-liveness', '--target', server.address, '--seed', '5', '--schedules', '4', '--steps', '5', '--kills', '1', '--reply-timeout-ms', '1000']);
      expect(r.out).toMatch(/schedules tried: 4 in/);
      expect(r.out).toMatch(/nothing found/);
      expect(r.code).toBe(0);
    } finally {
      await server?.close();
    }
  }, 120_000);

  it('a QUIC address where nothing is bound exits 3', async () => {
    const r = await cli(['ping-liveness', '--target', 'quic://127.0.0.1:9', '--seed', '1', '--schedules', '1']);
    expect(r.out).toMatch(/nothing is bound to UDP port 9/);
    expect(r.code).toBe(3);
  });
});

describe('protosim explore --target: cleanup', () => {
  it('leaves no server behind', async () => {
    await new Promise((r) => setTimeout(r, 200));
    expect(markedProcesses()).toEqual([]);
  });
});
