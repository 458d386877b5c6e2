/**
 * Model counterexamples replayed on client programs protosim did not write (corpus/, issue 16): the
 * exhaustive explorer's shortest counterexample reproduces on a seed-faithful client (matched by
 * effect: its setup write and the model's reads it does not make do not stop it) and not on a
 * correct one. `npm run replay:table` runs every scenario on every client; this is a fixed subset.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/program.js';
import { corpusAdapter } from '../support/corpus-adapter.js';

const root = resolve(__dirname, '../..');
const havePython = existsSync('/usr/bin/python3');
let work: string;

async function cli(args: string[], cwd = root): Promise<{ code: number; out: string }> {
  let out = '';
  const code = await runCli(args, { stdout: (s) => (out += s), stderr: (s) => (out += s), cwd });
  return { code, out };
}


async function shortest(scenario: string): Promise<string> {
  const trace = join(work, `${scenario.replaceAll('/', '--')}.jsonl`);
  const found = await cli(['run', join(root, 'scenarios', `${scenario}.yaml`), '--strategy', 'exhaustive', '--no-progress', '--trace-out', trace], work);
  expect(found.code, found.out).toBe(0);
  return trace;
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'protosim-replay-corpus-'));
});
afterAll(() => {
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
});

describe.skipIf(!havePython)('counterexamples replayed on corpus clients (needs /usr/bin/python3)', () => {
  it('status-handshake own-message and killed-peer-waits: REPRODUCED on the seed-faithful Python client, not on a correct one', async () => {
    const faithful = await corpusAdapter(work, 'status-handshake', 'client-py-faithful');
    const correct = await corpusAdapter(work, 'status-handshake', 'client-py-a');
    for (const scenario of ['status-handshake/own-message', 'status-handshake/killed-peer-waits']) {
      const trace = await shortest(scenario);
      const seed = await cli(['replay', trace, '--adapter', faithful]);
      expect(seed.out, scenario).toMatch(/REPRODUCED: the live system shows the same failure, on the trace's steps/);
      expect(seed.out).toMatch(/extra: c1 #\d+ SET received="0"/); // its setup write, let through
      expect(seed.code).toBe(0);
      const fixed = await cli(['replay', trace, '--adapter', correct]);
      expect(fixed.out, scenario).toMatch(/\n(NOT REPRODUCED|DIVERGED): /);
      expect(fixed.code).toBe(1);
    }
  }, 120_000);

  it('lock-alternation leftover-keys: REPRODUCED on the seed-faithful client, not on the held-out correct client', async () => {
    const trace = await shortest('lock-alternation/leftover-keys');
    const seed = await cli(['replay', trace, '--adapter', await corpusAdapter(work, 'lock-alternation', 'client-py-faithful')]);
    expect(seed.out).toMatch(/REPRODUCED: the live system shows the same failure/);
    expect(seed.code).toBe(0);
    const fixed = await cli(['replay', trace, '--adapter', join(root, 'corpus-heldout/runs/lock-alternation--client-python-correct.yaml')]);
    // it leaves the trace either by writing connected=1 where the model's client writes 2 (DIVERGED)
    // or, when its own join keys take longer, by not reading connected in time (NOT REPRODUCED)
    expect(fixed.out).toMatch(/\n(DIVERGED: a program did what the model rules out|NOT REPRODUCED: the live system does not show the failure)/);
    expect(fixed.out).toMatch(/the live run left the trace: (c\d sent SET connected="1": the model's client writes SET connected="2" here|step \d+: c\d did not send GET connected)/);
    expect(fixed.code).toBe(1);
  }, 60_000);
});
