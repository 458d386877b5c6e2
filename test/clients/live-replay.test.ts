/**
 * `protosim replay <trace> --adapter`: a counterexample the model found, replayed on live client
 * programs, shows the same failure on the seed's client and not on the fixed one.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/program.js';

const root = resolve(__dirname, '../..');

async function cli(args: string[], cwd = root): Promise<{ code: number; out: string }> {
  let out = '';
  const code = await runCli(args, { stdout: (s) => (out += s), stderr: (s) => (out += s), cwd });
  return { code, out };
}

describe('live replay of model counterexamples on client programs', () => {
  it('the join race: both live clients end up waiting for connected=2 (seed client); the fixed client leaves the trace', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'protosim-replay-'));
    const trace = join(dir, 'race.jsonl');
    const found = await cli(['run', join(root, 'scenarios/deadlock.yaml'), '--seeds', '20', '--trace-out', trace], dir);
    expect(found.code).toBe(0);

    const seed = await cli(['replay', trace, '--adapter', 'adapters/lock-alternation.yaml', '--var', 'pollMs=50', '--observe-ms', '1600']);
    expect(seed.out).toMatch(/the model found: deadlock/);
    expect(seed.out).toMatch(/the live system: c1 and c2 both wait for connected=2 \(a second client to join\), polling GET connected/);
    expect(seed.out).toMatch(/REPRODUCED: the live system shows the same failure/);
    expect(seed.code).toBe(0);

    const fixed = await cli(['replay', trace, '--adapter', 'adapters/lock-alternation-fixed.yaml', '--var', 'pollMs=50', '--var', 'leaseMs=500', '--observe-ms', '1600']);
    // Its own keys are requests the model does not have: let through and listed; it then never makes
    // the race's reads, and the replay says at which step it left the trace.
    expect(fixed.out).toMatch(/extra: c\d #\d+ SET lockalt\.join\.\S+="1" \(a write the model does not make/);
    expect(fixed.out).toMatch(/the live run left the trace: step \d+: c\d did not send GET connected within \d+ ms/);
    expect(fixed.out).toMatch(/NOT REPRODUCED: the live system does not show the failure/);
    expect(fixed.code).toBe(1);

    // The same race with c2 never started live: c1 alone waits for ever, which is not the trace's
    // failure (both clients waiting); REPRODUCED needs every client of the counterexample live.
    const lone = join(dir, 'lone.jsonl');
    writeFileSync(lone, readFileSync(trace, 'utf8').split('\n').filter((l) => !/"k":"start"/.test(l) || !/"node":"c2"/.test(l)).join('\n'));
    const one = await cli(['replay', lone, '--adapter', 'adapters/lock-alternation.yaml', '--var', 'pollMs=50', '--observe-ms', '1600']);
    expect(one.out).toMatch(/c2 of the trace never started live/);
    expect(one.out).toMatch(/NOT REPRODUCED/);
    expect(one.code).toBe(1);
  }, 60_000);

  it('a history property (own message shown back) breaks live on the seed client, on the trace\'s order of requests', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'protosim-replay-'));
    const trace = join(dir, 'own.jsonl');
    const found = await cli(['run', join(root, 'scenarios/status-handshake/own-message.yaml'), '--trace-out', trace], dir);
    expect(found.code).toBe(0);
    const seed = await cli(['replay', trace, '--adapter', 'adapters/status-handshake.yaml', '--var', 'pollMs=50', '--observe-ms', '500']);
    expect(seed.out).toMatch(/invariant no-own-message broke live: c1 was shown "[^"]+", which it wrote itself/);
    expect(seed.code).toBe(0);
  });

  it("the exhaustive explorer's shortest counterexample (an untimed trace naming its finding in its header) reproduces step by step", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'protosim-replay-'));
    const trace = join(dir, 'leftover.jsonl');
    const found = await cli(['run', join(root, 'scenarios/lock-alternation/leftover-keys.yaml'), '--strategy', 'exhaustive', '--no-progress', '--trace-out', trace], dir);
    expect(found.code).toBe(0);
    const seed = await cli(['replay', trace, '--adapter', 'adapters/lock-alternation.yaml', '--var', 'pollMs=50', '--observe-ms', '2500']);
    expect(seed.out).toMatch(/the model found: deadlock: deadlock: c1, c2 wait for ever/);
    expect(seed.out).toMatch(/step \d+: c\d GET connected {2}<- {2}#\d+ GET connected/);
    expect(seed.out).toMatch(/steps carried out live: (\d+)\/\1\n/);
    expect(seed.out).toMatch(/REPRODUCED: the live system shows the same failure, on the trace's steps/);
    expect(seed.code).toBe(0);
  });

  it('refuses what it cannot replay, with the reason (exit 2)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'protosim-replay-'));
    const trace = join(dir, 'race.jsonl');
    await cli(['run', join(root, 'scenarios/deadlock.yaml'), '--seeds', '20', '--trace-out', trace], dir);
    const wrong = await cli(['replay', trace, '--adapter', 'adapters/status-handshake.yaml']);
    expect(wrong.code).toBe(2);
    expect(wrong.out).toMatch(/--adapter: status-handshake-example drives status-handshake clients; the trace is of lock-alternation/);
  });
});
