/**
 * Formats that can change without breaking users (issue 13, item 4): every file declares its kind
 * and version; a file without them (protosim 0.x, test/fixtures/legacy/) still loads with exactly
 * one warning line, and `protosim migrate` rewrites it in place, comments and formatting kept; an
 * unknown kind or a version from the future is exit 2 at its file:line:col; the repository's own
 * files are all current.
 */
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/program.js';
import { loadAdapterFile } from '../../src/conformance/clients/adapter.js';
import { loadClientSuiteFile } from '../../src/conformance/clients/load-client-suite.js';
import { declaredKindOf, fileKindOf, setWarningSink } from '../../src/scenario/file-format.js';
import { loadScenarioFile } from '../../src/scenario/load.js';
import { loadSuiteFile, loadTargetFile, looksLikeSuite } from '../../src/scenario/load-suite.js';
import { migrateYamlText } from '../../src/scenario/migrate-format.js';
import { CompiledModel, simulate } from '../../src/sim/simulator.js';
import { traceToJsonl } from '../../src/sim/trace.js';

const root = resolve(__dirname, '../..');
const legacy = join(root, 'test/fixtures/legacy');
const work = mkdtempSync(join(tmpdir(), 'protosim-format-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function cli(args: string[], cwd = work): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(args, { stdout: (s) => (out += s), stderr: (s) => (err += s), cwd });
  return { code, out, err };
}

/** A fresh copy of the legacy fixtures (the adapter's `cwd: ../../..` is not followed by loading). */
function legacyCopy(name: string): string {
  const dir = join(work, name);
  cpSync(legacy, dir, { recursive: true });
  return dir;
}

/** The warning lines a loader call sends (the sink the CLI installs is put back afterwards). */
function warningsOf(load: () => unknown): string[] {
  const lines: string[] = [];
  const before = setWarningSink((line) => lines.push(line));
  try {
    load();
  } finally {
    setWarningSink(before);
  }
  return lines;
}

const warningRe = (file: string, kind: string): RegExp =>
  new RegExp(`^protosim: warning: ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: no kind/version \\(a protosim 0\\.x ${kind} file\\); run \`protosim migrate ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\` to add them$`);

describe('files without kind/version (protosim 0.x) still load, with one warning line', () => {
  it('the fixtures are in the old format (nobody migrated them)', () => {
    for (const name of ['scenario.yaml', 'suite.yaml', 'clients.yaml', 'adapter.yaml', 'target.yaml']) {
      expect(declaredKindOf(readFileSync(join(legacy, name), 'utf8')), name).toBeNull();
    }
  });

  it('every loader reads its kind and warns once', () => {
    const dir = legacyCopy('loaders');
    const cases: [string, string, () => unknown][] = [
      ['scenario.yaml', 'scenario', () => loadScenarioFile(join(dir, 'scenario.yaml'), 'scenario.yaml')],
      ['suite.yaml', 'suite', () => loadSuiteFile(join(dir, 'suite.yaml'), 'suite.yaml')],
      ['clients.yaml', 'client-suite', () => loadClientSuiteFile(join(dir, 'clients.yaml'), 'clients.yaml')],
      ['adapter.yaml', 'adapter', () => loadAdapterFile(join(dir, 'adapter.yaml'), 'adapter.yaml')],
      ['target.yaml', 'target', () => loadTargetFile(join(dir, 'target.yaml'), 'target.yaml', 'register-exit')],
    ];
    for (const [file, kind, load] of cases) {
      const lines = warningsOf(load);
      expect(lines, file).toHaveLength(1);
      expect(lines[0]).toMatch(warningRe(file, kind));
    }
  });

  it('the kind is inferred as before: cases make a suite, cases and an adapter a client suite, anything else a scenario', () => {
    for (const [name, kind] of [['scenario.yaml', 'scenario'], ['suite.yaml', 'suite'], ['clients.yaml', 'client-suite']] as const) {
      expect(fileKindOf(readFileSync(join(legacy, name), 'utf8'))).toEqual({ kind, declared: false });
    }
    expect(looksLikeSuite(readFileSync(join(legacy, 'suite.yaml'), 'utf8'))).toBe(true);
    expect(looksLikeSuite(readFileSync(join(legacy, 'scenario.yaml'), 'utf8'))).toBe(false);
  });

  it('protosim run on an old scenario prints exactly one warning line on stderr and runs it', async () => {
    const dir = legacyCopy('run');
    const r = await cli(['run', 'run/scenario.yaml', '--seed', '2', '--no-save-trace']);
    expect(r.code).not.toBe(2);
    expect(r.err.split('\n').filter((l) => l !== '')).toEqual([expect.stringMatching(warningRe('run/scenario.yaml', 'scenario'))]);
    expect(r.out).toMatch(/lock-alternation\/deadlock/);
    expect(readFileSync(join(dir, 'scenario.yaml'), 'utf8')).toBe(readFileSync(join(legacy, 'scenario.yaml'), 'utf8'));
  });

  it('protosim list warns once for each old file it reads', async () => {
    legacyCopy('list');
    const r = await cli(['list', '--dir', 'list']);
    expect(r.code).toBe(0);
    const lines = r.err.split('\n').filter((l) => l !== '');
    expect(lines).toHaveLength(3);
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.stringMatching(warningRe('list/scenario.yaml', 'scenario')),
        expect.stringMatching(warningRe('list/suite.yaml', 'suite')),
        expect.stringMatching(warningRe('list/clients.yaml', 'client-suite')),
      ]),
    );
    expect(r.out).toMatch(/list\/suite\.yaml +register-exit routing server \(0\.x format\)/);
    // The adapter and the target file, without a kind, are taken for scenarios, as protosim 0.x did.
    expect(r.out).not.toMatch(/(scenario|suite|clients)\.yaml: INVALID/);
  });
});

