/**
 * `protosim explore --adapter` on client programs protosim did not write (corpus/): the start race
 * of both key-value protocols shows in the seed-faithful clients within a few schedules (every order
 * of the first requests), and the failing schedule repeats with --choices; a correct client shows
 * nothing within the same bound. `npm run explore:table` runs PCT's 100 schedules on every client.
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

async function cli(args: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const code = await runCli(args, { stdout: (s) => (out += s), stderr: (s) => (out += s), cwd: root });
  return { code, out };
}


beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'protosim-explore-'));
});
afterAll(() => {
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
});

describe.skipIf(!havePython)('protosim explore on corpus clients (needs /usr/bin/python3)', () => {
  for (const protocol of ['lock-alternation', 'status-handshake']) {
    it(`${protocol}: the seed-faithful client's start race within the orders of 3 steps, repeated by its --choices`, async () => {
      const adapter = await corpusAdapter(work, protocol, 'client-py-faithful');
      const found = await cli(['explore', protocol, '--adapter', adapter, '--strategy', 'exhaustive', '--steps', '3', '--schedules', '8', '--settle-ms', '500', '--no-progress']);
      expect(found.out).toMatch(/first failing schedule: deadlock: c1 and c2 both keep polling GET (connected|status)/);
      expect(found.code).toBe(1);
      const [, steps, choices] = /--steps (\d+) --lines \d+ --choices (\S+)/.exec(found.out)!;
      // by the clients' names, so the repeat waits for each named client's request; the controlled
      // steps, then the free requests up to the last write (their order decided the race too)
      expect(choices).toMatch(/^c\d(\.c\d){2,}$/);
      expect(choices!.split('.').length).toBe(Number(steps));
      const again = await cli(['explore', protocol, '--adapter', adapter, '--steps', steps!, '--choices', choices!, '--settle-ms', '500', '--no-progress']);
      expect(again.out).toMatch(/FAILED at schedule 1/);
      expect(again.code).toBe(1);
    }, 120_000);
  }

  it('lock-alternation: a correct client shows nothing in every order of its first 3 requests', async () => {
    const adapter = await corpusAdapter(work, 'lock-alternation', 'client-py-a');
    const r = await cli(['explore', 'lock-alternation', '--adapter', adapter, '--strategy', 'exhaustive', '--steps', '3', '--schedules', '8', '--settle-ms', '500', '--no-progress']);
    expect(r.out).toMatch(/schedules tried: 8 \(every order within the bound\)/);
    expect(r.out).toMatch(/nothing found/);
    expect(r.code).toBe(0);
  }, 120_000);

  it('refuses a server target and a protocol it cannot play the store of (exit 2)', async () => {
    expect((await cli(['explore', 'lock-alternation', '--target', 'tcp://127.0.0.1:1'])).code).toBe(2);
    const r = await cli(['explore', 'register-exit', '--adapter', 'adapters/lock-alternation.yaml']);
    expect(r.code).toBe(2);
    expect(r.out).toMatch(/expected a key-value protocol \(lock-alternation, status-handshake\)/);
  });
});
