/**
 * A chat protocol's counterexample replayed on client programs protosim did not write (issue 16,
 * item 5): protosim plays the register-exit server (its reference server, behind a proxy per program
 * that lets messages through in the trace's order, a moment of the trace in one write). The flood
 * counterexample ("messages sent close together all arrive": seed 1, and the exhaustive explorer's
 * shortest) REPRODUCES on the seed-faithful Go client (a new gob decoder per message drops the rest
 * of each read) and not on a correct one;
 * a counterexample whose failure cannot show on client programs (a duplicate name replacing a
 * connected client, all in the server) is NOT REPRODUCED, saying why.
 *
 * A program's start-up is the adapter's `startTimeoutMs`, not the next step's bound: the flood
 * test failed once in five runs on a busy machine, and a program slow to come up (no login to
 * type, so "started" as soon as it was spawned; its register seconds later) makes the replay leave
 * the trace at `step 3: c1 did not send register alice within 4000 ms`, the seed-faithful client's
 * REPRODUCED then NOT REPRODUCED. The last test starts the example client 2.5 s late, with steps
 * of 2 s.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { runCli } from '../../src/cli/program.js';
import { corpusAdapter } from '../support/corpus-adapter.js';

const root = resolve(__dirname, '../..');
const haveGo = spawnSync('go', ['version']).status === 0;
let work: string;

async function cli(args: string[], cwd = root): Promise<{ code: number; out: string }> {
  let out = '';
  const code = await runCli(args, { stdout: (s) => (out += s), stderr: (s) => (out += s), cwd });
  return { code, out };
}

/** The corpus client's adapter, its Go program built in the work copy. */
const built = new Map<string, string>();

async function goClient(impl: string): Promise<string> {
  const known = built.get(impl);
  if (known !== undefined) return known;
  const adapter = await corpusAdapter(work, 'register-exit', impl);
  const copy = dirname(adapter);
  const build = JSON.parse(readFileSync(join(copy, 'impl.json'), 'utf8')).build as string[];
  const env = { ...process.env, GOCACHE: join(work, '.gocache'), GOPATH: join(work, '.gopath'), GOPROXY: 'off', GOTOOLCHAIN: 'local', GOTELEMETRY: 'off' };
  const b = spawnSync(build[0]!, build.slice(1), { cwd: copy, env, encoding: 'utf8' });
  expect(b.status, b.stderr).toBe(0);
  built.set(impl, adapter);
  return adapter;
}

async function traceOf(scenario: string): Promise<string> {
  const trace = join(work, `${scenario.replaceAll('/', '--')}.jsonl`);
  const found = await cli(['run', join(root, 'scenarios', `${scenario}.yaml`), '--seed', '1', '--trace-out', trace], work);
  expect(found.code, found.out).toBe(0);
  expect(existsSync(trace)).toBe(true);
  return trace;
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'protosim-replay-chat-'));
});
afterAll(() => {
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
});