describe('protosim migrate', () => {
  it('rewrites old files in place: kind and version first, every comment and line kept; then they load without a warning', async () => {
    const dir = legacyCopy('migrate');
    const names = ['adapter.yaml', 'clients.yaml', 'scenario.yaml', 'suite.yaml', 'target.yaml'];
    const before = Object.fromEntries(names.map((n) => [n, readFileSync(join(dir, n), 'utf8')]));
    const r = await cli(['migrate', ...names.map((n) => `migrate/${n}`), 'migrate/README.md']);
    // README.md is not YAML a protosim file: one error line for it, exit 2; the others are migrated.
    expect(r.code).toBe(2);
    expect(r.out.trimEnd().split('\n')).toEqual([
      'migrate/adapter.yaml: migrated: added kind: adapter, version: 1',
      'migrate/clients.yaml: migrated: added kind: client-suite, version: 1',
      'migrate/scenario.yaml: migrated: added kind: scenario, version: 1',
      'migrate/suite.yaml: migrated: added kind: suite, version: 1',
      'migrate/target.yaml: migrated: added kind: target, version: 1',
    ]);
    expect(r.err.trimEnd().split('\n')).toHaveLength(1);
    expect(r.err).toMatch(/^protosim: migrate\/README\.md:\d+:\d+: /);
    for (const n of names) {
      const text = readFileSync(join(dir, n), 'utf8');
      const kind = { 'adapter.yaml': 'adapter', 'clients.yaml': 'client-suite', 'scenario.yaml': 'scenario', 'suite.yaml': 'suite', 'target.yaml': 'target' }[n]!;
      // The old text with two lines inserted before its first key: nothing else changed.
      const old = before[n]!.split('\n');
      const firstKey = old.findIndex((l) => /^[A-Za-z]/.test(l));
      expect(text.split('\n'), n).toEqual([...old.slice(0, firstKey), `kind: ${kind}`, 'version: 1', ...old.slice(firstKey)]);
    }
    expect(readFileSync(join(dir, 'scenario.yaml'), 'utf8')).toMatch(/^# The front door: two lock-alternation clients started close together\.\n(#.*\n)+kind: scenario\nversion: 1\nid: lock-alternation\/deadlock\n/);
    // Loaded again: no warning, and a second migrate finds them current.
    expect(warningsOf(() => loadScenarioFile(join(dir, 'scenario.yaml')))).toEqual([]);
    expect(warningsOf(() => loadSuiteFile(join(dir, 'suite.yaml')))).toEqual([]);
    expect(warningsOf(() => loadClientSuiteFile(join(dir, 'clients.yaml')))).toEqual([]);
    expect(warningsOf(() => loadAdapterFile(join(dir, 'adapter.yaml')))).toEqual([]);
    expect(warningsOf(() => loadTargetFile(join(dir, 'target.yaml'), 'target.yaml', 'register-exit'))).toEqual([]);
    const run = await cli(['run', 'migrate/scenario.yaml', '--seed', '2', '--no-save-trace']);
    expect(run.err).toBe('');
    const again = await cli(['migrate', 'migrate']);
    expect(again.code).toBe(0); // a folder: its YAML files only
    expect(again.out).toMatch(/^migrate\/scenario\.yaml: already current \(kind: scenario, version: 1\)$/m);
    expect(again.out).not.toMatch(/migrated/);
  });

  it('--check writes nothing and exits 1 when a file needs migrating, 0 when all are current, 2 for bad input', async () => {
    const dir = legacyCopy('check');
    const original = readFileSync(join(dir, 'scenario.yaml'), 'utf8');
    const needs = await cli(['migrate', '--check', 'check/scenario.yaml', 'check/suite.yaml']);
    expect(needs.code).toBe(1);
    expect(needs.out).toBe('check/scenario.yaml: needs migrating: would add kind: scenario, version: 1\ncheck/suite.yaml: needs migrating: would add kind: suite, version: 1\n');
    expect(readFileSync(join(dir, 'scenario.yaml'), 'utf8')).toBe(original);
    expect((await cli(['migrate', 'check/scenario.yaml'])).code).toBe(0);
    const current = await cli(['migrate', '--check', 'check/scenario.yaml']);
    expect(current).toEqual({ code: 0, out: 'check/scenario.yaml: already current (kind: scenario, version: 1)\n', err: '' });
    writeFileSync(join(dir, 'future.yaml'), 'kind: scenario\nversion: 2\nid: x/y\n');
    const bad = await cli(['migrate', '--check', 'check/suite.yaml', 'check/future.yaml']);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/^protosim: check\/future\.yaml:2:10: version: version 2 of the scenario format is newer than this protosim reads \(versions 1 to 1\)/);
    expect((await cli(['migrate', '--check', 'check/missing.yaml'])).err).toMatch(/check\/missing\.yaml: cannot read the file: no such file/);
  });

  it('a file whose kind nothing tells needs --kind; a file that is not valid for its kind is reported and left as it is', async () => {
    mkdirSync(join(work, 'kinds'), { recursive: true });
    writeFileSync(join(work, 'kinds/odd.yaml'), '# just an address\nport: 9000\n');
    const odd = await cli(['migrate', 'kinds/odd.yaml']);
    expect(odd.code).toBe(2);
    expect(odd.err).toMatch(/kinds\/odd\.yaml:2:1: cannot tell what kind of file this is .*--kind KIND/);
    writeFileSync(join(work, 'kinds/broken.yaml'), 'id: x/broken\ntitle: t\nprotocol: lock-alternation\nexpect: { deadlock: found }\nnodez: []\n');
    const broken = await cli(['migrate', 'kinds/broken.yaml']);
    expect(broken.code).toBe(2);
    expect(broken.err).toMatch(/kinds\/broken\.yaml:7:1: nodez: unknown field "nodez"/);
    expect(readFileSync(join(work, 'kinds/broken.yaml'), 'utf8')).toMatch(/^id: x\/broken/);
    // Only the fields are checked: what they name (here a protocol module) is for run and check.
    writeFileSync(join(work, 'kinds/module.yaml'), 'id: x/module\ntitle: t\nprotocol: ./my-protocol/index.js\nexpect: { violations: none }\n');
    expect(await cli(['migrate', 'kinds/module.yaml'])).toEqual({ code: 0, out: 'kinds/module.yaml: migrated: added kind: scenario, version: 1\n', err: '' });
    writeFileSync(join(work, 'kinds/target.yaml'), 'port: 9000\naddress: tcp://127.0.0.1:9000\n');
    expect((await cli(['migrate', 'kinds/target.yaml'])).code).toBe(0);
    writeFileSync(join(work, 'kinds/forced.yaml'), 'port: 9000\n');
    const forced = await cli(['migrate', '--kind', 'target', 'kinds/forced.yaml']);
    expect(forced.out).toBe('kinds/forced.yaml: migrated: added kind: target, version: 1\n');
    expect(readFileSync(join(work, 'kinds/forced.yaml'), 'utf8')).toBe('kind: target\nversion: 1\nport: 9000\n');
  });

  it('adds only what is missing, keeps CRLF line ends, and rewrites a flow mapping with the Document API', () => {
    const partial = migrateYamlText('# c\nkind: scenario\nid: x/y\ntitle: t\nprotocol: lock-alternation\nexpect: { deadlock: found }\n', 'p.yaml');
    expect(partial).toMatchObject({ status: 'migrated', kind: 'scenario', added: ['version'] });
    expect(partial.status === 'migrated' && partial.text).toBe('# c\nkind: scenario\nversion: 1\nid: x/y\ntitle: t\nprotocol: lock-alternation\nexpect: { deadlock: found }\n');
    const crlf = migrateYamlText('# c\r\nid: x/y\r\nprotocol: p\r\n', 'c.yaml');
    expect(crlf.status === 'migrated' && crlf.text).toBe('# c\r\nkind: scenario\r\nversion: 1\r\nid: x/y\r\nprotocol: p\r\n');
    const flow = migrateYamlText('{ address: "tcp://127.0.0.1:9000" }  # a target\n', 'f.yaml');
    expect(flow.status === 'migrated' && flow.text).toBe('{ kind: target, version: 1, address: "tcp://127.0.0.1:9000" } # a target\n');
    expect(migrateYamlText('kind: adapter\nversion: 1\nadapter: a\n', 'a.yaml')).toEqual({ status: 'current', kind: 'adapter', version: 1 });
    // a grading manifest is told by its name and server (or client) fields
    const manifest = migrateYamlText('name: alice\nserver: { command: [x] }\n', 'protosim.yaml');
    expect(manifest).toMatchObject({ status: 'migrated', kind: 'manifest', added: ['kind', 'version'] });
    expect(manifest.status === 'migrated' && manifest.text).toBe('kind: manifest\nversion: 1\nname: alice\nserver: { command: [x] }\n');
  });

  it('a trace without "protosim" in its header gets it, and then replays identically', async () => {
    const scenario = loadScenarioFile(join(legacy, 'scenario.yaml'));
    const run = simulate(new CompiledModel(scenario.model.name, scenario.variant), scenario.config, 2, { trace: true });
    const current = traceToJsonl(run.header, run.trace);
    const [header, ...rest] = current.split('\n');
    const old = [JSON.stringify(Object.fromEntries(Object.entries(JSON.parse(header!) as Record<string, unknown>).filter(([k]) => k !== 'protosim'))), ...rest].join('\n');
    mkdirSync(join(work, 'traces'), { recursive: true });
    writeFileSync(join(work, 'traces/old.jsonl'), old);
    const replayOld = await cli(['replay', 'traces/old.jsonl']);
    expect(replayOld.err.split('\n').filter((l) => l !== '')).toEqual([expect.stringMatching(warningRe('traces/old.jsonl', 'trace'))]);
    const migrated = await cli(['migrate', 'traces/old.jsonl']);
    expect(migrated).toEqual({ code: 0, out: 'traces/old.jsonl: migrated: added "protosim":1 to the header line\n', err: '' });
    expect(readFileSync(join(work, 'traces/old.jsonl'), 'utf8')).toBe(current);
    const replay = await cli(['replay', 'traces/old.jsonl']);
    expect(replay).toMatchObject({ code: 0, err: '' });
    expect((await cli(['migrate', '--check', 'traces/old.jsonl'])).out).toBe('traces/old.jsonl: already current (trace, protosim: 1)\n');
  });
});

