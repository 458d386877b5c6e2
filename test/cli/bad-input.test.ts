/**
 * Bad input never crashes and never hangs (issue 19): every bad input below gets exit 2 and a short
 * message that names the file (with line:col where there is one), never a stack trace or exit 70.
 * In-process (runCli), as a user runs the commands.
 */
import { mkdirSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/program.js';
import { parseAdapter } from '../../src/conformance/clients/adapter.js';
import { csvField } from '../../src/report/grade-summary.js';
import { inputLimits } from '../../src/scenario/input-file.js';
import { normalizeCodec } from '../../src/scenario/target-schema.js';
import { compileUserPattern, userPatternProblem } from '../../src/scenario/user-pattern.js';
import { exploreSwarm } from '../../src/runner/swarm.js';
import { CompiledModel } from '../../src/sim/simulator.js';
import { loadScenarioFile } from '../../src/scenario/load.js';

const root = resolve(__dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'protosim-bad-input-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function cli(args: string[], cwd = dir): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(args, { stdout: (s) => (out += s), stderr: (s) => (err += s), cwd });
  return { code, out, err };
}

function file(name: string, content: string | Buffer): string {
  const p = join(dir, name);
  mkdirSync(join(p, '..'), { recursive: true });
  writeFileSync(p, content);
  return p;
}

/** exit 2, one `protosim:` prefix, no stack trace, no internal error, a few lines at most. */
function expectCleanRefusal(r: { code: number; err: string }, maxLines = 6): void {
  expect(r.code).toBe(2);
  expect(r.err.startsWith('protosim: ')).toBe(true);
  expect(r.err).not.toMatch(/internal error|\n\s+at .*:\d+:\d+\)?\n/);
  expect(r.err.trimEnd().split('\n').length).toBeLessThanOrEqual(maxLines);
}

const scenarioHead = 'id: t/bad\ntitle: bad\nprotocol: lock-alternation\nexpect: { deadlock: found }\n';
const aliasBomb = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]', ...Array.from({ length: 9 }, (_, i) => `b${i + 1}: &b${i + 1} [${Array(10).fill(i === 0 ? '*a' : `*b${i}`).join(',')}]`)].join('\n') + '\n';
const serverSuite = join(root, 'scenarios/conformance/register-exit/suite.yaml');
const clientSuite = join(root, 'scenarios/conformance/lock-alternation/clients.yaml');

describe('YAML that would blow up the parser', () => {
  it('an alias bomb is refused at the alias with the limit named (maxAliasCount), exit 2', async () => {
    const r = await cli(['run', file('bomb.yaml', scenarioHead + aliasBomb)]);
    expectCleanRefusal(r);
    expect(r.err).toMatch(/bomb\.yaml:\d+:\d+: YAML aliases expand to too much data \(over the limit maxAliasCount=100\)/);
  });

  it('deep nesting is refused at its position with the limit named (maxYamlDepth), exit 2', async () => {
    for (const depth of [70, 5000]) {
      const r = await cli(['run', file(`deep${depth}.yaml`, `${scenarioHead}z: ${'['.repeat(depth)}${']'.repeat(depth)}\n`)]);
      expectCleanRefusal(r);
      expect(r.err).toMatch(new RegExp(`deep${depth}\\.yaml:5:\\d+: nested too deeply.*maxYamlDepth=64`));
    }
    const block = Array.from({ length: 100 }, (_, i) => `${' '.repeat(i)}k${i}:`).join('\n') + ' 1\n';
    const r = await cli(['run', file('deepblock.yaml', `${scenarioHead}${block}`)]);
    expectCleanRefusal(r);
    expect(r.err).toMatch(/deepblock\.yaml:\d+:\d+: nested too deeply/);
  });

  it('the same holds in suites, adapters, manifests and target files (one YAML reader)', async () => {
    const bomb = file('kinds/bomb.yaml', aliasBomb);
    const subs = join(dir, 'kinds/subs');
    file('kinds/subs/evil/protosim.yaml', aliasBomb);
    const trace = await registerExitTrace();
    for (const args of [
      ['run', bomb, '--target', 'tcp://127.0.0.1:1'],
      ['adapter', 'check', bomb],
      ['grade', subs, '--suite', serverSuite],
      ['replay', trace, '--target', bomb],
    ]) {
      const r = await cli(args);
      expectCleanRefusal(r);
      expect(r.err).toMatch(/:\d+:\d+: YAML aliases expand to too much data/);
    }
  });
});

