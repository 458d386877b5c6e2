/**
 * The package as users install it (issue 19, item 5): `npm pack` ships what the docs refer to
 * (adapters/, docs/, examples/ with the clients the adapters start, scenarios/, schema/) and no
 * sources or tests; the tarball installed into an empty folder (dependencies from this machine's
 * npm cache) runs `protosim run` on a shipped scenario. The temporary folder is removed afterwards.
 * `npm test` builds dist/ first; the pack runs without scripts so it packs that build.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = resolve(__dirname, '../..');
const work = mkdtempSync(join(tmpdir(), 'protosim-pack-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** npm without the variables an enclosing `npm test` sets, so it acts as a user's npm would. */
function npm(args: string[], cwd: string): string {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_(config|package|lifecycle)_/i.test(k)));
  return execFileSync('npm', args, { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 170_000 });
}

describe('the npm package', () => {
  it('ships what the docs refer to, installs from the tarball into an empty folder, and runs a shipped scenario', () => {
    const packed = JSON.parse(npm(['pack', '--ignore-scripts', '--json', '--pack-destination', work], root)) as { filename: string; files: { path: string }[] }[];
    const files = packed[0]!.files.map((f) => f.path);
    for (const needed of [
      'bin/protosim.js',
      'dist/cli/main.js',
      'dist/cli/grade-worker.js',
      'dist/runner/swarm-worker.js',
      'scenarios/deadlock.yaml',
      'scenarios/conformance/register-exit/suite.yaml',
      'schema/scenario.schema.json',
      'adapters/lock-alternation.yaml',
      'docs/clients.md',
      'docs/grading.md',
      'examples/clients/lock-alternation.mjs',
      'examples/submissions/README.md',
      'templates/protocol/index.js',
      'templates/protocol/scenario.yaml',
      'docs/models.md',
      'README.md',
    ]) {
      expect(files, needed).toContain(needed);
    }
    expect(files.filter((f) => /^(src|test|corpus|node_modules)\//.test(f))).toEqual([]);
    // Every example program a shipped adapter starts is shipped too.
    for (const adapter of files.filter((f) => /^adapters\/.*\.yaml$/.test(f))) {
      for (const m of readFileSync(join(root, adapter), 'utf8').matchAll(/"(examples\/[^"]+)"/g)) expect(files, `${adapter} starts ${m[1]}`).toContain(m[1]);
    }

    const app = join(work, 'app');
    execFileSync('mkdir', [app]);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'protosim-user', version: '1.0.0', private: true }));
    npm(['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel', 'error', join(work, packed[0]!.filename)], app);
    const installed = join(app, 'node_modules', 'protosim');
    expect(existsSync(join(installed, 'adapters', 'lock-alternation.yaml'))).toBe(true);
    expect(existsSync(join(installed, 'src'))).toBe(false);

    const protosim = (args: string[]): { code: number; stdout: string; stderr: string } => {
      const r = spawnSync(join(app, 'node_modules', '.bin', 'protosim'), args, { cwd: app, encoding: 'utf8', timeout: 60_000, env: { ...process.env, NO_COLOR: '1' } });
      return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
    };
    const run = protosim(['run', 'node_modules/protosim/scenarios/deadlock.yaml', '--seeds', '20', '--no-save-trace']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/FOUND deadlock/);
    // The id `protosim list` prints works from there too.
    const list = protosim(['list']);
    expect(list.stdout).toMatch(/lock-alternation\/deadlock/);
    const byId = protosim(['run', 'lock-alternation/deadlock', '--seed', '2', '--no-save-trace']);
    expect(byId.code).toBe(0);
    expect(byId.stdout).toMatch(/replay: npx protosim run lock-alternation\/deadlock --seed 2/);
    // A protocol package of one's own, as `init` writes it, imports protosim/model from the installed package.
    expect(protosim(['init', 'protocol', 'mine']).code).toBe(0);
    const mine = protosim(['run', 'mine/scenario.yaml', '--no-save-trace']);
    expect(mine.stderr).toBe('');
    expect(mine.code).toBe(0);
    expect(protosim(['check', './mine/index.js', '--seeds', '20', '--no-save-trace']).code).toBe(0);
  }, 180_000);
});
