/**
 * Where a protocol counts a line of only spaces as a message (status-handshake: "a message of only
 * white space can leave the receiver waiting for ever", docs/protocols.md section 2), the client
 * fuzz types such lines too (`blankIsMessage`, src/conformance/fuzz/clients/typed-text.ts); elsewhere
 * a blank line is no message and is never typed. The known-bad program is protosim's fixed
 * status-handshake example with one line changed: the receiver strips a message before checking
 * it, so one of only spaces reads as none and it waits for ever (the held-out batch had such a
 * client, missed by fuzz before blank lines were typed).
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { typedText } from '../../src/conformance/fuzz/clients/typed-text.js';
import { cliIn } from '../support/cli.js';

const root = resolve(__dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'protosim-blank-fuzz-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const cli = cliIn(dir);

/** The fixed example's adapter, its program replaced by `program` (a copy of examples/clients/ in `copy`). */
function adapterFor(copy: string, change?: [string, string]): string {
  cpSync(join(root, 'examples/clients'), copy, { recursive: true });
  const program = join(copy, 'status-handshake-fixed.mjs');
  if (change !== undefined) {
    const source = readFileSync(program, 'utf8');
    expect(source).toContain(change[0]);
    writeFileSync(program, source.replace(change[0], change[1]));
  }
  const adapter = readFileSync(join(root, 'adapters/status-handshake-fixed.yaml'), 'utf8').replace('cwd: ..', `cwd: ${copy}`).replaceAll('"examples/clients/status-handshake-fixed.mjs"', '"status-handshake-fixed.mjs"');
  expect(adapter).toContain('"status-handshake-fixed.mjs"');
  const file = join(copy, 'adapter.yaml');
  writeFileSync(file, adapter);
  return file;
}

const stripsFirst: [string, string] = ['while ((text = await pair.read(n)) === null) {', 'while ((text = (await pair.read(n))?.trim() || null) === null) {'];

describe('blank lines as messages', () => {
  it('are typed only where the protocol says they are messages', () => {
    const rules = { maxChars: 200, wholeLine: true };
    const blank = (t: string) => t.trim() === '';
    expect(fc.sample(typedText(['&'], { ...rules, blankIsMessage: true }), { seed: 1, numRuns: 300 }).filter(blank).length).toBeGreaterThan(5);
    expect(fc.sample(typedText(['&'], rules), { seed: 1, numRuns: 300 }).filter(blank)).toEqual([]);
  });

  // Seed 5's first generated case types a line of spaces.
  it('protosim fuzz status-handshake finds a receiver that strips before checking; the saved case fails on replay', async () => {
    const adapter = adapterFor(join(dir, 'twin'), stripsFirst);
    const saved = join(dir, 'found.yaml');
    const r = await cli(['fuzz', 'status-handshake', '--adapter', adapter, '--seed', '5', '--runs', '1', '--time-budget', '10', '--confirm', '1', '--save-case', saved, '--no-progress']);
    expect(r.code, r.out + r.err).toBe(1);
    // the peer never shows the line of spaces (not: the program would not start)
    expect(r.out).toMatch(/expected c\d to show a message " +"; none within/);
    expect(readFileSync(saved, 'utf8')).toMatch(/text: " +"|text: ' +'/);
    const replay = await cli(['run', saved, '--no-progress']);
    expect(replay.code, replay.out + replay.err).toBe(1);
  }, 90_000);

  it('the example itself shows the same case', async () => {
    const adapter = adapterFor(join(dir, 'example'));
    const r = await cli(['fuzz', 'status-handshake', '--adapter', adapter, '--seed', '5', '--runs', '1', '--time-budget', '15', '--no-progress']);
    expect(r.code, r.out + r.err).toBe(0);
    expect(r.out).toMatch(/no finding \(1 cases? run/);
  }, 60_000);
});
