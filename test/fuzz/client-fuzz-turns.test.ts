/**
 * `protosim fuzz <lock-alternation|status-handshake> --adapter` (docs/fuzz.md, "Client programs"):
 * protosim plays the IM server; the generated cases are turn-taking conversations whose
 * expectations follow the protocol's client suites; on corpus programs protosim did not write, a
 * defective client is found with a fixed seed, shrunk, saved, and fails on `protosim run`, while a
 * correct one gives no finding. `npm run fuzz:clients` measures the whole corpus.
 */
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import YAML from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import type { ClientStepFile } from '../../src/conformance/clients/client-suite-schema.js';
import { renderTurnCase } from '../../src/conformance/fuzz/clients/turn-render.js';
import { cliIn } from '../support/cli.js';

const root = resolve(__dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'protosim-turn-fuzz-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cli = cliIn(dir);

/** A corpus client's adapter as `npm run fuzz:clients` writes it (its twin's manifest for the lease), in a work copy. */
async function corpusAdapter(protocol: string, impl: string): Promise<string> {
  const { clientAdapter } = (await import(join(root, 'scripts/corpus/translate.mjs'))) as { clientAdapter: (m: unknown, cwd: string, name: string, twin?: unknown) => { adapter: Record<string, unknown> } };
  const copy = join(dir, `${protocol}--${impl}`);
  cpSync(join(root, 'corpus', protocol, impl), copy, { recursive: true });
  const manifest = JSON.parse(readFileSync(join(copy, 'impl.json'), 'utf8')) as { twinOf?: string };
  const twinFile = manifest.twinOf !== undefined ? join(root, 'corpus', protocol, manifest.twinOf, 'impl.json') : undefined;
  const twin = twinFile !== undefined && existsSync(twinFile) ? (JSON.parse(readFileSync(twinFile, 'utf8')) as unknown) : undefined;
  const file = join(copy, 'adapter.yaml');
  writeFileSync(file, YAML.stringify({ kind: 'adapter', version: 1, ...clientAdapter(manifest, copy, impl, twin).adapter }));
  return file;
}

describe('turn-taking client cases follow the protocol', () => {
  const on = (s: ClientStepFile[], who: string): ClientStepFile[] => s.filter((x) => x.expect === who);

  it('a text typed by the turn holder is shown by the other, who then holds the turn; the sender shows nothing back', () => {
    const s = renderTurnCase({ together: false, actions: [{ kind: 'say', text: 'a&b' }, { kind: 'say', text: 'c d' }] });
    expect(s.slice(0, 4)).toEqual([{ start: 'c1' }, { expect: 'c1', kind: 'waiting' }, { start: 'c2' }, expect.objectContaining({ expect: 'c1', kind: 'prompt' })]);
    expect(s.filter((x) => x.type !== undefined).map((x) => [x.type, x.text])).toEqual([['c1', 'a&b'], ['c2', 'c d']]);
    expect(on(s, 'c2').filter((x) => x.absent !== true).map((x) => [x.kind, x.text])).toEqual([['message', 'a&b'], ['prompt', undefined]]);
    expect(on(s, 'c1').filter((x) => x.absent !== true).map((x) => [x.kind, x.text])).toEqual([['waiting', undefined], ['prompt', undefined], ['message', 'c d'], ['prompt', undefined]]);
    // right after c1 typed, c1 shows no message (not its own back); nobody states a sender
    expect(s[s.findIndex((x) => x.type === 'c1') + 3]).toMatchObject({ expect: 'c1', kind: 'message', absent: true });
    expect(s.some((x) => x.from !== undefined)).toBe(false);
  });

  it('a same-instant start names whoever took the turn first; a kill of the turn holder must be noticed by the other', () => {
    const s = renderTurnCase({ together: true, actions: [{ kind: 'say', text: 'hi' }, { kind: 'kill', restart: false }, { kind: 'say', text: 'never typed' }] });
    expect(s[0]).toEqual({ start: ['c1', 'c2'], together: true });
    expect(s[1]).toMatchObject({ expect: ['c1', 'c2'], kind: 'prompt', as: 'first', otherAs: 'second' });
    const kill = s.findIndex((x) => x.kill !== undefined);
    expect(s[kill]).toEqual({ kill: 'second' });
    expect(s[kill + 1]).toEqual({ expect: 'first', kind: 'peerLeft', afterLease: true });
    expect(s.some((x) => x.text === 'never typed')).toBe(false);
  });

  it('both killed and restarted: a new pair, no old message shown; a third program is turned away and shows nothing', () => {
    const s = renderTurnCase({ together: false, actions: [{ kind: 'third' }, { kind: 'kill', restart: true }, { kind: 'say', text: 'again' }] });
    expect(s.slice(4, 6)).toEqual([{ start: 'c3' }, { expect: 'c3', kind: 'serverBusy' }]);
    const restart = s.findIndex((x) => x.restart === 'c1');
    expect(s.slice(restart - 4, restart)).toEqual([{ expect: 'c2', kind: 'peerLeft', afterLease: true }, { kill: 'c2' }, { kill: 'c3' }, { wait: 'lease' }]);
    expect(s.slice(restart, restart + 5)).toEqual([{ restart: 'c1' }, { expect: 'c1', kind: 'message', absent: true, withinMs: 1000 }, { expect: 'c1', kind: 'waiting' }, { restart: 'c2' }, expect.objectContaining({ expect: 'c1', kind: 'prompt' })]);
    expect(s.find((x) => x.type !== undefined)).toEqual({ type: 'c1', text: 'again' });
  });
});

// Seed 30's first case types `{  @trues1y+q?` (a `+` and a `?`, which a query must percent-encode) with no kill.
describe('protosim fuzz lock-alternation --adapter on corpus clients (fixed seeds)', () => {
  it('finds lock-alternation/client-py-defective, shrinks it, and the saved case fails on replay', async () => {
    const adapter = await corpusAdapter('lock-alternation', 'client-py-defective');
    const saved = join(dir, 'found.yaml');
    const r = await cli(['fuzz', 'lock-alternation', '--adapter', adapter, '--seed', '30', '--runs', '4', '--time-budget', '8', '--confirm', '1', '--save-case', saved, '--format', 'json', '--no-progress']);
    expect(r.code, r.out + r.err).toBe(1);
    const outcome = JSON.parse(r.out) as { finding: { shrinks: number; size: { steps: number } } };
    expect(outcome.finding.shrinks).toBeGreaterThanOrEqual(1);
    const text = readFileSync(saved, 'utf8');
    expect(text).not.toMatch(/^\s*server:/m); // protosim is the IM server
    const replay = await cli(['run', saved, '--no-progress']);
    expect(replay.code, replay.out + replay.err).toBe(1);
  }, 60_000);

  it('gives no finding on its correct twin lock-alternation/client-py-a', async () => {
    const adapter = await corpusAdapter('lock-alternation', 'client-py-a');
    const r = await cli(['fuzz', 'lock-alternation', '--adapter', adapter, '--seed', '30', '--runs', '1', '--time-budget', '15', '--no-progress']);
    expect(r.code, r.out + r.err).toBe(0);
    expect(r.out).toMatch(/no finding \(1 cases? run/);
  }, 40_000);
});