let traceFile: string | null = null;
/** A trace of a register-exit finding (a protocol with a live form, for `replay --target FILE`). */
async function registerExitTrace(): Promise<string> {
  if (traceFile !== null) return traceFile;
  const out = join(dir, 're-trace.jsonl');
  const r = await cli(['run', join(root, 'scenarios/register-exit/spoofed-from.yaml'), '--seed', '1', '--trace-out', out, '--no-progress']);
  expect(r.code).toBe(0);
  traceFile = out;
  return out;
}

describe('a named size limit on every input file, checked before reading', () => {
  it('a scenario, suite, adapter, manifest, target file or trace over its limit: exit 2 naming the file, the limit and its size', async () => {
    const big = file('big/scenario.yaml', '');
    truncateSync(big, inputLimits.maxInputFileBytes + 1); // sparse: nothing is written
    const bigTrace = file('big/trace.jsonl', '');
    truncateSync(bigTrace, inputLimits.maxTraceFileBytes + 1);
    const subs = join(dir, 'big/subs');
    file('big/subs/huge/protosim.yaml', '');
    truncateSync(join(subs, 'huge/protosim.yaml'), inputLimits.maxInputFileBytes + 1);
    const trace = await registerExitTrace();
    const cases: [string[], RegExp][] = [
      [['run', big], /scenario\.yaml: the scenario is 1\.0 MiB \(1048577 bytes\), over the limit maxInputFileBytes=1048576/],
      [['adapter', 'check', big], /scenario\.yaml: the adapter is .* over the limit maxInputFileBytes/],
      [['grade', subs, '--suite', serverSuite], /protosim\.yaml: the manifest is .* over the limit maxInputFileBytes/],
      [['grade', join(root, 'examples/submissions/register-exit'), '--suite', big], /scenario\.yaml: the suite is .* over the limit maxInputFileBytes/],
      [['run', clientSuite, '--adapter', big], /scenario\.yaml: the adapter is .* over the limit maxInputFileBytes/],
      [['replay', trace, '--target', big], /scenario\.yaml: the target file is .* over the limit maxInputFileBytes/],
      [['replay', bigTrace], /trace\.jsonl: the trace is 256\.0 MiB \(268435457 bytes\), over the limit maxTraceFileBytes=268435456/],
    ];
    for (const [args, message] of cases) {
      const started = performance.now();
      const r = await cli(args);
      expectCleanRefusal(r);
      expect(r.err).toMatch(message);
      expect(performance.now() - started).toBeLessThan(5000);
    }
  });
});

describe('binary garbage and missing files', () => {
  it('a binary file gets one line saying it is not text, not hundreds of YAML errors', async () => {
    const bytes = Buffer.alloc(20_000);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7919 + 13) % 256;
    const garbage = file('garbage.yaml', bytes);
    for (const args of [['run', garbage], ['adapter', 'check', garbage], ['replay', garbage], ['merge', garbage]]) {
      const r = await cli(args);
      expectCleanRefusal(r, 1);
      expect(r.err).toMatch(/garbage\.yaml: not a text file: binary data \(a NUL byte\) at line \d+, column \d+/);
    }
    const latin1 = file('latin1.yaml', Buffer.from('id: caf\xe9\ntitle: x\n', 'latin1'));
    const r = await cli(['run', latin1]);
    expectCleanRefusal(r, 1);
    expect(r.err).toMatch(/latin1\.yaml: not UTF-8 text: an invalid byte near line 1, column 8/);
  });

  it('text that is not YAML gets a few lines, the rest counted', async () => {
    const noise = Array.from({ length: 300 }, (_, i) => `${'{['[i % 2]}: "x: ]}'\t- & * ! %`).join('\n');
    const r = await cli(['run', file('noise.yaml', noise)]);
    expectCleanRefusal(r, 7);
  });

  it('a missing file is named without a made-up 1:1 position', async () => {
    for (const [args, what] of [
      [['run', 'nope.yaml'], 'scenario'],
      [['adapter', 'check', 'nope.yaml'], 'adapter'],
      [['replay', 'nope.jsonl'], 'trace'],
    ] as const) {
      const r = await cli([...args]);
      expectCleanRefusal(r, 1);
      expect(r.err).toMatch(new RegExp(`^protosim: nope\\.(yaml|jsonl): cannot read the ${what}: no such file\\n$`));
    }
  });
});

