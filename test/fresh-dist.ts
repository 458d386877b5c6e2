/**
 * Tests load compiled code from dist/: worker threads (src/runner/swarm.ts), the grading worker,
 * the protocol resolve hook, and every `bin/protosim.js` a test spawns. So that no test silently
 * runs an older build than the source it tests, this global setup compares every src/**.ts with its
 * dist/**.js before any test runs, and builds (`tsc -p tsconfig.build.json`) when one is missing or
 * older. A build that leaves dist/ behind src/ stops the run with the files it names.
 * (Type errors do not stop it: tsc still emits, and `tsc -p tsconfig.test.json` is the type check.)
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/** The src/ files (under `base`) whose dist/ output is missing or older, with their modification times. */
export function staleOutputs(base: string = root): { file: string; srcMs: number }[] {
  const stale: { file: string; srcMs: number }[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) {
        const rel = relative(join(base, 'src'), path);
        const srcMs = statSync(path).mtimeMs;
        const out = join(base, 'dist', rel.replace(/\.ts$/, '.js'));
        let outMs = -1;
        try {
          outMs = statSync(out).mtimeMs;
        } catch {
          // missing: stale
        }
        if (outMs < srcMs) stale.push({ file: `src/${rel}`, srcMs });
      }
    }
  };
  walk(join(base, 'src'));
  return stale;
}

export default function setup(): void {
  const before = staleOutputs();
  if (before.length === 0) return;
  const started = Date.now();
  process.stderr.write(`fresh-dist: dist/ is behind src/ (${before.slice(0, 3).map((s) => s.file).join(', ')}${before.length > 3 ? `, and ${before.length - 3} more` : ''}); building it first\n`);
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const build = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: root, encoding: 'utf8' });
  if (build.error !== undefined) throw new Error(`fresh-dist: could not run tsc to build dist/: ${build.error.message}`);
  // Files edited while tsc ran are newer than the build: another run builds them.
  const still = staleOutputs().filter((s) => s.srcMs < started);
  if (still.length > 0) {
    throw new Error(
      `fresh-dist: dist/ is still older than ${still.map((s) => s.file).join(', ')} after \`tsc -p tsconfig.build.json\` (exit ${build.status}); ` +
        `tests load dist/ and would run an old build. tsc said:\n${(build.stdout + build.stderr).slice(0, 4000)}`,
    );
  }
  if (build.status !== 0) process.stderr.write(`fresh-dist: dist/ rebuilt, with type errors (tsc exit ${build.status}); \`tsc -p tsconfig.test.json\` reports them\n`);
}
