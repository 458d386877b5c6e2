/**
 * Fuzz (fast-check, fixed seed) over every file input protosim reads: scenario, suite, adapter,
 * manifest, target file and trace. Each file is a mutation of a valid one (edits that splice in
 * YAML/JSON syntax, anchors and aliases, brackets, NUL and odd Unicode) or random text or bytes,
 * fed to the command that reads it, in-process. Whatever the file: exit code 0, 1 or 2, no stack
 * trace, bounded time and memory. The commands are chosen so that nothing outside runs: a suite or
 * manifest is loaded by `grade --case` of a case that does not exist, a target file by
 * `replay --target FILE --codec bogus`.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/program.js';

const root = resolve(__dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'protosim-fuzz-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const serverSuite = join(root, 'scenarios/conformance/register-exit/suite.yaml');
const clientSuite = join(root, 'scenarios/conformance/lock-alternation/clients.yaml');
const maxMsPerRun = 10_000;

async function cli(args: string[]): Promise<{ code: number; err: string; ms: number }> {
  let err = '';
  const started = performance.now();
  const code = await runCli(args, { stdout: () => {}, stderr: (s) => (err += s), cwd: dir });
  return { code, err, ms: performance.now() - started };
}

/** Pieces of syntax that make parsers work: structure, anchors, aliases, escapes, odd characters. */
const tokens = ['&a ', '*a', '[', ']', '{', '}', ': ', '- ', '\n  ', '\n', '"', "'", '#', '!!binary ', '<<: *a', '---\n', '...', '\\', '\t', '\u0000', '\uFEFF', '\u2028', '😀', 'é', '-1', '1e999', 'null', '~', '0x1F', '99999999999', '$regex', '(a+)+$', '{port}', '{node}', '"k":', ','];

/** A file's text after a few random edits (delete a span, insert a token or random text). */
function mutated(seed: string): fc.Arbitrary<string> {
  const edit = fc.record({
    at: fc.nat({ max: seed.length }),
    remove: fc.nat({ max: 12 }),
    insert: fc.oneof(fc.constantFrom(...tokens), fc.string({ maxLength: 6, unit: 'grapheme' }), fc.constant('')),
  });
  return fc.array(edit, { minLength: 1, maxLength: 6 }).map((edits) => {
    let text = seed;
    for (const e of edits) {
      const at = Math.min(e.at, text.length);
      text = text.slice(0, at) + e.insert + text.slice(at + e.remove);
    }
    return text;
  });
}

/** A mutation of the valid file, or text or bytes from nowhere. */
function inputs(seed: string): fc.Arbitrary<string | Uint8Array> {
  return fc.oneof(
    { weight: 6, arbitrary: mutated(seed) },
    { weight: 1, arbitrary: fc.string({ maxLength: 200, unit: 'binary' }) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }) },
    { weight: 1, arbitrary: fc.constant(seed) },
  );
}

interface Kind {
  name: string;
  /** a valid file of the kind */
  seed: () => string;
  /** where the fuzzed file goes, and the command that reads it */
  file: string;
  args: (file: string) => string[];
}

let trace = '';
let serverSubs = '';
let adapterSubs = '';
let manifestSubs = '';

beforeAll(async () => {
  // A trace of a register-exit finding: a protocol with a live form, so `replay --target FILE` reads the target file.
  const r = await cli(['run', join(root, 'scenarios/register-exit/spoofed-from.yaml'), '--seed', '1', '--trace-out', join(dir, 'seed-trace.jsonl'), '--no-progress']);
  expect(r.code).toBe(0);
  trace = join(dir, 'seed-trace.jsonl');
  serverSubs = join(dir, 'server-subs');
  mkdirSync(join(serverSubs, 'a'), { recursive: true });
  writeFileSync(join(serverSubs, 'a', 'protosim.yaml'), 'server:\n  command: [node, server.mjs, "{port}"]\n');
  adapterSubs = join(dir, 'adapter-subs');
  mkdirSync(join(adapterSubs, 'a'), { recursive: true });
  writeFileSync(join(adapterSubs, 'a', 'protosim.yaml'), `client:\n  adapter: ${join(dir, 'fuzzed-adapter.yaml')}\n`);
  manifestSubs = join(dir, 'manifest-subs');
  mkdirSync(join(manifestSubs, 'a'), { recursive: true });
});

const kinds: Kind[] = [
  {
    name: 'scenario',
    seed: () => readFileSync(join(root, 'scenarios/deadlock.yaml'), 'utf8'),
    file: 'fuzzed-scenario.yaml',
    // exhaustive with a small state bound: whatever the scenario asks, the run is bounded
    args: (f) => ['run', f, '--strategy', 'exhaustive', '--max-states', '300', '--no-save-trace', '--no-progress'],
  },
  {
    name: 'suite',
    seed: () => readFileSync(serverSuite, 'utf8'),
    file: 'fuzzed-suite.yaml',
    args: (f) => ['grade', serverSubs, '--suite', f, '--case', 'no-such-case', '--out', join(dir, 'out'), '--no-progress'],
  },
  {
    name: 'adapter',
    seed: () => readFileSync(join(root, 'adapters/lock-alternation.yaml'), 'utf8'),
    file: 'fuzzed-adapter.yaml',
    args: () => ['grade', adapterSubs, '--suite', clientSuite, '--case', 'no-such-case', '--out', join(dir, 'out'), '--no-progress'],
  },
  {
    name: 'manifest',
    seed: () => 'name: alice\nserver:\n  command: [node, server.mjs, "{port}"]\n  ready: { stdout: "listening on (\\\\S+)" }\n  env: { MODE: test }\n',
    file: 'manifest-subs/a/protosim.yaml',
    args: () => ['grade', manifestSubs, '--suite', serverSuite, '--case', 'no-such-case', '--out', join(dir, 'out'), '--no-progress'],
  },
  {
    name: 'target file',
    seed: () => 'command: ["{protosim}", serve, register-exit, --port, "{port}"]\nport: auto\nready: { stdout: "listening on (\\\\S+)" }\ncodec: json-lines\nstartTimeoutMs: 5000\n',
    file: 'fuzzed-target.yaml',
    args: (f) => ['replay', trace, '--target', f, '--codec', 'bogus'],
  },
  {
    name: 'trace',
    seed: () => readFileSync(trace, 'utf8'),
    file: 'fuzzed-trace.jsonl',
    args: (f) => ['replay', f],
  },
];

describe('fuzz: every file input gets exit 0, 1 or 2, no stack trace, bounded time and memory', () => {
  for (const kind of kinds) {
    it(`${kind.name} files`, async () => {
      const seed = kind.seed();
      const path = join(dir, kind.file);
      let slowest = 0;
      await fc.assert(
        fc.asyncProperty(inputs(seed), async (content) => {
          writeFileSync(path, content);
          const r = await cli(kind.args(path));
          slowest = Math.max(slowest, r.ms);
          expect([0, 1, 2], `exit ${r.code}: ${r.err.slice(0, 400)}`).toContain(r.code);
          expect(r.err).not.toMatch(/internal error/);
          expect(r.err).not.toMatch(/\n\s+at \S+ \(?\S+:\d+:\d+\)?/);
          expect(r.err.split('\n').length).toBeLessThanOrEqual(30);
          expect(r.ms).toBeLessThan(maxMsPerRun);
        }),
        { seed: 19, numRuns: 30, endOnFailure: true },
      );
      expect(slowest).toBeLessThan(maxMsPerRun);
      expect(process.memoryUsage().heapUsed).toBeLessThan(1.5 * 1024 ** 3);
    }, 120_000);
  }
});