describe.skipIf(!haveGo)('register-exit counterexamples replayed on corpus client programs (needs go)', () => {
  it('flood: REPRODUCED on the seed-faithful Go client, NOT REPRODUCED on a correct one', async () => {
    const trace = await traceOf('register-exit/flood');
    const faithful = await cli(['replay', trace, '--adapter', await goClient('client-go-faithful'), '--codec', 'gob']);
    expect(faithful.out).toMatch(/the model found: invariant: invariant all-messages-handled/);
    expect(faithful.out).toMatch(/steps carried out live: (\d+)\/\1\n/);
    expect(faithful.out).toMatch(/step \d+: c1 register alice {2}<- {2}#0 register alice/);
    expect(faithful.out).toMatch(/step \d+: c2 message alice -> bob "burst 1" {2}<- {2}#\d+ message alice -> bob "burst 1"/);
    expect(faithful.out).toMatch(/invariant all-messages-handled broke live: bob's program was written alice's "burst \d+".* and never showed/);
    expect(faithful.out).toMatch(/\nREPRODUCED: the live system shows the same failure, on the trace's steps/);
    expect(faithful.code).toBe(0);

    // a generous step bound: this checks that the correct client follows every step, not its speed on a loaded machine
    const correct = await cli(['replay', trace, '--adapter', await goClient('client-go-a'), '--codec', 'gob', '--step-timeout-ms', '10000']);
    expect(correct.out).toMatch(/steps carried out live: (\d+)\/\1\n/);
    expect(correct.out).toMatch(/the live system: no invariant or history property of the model broke in the live run/);
    expect(correct.out).toMatch(/\nNOT REPRODUCED: /);
    expect(correct.code).toBe(1);
  }, 120_000);

  it("flood, the exhaustive explorer's shortest counterexample (bob never starts): the error replies the seed-faithful client drops", async () => {
    const trace = join(work, 'flood-shortest.jsonl');
    const found = await cli(['run', join(root, 'scenarios/register-exit/flood.yaml'), '--strategy', 'exhaustive', '--no-progress', '--trace-out', trace], work);
    expect(found.code, found.out).toBe(0);
    const faithful = await cli(['replay', trace, '--adapter', await goClient('client-go-faithful'), '--codec', 'gob']);
    expect(faithful.out).toMatch(/alice's program was written the error reply "That user is not connected to this server" ×\d+ and never showed them/);
    expect(faithful.out).toMatch(/\nREPRODUCED: /);
    expect(faithful.code).toBe(0);
    const correct = await cli(['replay', trace, '--adapter', await goClient('client-go-a'), '--codec', 'gob']);
    expect(correct.out).toMatch(/\nNOT REPRODUCED: /);
    expect(correct.code).toBe(1);
  }, 120_000);

  it('a failure that lies in the server alone (duplicate-name) is not reproduced on client programs, saying why', async () => {
    const trace = await traceOf('register-exit/duplicate-name');
    const r = await cli(['replay', trace, '--adapter', await goClient('client-go-faithful'), '--codec', 'gob', '--observe-ms', '500']);
    expect(r.out).toMatch(/protosim has no live check of invariant unique-names on register-exit client programs/);
    expect(r.out).toMatch(/\nNOT REPRODUCED: /);
    expect(r.code).toBe(1);
  }, 60_000);

  it('refuses a codec the protocol does not have (exit 2)', async () => {
    const trace = await traceOf('register-exit/flood');
    const r = await cli(['replay', trace, '--adapter', 'adapters/register-exit.yaml', '--codec', 'protobuf']);
    expect(r.out).toMatch(/--codec protobuf: register-exit client programs speak json-lines, gob/);
    expect(r.code).toBe(2);
  });
});

describe('a chat replay waits for a program to come up within its adapter\'s start allowance', () => {
  it('a program slow to start (2.5 s, steps of 2 s, start allowance 8 s) is followed on every step', async () => {
    const trace = await traceOf('register-exit/flood');
    const example = YAML.parse(readFileSync(join(root, 'adapters/register-exit.yaml'), 'utf8')) as { adapter: string; command: string[] };
    const slow = join(work, 'register-exit-slow.yaml');
    const command = example.command.map((a) => (a === 'examples/clients/register-exit.mjs' ? join(root, a) : a));
    writeFileSync(slow, YAML.stringify({ ...example, adapter: 'register-exit-slow-start', command: ['sh', '-c', 'sleep 2.5; exec "$@"', 'slow', ...command], cwd: root, startTimeoutMs: 8000 }));
    const r = await cli(['replay', trace, '--adapter', slow, '--step-timeout-ms', '2000', '--observe-ms', '500']);
    expect(r.out).toMatch(/steps carried out live: (\d+)\/\1\n/);
    expect(r.out).toMatch(/step \d+: c1 register alice {2}<- {2}#0 register alice/);
  }, 60_000);
});