describe('unwritable output paths: exit 2 naming the path', () => {
  const blocker = (): string => file('blocker', 'a file where a folder should be');
  it('--trace-out, --save-counterexample, --report, schema -o, grade --out', async () => {
    const deadlock = join(root, 'scenarios/deadlock.yaml');
    const cases: [string[], RegExp][] = [
      [['run', deadlock, '--seed', '2', '--trace-out', join(blocker(), 't.jsonl')], /--trace-out .*blocker\/t\.jsonl: cannot write the file: a file is in the way of a folder \(EEXIST\)/],
      [['run', deadlock, '--seed', '2', '--trace-out', dir], /--trace-out .*: cannot write the file: it is a folder \(EISDIR\)/],
      [['run', deadlock, '--seed', '2', '--no-save-trace', '--report', `junit=${join(blocker(), 'r.xml')}`], /--report junit=.*blocker\/r\.xml: cannot write the file/],
      [['check', 'lock-alternation', '--seeds', '2', '--trace-out', join(blocker(), 'c.jsonl')], /--trace-out .*blocker\/c\.jsonl: cannot write the file/],
      [['schema', '-o', join(blocker(), 's.json')], /--out .*blocker\/s\.json: cannot write the file/],
      [['grade', join(root, 'examples/submissions/register-exit'), '--suite', serverSuite, '--out', join(blocker(), 'grades')], /--out .*blocker\/grades: cannot create the folder/],
    ];
    for (const [args, message] of cases) {
      const r = await cli([...args, '--no-progress'].filter((a) => !(args[0] === 'schema' && a === '--no-progress')));
      expectCleanRefusal(r);
      expect(r.err).toMatch(message);
    }
  });
});

describe('user patterns run in linear time (RE2) or are refused at their position', () => {
  it('^(a+)+$ on a long non-matching line answers at once', () => {
    const re = compileUserPattern('^(a+)+$');
    const started = performance.now();
    expect(re.test(`${'a'.repeat(100_000)}b`)).toBe(false);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(re).toBeInstanceOf(RegExp);
  });

  it('a compiled pattern behaves as a RegExp: groups, named groups, test, match, replace', () => {
    const m = compileUserPattern('^(?<from>\\w+): (?<text>.*)$').exec('bob: hi there');
    expect(m?.groups).toEqual({ from: 'bob', text: 'hi there' });
    expect(m?.[1]).toBe('bob');
    expect(m?.index).toBe(0);
    expect('x1y22'.replace(compileUserPattern('\\d+', 'g'), '#')).toBe('x#y#');
    expect(compileUserPattern('a.b', 's').test('a\nb')).toBe(true);
    expect(compileUserPattern('listening on (\\S+)').exec('server listening on 127.0.0.1:9\n')?.[1]).toBe('127.0.0.1:9');
  });

  it('backreferences and lookaround are refused with the reason; invalid patterns too', () => {
    expect(userPatternProblem('(a)\\1')).toMatch(/cannot run in linear time.*no backreferences/);
    expect(userPatternProblem('^(?!Error)\\S+')).toMatch(/cannot run in linear time/);
    expect(userPatternProblem('(a')).toMatch(/^not a valid regular expression/);
    expect(userPatternProblem('^(a+)+$')).toBeNull();
  });

  it('an adapter with ^(a+)+$ loads and classifies a hostile line at once; one with a backreference is refused at file:line:col', async () => {
    const adapterText = (message: string): string =>
      `adapter: t\nprotocol: lock-alternation\ncommand: ["{node}", c.mjs, "{url}"]\npatterns:\n  prompt: '^(a+)+$'\n  message: '${message}'\ninput:\n  message: "{text}\\n"\n  quit: ctrl-c\n`;
    const adapter = parseAdapter(adapterText('^msg: (.*)$'), 'a.yaml', dir);
    const started = performance.now();
    expect(adapter.patterns.prompt![0]!.test(`${'a'.repeat(50_000)}!`)).toBe(false);
    expect(performance.now() - started).toBeLessThan(1000);
    const r = await cli(['adapter', 'check', file('backref.yaml', adapterText('^(\\w+): \\1 (.*)$'))]);
    expectCleanRefusal(r);
    expect(r.err).toMatch(/backref\.yaml:6:12: patterns\.message: a pattern protosim cannot run in linear time/);
  });

  it('$regex in a suite and ready: patterns are checked at load time, with their position', async () => {
    const suite = `suite: t/s\ntitle: t\nprotocol: register-exit\ncases:\n  - id: c\n    title: c\n    steps:\n      - connect: a\n      - send: a\n        msg: { To: a, From: a, Content: hi }\n      - expect: a\n        msg: { Content: { $regex: '(x)\\1' } }\n`;
    let r = await cli(['run', file('regex-suite.yaml', suite), '--target', 'tcp://127.0.0.1:1']);
    expectCleanRefusal(r);
    expect(r.err).toMatch(/regex-suite\.yaml:12:\d+: cases\[0\]\.steps\[2\]\.msg\.Content\.\$regex: a pattern protosim cannot run in linear time/);
    const target = file('target.yaml', 'command: ["{protosim}", serve, register-exit, --port, "{port}"]\nport: auto\nready: { stdout: "(?<=listening) (\\\\S+)" }\n');
    r = await cli(['replay', await registerExitTrace(), '--target', target]);
    expectCleanRefusal(r);
    expect(r.err).toMatch(/target\.yaml:3:\d+: ready\.stdout: a pattern protosim cannot run in linear time/);
  });
});

