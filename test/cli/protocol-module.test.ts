/**
 * Protocols from outside the tree (issue 13, item 3), through the binary as a user runs it:
 * `protosim init protocol NAME` writes a working package into a folder outside the repository (no
 * node_modules there: `protosim/model` resolves to the protosim that runs it), whose scenario `run`s
 * and whose package `check`s with exit 0; and a module that is missing, throws, or exports the wrong
 * thing is one clear input error (exit 2) naming the file, never a stack trace. Temp folders are
 * under os.tmpdir() and removed.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = resolve(__dirname, '../..');
const bin = join(root, 'bin', 'protosim.js');
const work = mkdtempSync(join(tmpdir(), 'protosim-protocol-module-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function protosim(args: string[], cwd = work): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd, encoding: 'utf8', timeout: 120_000, env: { ...process.env, NO_COLOR: '1' } });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

describe('protosim init protocol', () => {
  it('writes a package that runs and checks from outside the repository', () => {
    expect(work.startsWith(root)).toBe(false);
    const init = protosim(['init', 'protocol', 'demo']);
    expect(init.stderr).toBe('');
    expect(init.code).toBe(0);
    for (const file of ['index.js', 'scenario.yaml', 'protocol.test.js', 'package.json']) expect(existsSync(join(work, 'demo', file)), file).toBe(true);
    expect(readFileSync(join(work, 'demo', 'index.js'), 'utf8')).toMatch(/from 'protosim\/model'/);
    expect(existsSync(join(work, 'node_modules'))).toBe(false);

    const run = protosim(['run', 'demo/scenario.yaml', '--no-save-trace']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/protocol demo \(faithful\)/);
    expect(run.stdout).toMatch(/ok: every expectation met/);

    const check = protosim(['check', './demo/index.js', '--no-save-trace']);
    expect(check.stderr).toBe('');
    expect(check.code).toBe(0);
    expect(check.stdout).toMatch(/default check of demo \(faithful\)/);

    // The flawed variant is found, and the replay command names the module.
    const flawed = protosim(['check', './demo/index.js', '--variant', 'no-dedupe', '--no-save-trace']);
    expect(flawed.code).toBe(1);
    expect(flawed.stdout).toMatch(/FOUND invariant \(invariant:shown-once\)/);
    expect(flawed.stdout).toMatch(/replay: npx protosim check \.\/demo\/index\.js --variant no-dedupe/);

    // Worker threads load the module too.
    const swarm = protosim(['check', './demo/index.js', '--seeds', '1200', '--workers', '2', '--no-save-trace']);
    expect(swarm.stderr).toBe('');
    expect(swarm.code).toBe(0);
  }, 120_000);

  it('never overwrites a folder, and refuses a name that is not one (exit 2)', () => {
    mkdirSync(join(work, 'taken'));
    const taken = protosim(['init', 'protocol', 'taken']);
    expect(taken.code).toBe(2);
    expect(taken.stderr).toMatch(/taken already exists; protosim init writes a new folder and never overwrites one/);
    const bad = protosim(['init', 'protocol', 'My Protocol']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/expected a name of lower-case letters/);
    const builtin = protosim(['init', 'protocol', 'offline-queue']);
    expect(builtin.code).toBe(2);
    expect(builtin.stderr).toMatch(/built-in protocol/);
  });
});

describe('a protocol module everywhere a protocol is named', () => {
  it('replay (with --protocol, which run prints), list and serve take it, or say what is missing (exit 2)', () => {
    expect(protosim(['init', 'protocol', 'elsewhere']).code).toBe(0);
    const scenario = readFileSync(join(work, 'elsewhere', 'scenario.yaml'), 'utf8');
    writeFileSync(join(work, 'elsewhere', 'flawed.yaml'), scenario.replace(/^variant: faithful/m, 'variant: no-dedupe').replace(/^id: (\S+)/m, 'id: $1-flawed'));
    const run = protosim(['run', 'elsewhere/flawed.yaml']);
    expect(run.code).toBe(1);
    const replay = /or: npx protosim replay (\S+) --protocol \.\/elsewhere\/index\.js$/m.exec(run.stdout);
    expect(replay, run.stdout).not.toBeNull();
    const trace = replay![1]!;

    const bare = protosim(['replay', trace]);
    expect(bare.code).toBe(2);
    expect(bare.stderr).toMatch(/the trace names protocol "elsewhere", which is not built in; .* --protocol \.\/elsewhere\/index\.js/);
    const replayed = protosim(['replay', trace, '--protocol', './elsewhere/index.js']);
    expect(replayed.stderr).toBe('');
    expect(replayed.code).toBe(0);
    expect(replayed.stdout).toMatch(/^replay identical: \d+ events, seed=\d+, elsewhere \(no-dedupe\)/);
    const other = protosim(['replay', trace, '--protocol', './demo/index.js']);
    expect(other.code).toBe(2);
    expect(other.stderr).toMatch(/the module is protocol "demo", but .* is a trace of "elsewhere"/);

    const list = protosim(['list', '--dir', 'elsewhere']);
    expect(list.stderr).toBe('');
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^ {2}elsewhere — .*\(protocol module elsewhere\/index\.js\)$/m);
    expect(list.stdout).toMatch(/elsewhere\/lost-and-duplicated-flawed .*\[elsewhere\/no-dedupe\]/);
    expect(list.stdout).toMatch(/elsewhere\/lost-and-duplicated .*\[elsewhere\/faithful\]/);
    expect(list.stdout).not.toMatch(/INVALID/);

    const serve = protosim(['serve', './elsewhere/index.js', '--port', '0']);
    expect(serve.code).toBe(2);
    expect(serve.stderr).toMatch(/^protosim: protocol module \.\/elsewhere\/index\.js: its package "elsewhere" has no server to run: protosim serve runs the server rules of a package's live side \(live\.server/);
    const missing = protosim(['serve', './nowhere/index.js', '--port', '0']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/protocol module \.\/nowhere\/index\.js: no such file/);
  }, 120_000);
});

describe('a protocol module that is not one', () => {
  const bad = join(work, 'bad');
  mkdirSync(bad, { recursive: true });
  writeFileSync(join(bad, 'shape.js'), 'export default { name: "shape", summary: "s", variants: { faithful: { roles: {} } } };\n');
  writeFileSync(join(bad, 'throws.js'), 'throw new Error("boom while loading");\n');
  writeFileSync(join(bad, 'nothing.js'), 'export const answer = 42;\n');
  writeFileSync(join(bad, 'syntax.js'), 'export default {\n');
  writeFileSync(join(bad, 'builtin.js'), readFileSync(join(root, 'templates', 'protocol', 'index.js'), 'utf8').replaceAll('__NAME__', 'kv-store-clash').replace("name: 'kv-store-clash'", "name: 'lock-alternation'"));
  writeFileSync(join(bad, 'package.json'), '{ "type": "module" }\n');

  it.each([
    ['missing.js', /protocol module \.\/bad\/missing\.js: no such file .*; expected an ES module exporting a protocol package/],
    ['throws.js', /protocol module \.\/bad\/throws\.js: loading it failed: boom while loading/],
    ['syntax.js', /protocol module \.\/bad\/syntax\.js: loading it failed: SyntaxError/],
    ['nothing.js', /protocol module \.\/bad\/nothing\.js: expected an ES module exporting a protocol package .*; it exports answer/],
    ['shape.js', /protocol module \.\/bad\/shape\.js: the export is not a protocol package[^]*validateMessage: expected a function[^]*variants\.faithful\.roles: expected at least one role/],
    ['builtin.js', /protocol module \.\/bad\/builtin\.js: the name "lock-alternation" is a built-in protocol's/],
  ])('check ./bad/%s: exit 2 with what was expected, no stack trace', (file, message) => {
    const r = protosim(['check', `./bad/${file}`, '--no-save-trace']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stdout).toBe('');
  });

  it('a model that throws while running: exit 2 naming the module, not an internal error', () => {
    const template = readFileSync(join(root, 'templates', 'protocol', 'index.js'), 'utf8').replaceAll('__NAME__', 'throwing');
    const guard = 'guard: ({ context, event }) => !dedupe || event.n === context.n,';
    expect(template).toContain(guard);
    writeFileSync(join(bad, 'running.js'), template.replace(guard, "guard: () => { throw new TypeError('oops in a guard'); },"));
    const r = protosim(['check', './bad/running.js', '--no-save-trace']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/protocol module .*running\.js: the model threw while running \(a bug in the module\): .*oops in a guard/);
    expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
  });

  it('a scenario naming a bad module: exit 2 at the line of its protocol:, naming the module', () => {
    writeFileSync(join(bad, 'scenario.yaml'), 'id: bad/shape\ntitle: a bad module\nprotocol: ./shape.js\nexpect: { violations: none }\n');
    const r = protosim(['run', 'bad/scenario.yaml', '--no-save-trace']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^protosim: bad\/scenario\.yaml:3:11: protocol: protocol module \.\/shape\.js: the export is not a protocol package/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