describe('an unknown kind or a version from the future is exit 2 at file:line:col', () => {
  const scenarioBody = 'id: t/x\ntitle: t\nprotocol: lock-alternation\nexpect: { deadlock: found }\n';

  it('in a scenario, a suite, an adapter and a target file', async () => {
    mkdirSync(join(work, 'bad'), { recursive: true });
    const put = (name: string, text: string): string => {
      writeFileSync(join(work, 'bad', name), text);
      return `bad/${name}`;
    };
    const unknown = await cli(['run', put('unknown.yaml', `kind: scenari\nversion: 1\n${scenarioBody}`)]);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toBe('protosim: bad/unknown.yaml:1:7: kind: unknown file kind "scenari"; expected one of scenario, suite, client-suite, adapter, target, manifest (did you mean "scenario"?)\n');
    const future = await cli(['run', put('future.yaml', `# from a later protosim\nkind: scenario\nversion: 3\n${scenarioBody}`)]);
    expect(future.code).toBe(2);
    expect(future.err).toBe('protosim: bad/future.yaml:3:10: version: version 3 of the scenario format is newer than this protosim reads (versions 1 to 1); upgrade protosim to read this file\n');
    const suite = readFileSync(join(legacy, 'suite.yaml'), 'utf8').replace(/^suite:/m, 'kind: suite\nversion: 2\nsuite:');
    const futureSuite = await cli(['run', put('suite.yaml', suite), '--target', 'tcp://127.0.0.1:1']);
    expect(futureSuite.code).toBe(2);
    expect(futureSuite.err).toMatch(/^protosim: bad\/suite\.yaml:4:10: version: version 2 of the suite format is newer/);
    const adapter = readFileSync(join(legacy, 'adapter.yaml'), 'utf8').replace(/^adapter:/m, 'kind: adaptor\nversion: 1\nadapter:');
    const badAdapter = await cli(['adapter', 'check', put('adapter.yaml', adapter)]);
    expect(badAdapter.code).toBe(2);
    expect(badAdapter.err).toMatch(/^protosim: bad\/adapter\.yaml:4:7: kind: unknown file kind "adaptor"; .*\(did you mean "adapter"\?\)$/m);
    const version = await cli(['run', put('version.yaml', `kind: scenario\nversion: one\n${scenarioBody}`)]);
    expect(version.code).toBe(2);
    expect(version.err).toMatch(/^protosim: bad\/version\.yaml:2:10: version: expected the version of the scenario format, a whole number from 1/);
    const half = await cli(['run', put('half.yaml', `kind: scenario\n${scenarioBody}`)]);
    expect(half.code).toBe(2);
    expect(half.err).toMatch(/^protosim: bad\/half\.yaml:1:7: kind: a file that declares kind: also declares version:/);
  });

  it('a file of another kind is refused where it does not belong, naming what reads it', async () => {
    const r = await cli(['run', join(root, 'adapters/lock-alternation.yaml')]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/adapters\/lock-alternation\.yaml:\d+:7: kind: expected a scenario file here .*got kind: adapter.*protosim adapter check/);
    const t = await cli(['adapter', 'check', join(root, 'scenarios/deadlock.yaml')]);
    expect(t.code).toBe(2);
    expect(t.err).toMatch(/deadlock\.yaml:\d+:7: kind: expected an adapter file here .*got kind: scenario, a model scenario; `protosim run` reads scenarios$/m);
  });

  it('in a trace header', async () => {
    const scenario = loadScenarioFile(join(root, 'scenarios/deadlock.yaml'));
    const run = simulate(new CompiledModel(scenario.model.name, scenario.variant), scenario.config, 1, { trace: true });
    const text = traceToJsonl(run.header, run.trace).replace('"protosim":1', '"protosim":2');
    mkdirSync(join(work, 'bad'), { recursive: true });
    writeFileSync(join(work, 'bad/future.jsonl'), text);
    const col = text.indexOf('"protosim"') + 1;
    const r = await cli(['replay', 'bad/future.jsonl']);
    expect(r.code).toBe(2);
    expect(r.err).toBe(`protosim: bad/future.jsonl:1:${col}: protosim: version 2 of the trace format is newer than this protosim reads (versions 1 to 1); upgrade protosim to replay this trace\n`);
  });
});