describe('a CLI a newcomer meets without surprises', () => {
  it('summary.csv: a value a spreadsheet would run is shown as text', () => {
    expect(csvField('=1+1')).toBe("'=1+1");
    expect(csvField('+SUM(A1)')).toBe("'+SUM(A1)");
    expect(csvField('@cmd')).toBe("'@cmd");
    expect(csvField('-2+3,x')).toBe(`"'-2+3,x"`);
    expect(csvField('-5')).toBe('-5');
    expect(csvField('12')).toBe('12');
    expect(csvField('alice')).toBe('alice');
  });

  it('one codec vocabulary: json and json-lines mean the same everywhere; protosim prints json-lines', async () => {
    expect(normalizeCodec('json')).toBe('json-lines');
    expect(normalizeCodec('json-lines')).toBe('json-lines');
    expect(normalizeCodec('gob')).toBe('gob');
    expect(normalizeCodec('xml')).toBeNull();
    const r = await cli(['serve', 'register-exit', '--port', '0', '--codec', 'xml']);
    expectCleanRefusal(r);
    expect(r.err).toMatch(/--codec must be json-lines or gob/);
    const target = file('codec-target.yaml', 'command: ["{protosim}", serve, register-exit, --port, "{port}", --codec, json]\nport: auto\ncodec: json\n');
    // The target file loads (codec: json is json-lines); --codec bogus then stops it before anything starts.
    const bad = await cli(['replay', await registerExitTrace(), '--target', target, '--codec', 'bogus']);
    expectCleanRefusal(bad);
    expect(bad.err).toMatch(/--codec: expected one of json-lines, gob for register-exit/);
  });

  it('the ids `list` prints work in run (scenario ids) and check (protocol/variant)', async () => {
    const run = await cli(['run', 'lock-alternation/deadlock', '--seed', '2', '--no-save-trace', '--no-progress']);
    expect(run.code).toBe(0);
    expect(run.out).toMatch(/replay: npx protosim run lock-alternation\/deadlock --seed 2/);
    const check = await cli(['check', 'lock-alternation/fixed', '--seeds', '3', '--no-save-trace', '--no-progress']);
    expect(check.out).toMatch(/protocol lock-alternation \(fixed\)/);
    expect([0, 1]).toContain(check.code);
    const wrong = await cli(['check', 'lock-alternation/deadlock']);
    expectCleanRefusal(wrong, 1);
    expect(wrong.err).toMatch(/lock-alternation\/deadlock is a scenario, not a protocol: run it with `protosim run lock-alternation\/deadlock`/);
  });

  it('one error prefix: usage errors from the option parser say protosim: too', async () => {
    const r = await cli(['run', '--bogus', 'x.yaml']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^protosim: unknown option '--bogus'/);
  });

  it('random exploration reports progress as seeds finish, on worker threads too (CI logs show long runs)', async () => {
    const scenario = loadScenarioFile(join(root, 'scenarios/deadlock.yaml'));
    for (const workers of [1, 2]) {
      const seen: number[] = [];
      await exploreSwarm({
        model: new CompiledModel(scenario.model.name, scenario.variant),
        config: scenario.config,
        seedStart: 1,
        seeds: 40,
        workers,
        shard: null,
        onProgress: (done) => seen.push(done),
        progressEvery: 10,
      });
      expect(seen.length).toBeGreaterThan(1);
      expect(seen[seen.length - 1]).toBe(40);
    }
  });
});