describe("the repository's own files", () => {
  const yamlUnder = (dir: string): string[] => {
    const out: string[] = [];
    const walk = (d: string): void => {
      for (const name of readdirSync(d).sort()) {
        const p = join(d, name);
        if (statSync(p).isDirectory()) walk(p);
        else if (/\.ya?ml$/.test(name)) out.push(p);
      }
    };
    walk(dir);
    return out;
  };

  it('every file under scenarios/ and adapters/ declares kind and version as its first keys', () => {
    const files = [...yamlUnder(join(root, 'scenarios')), ...yamlUnder(join(root, 'adapters'))];
    expect(files.length).toBeGreaterThan(50);
    const lacking = files.filter((f) => {
      const keys = readFileSync(f, 'utf8')
        .split('\n')
        .filter((l) => /^[A-Za-z]/.test(l))
        .slice(0, 2);
      return !(/^kind: (scenario|suite|client-suite|adapter|target)$/.test(keys[0] ?? '') && keys[1] === 'version: 1');
    });
    expect(lacking.map((f) => `${relative(root, f)}: no kind/version; run \`protosim migrate ${relative(root, f)}\``)).toEqual([]);
  });

  it('`protosim migrate --check scenarios adapters` finds nothing to do', async () => {
    const r = await cli(['migrate', '--check', 'scenarios', 'adapters'], root);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).not.toMatch(/needs migrating/);
  });
});
