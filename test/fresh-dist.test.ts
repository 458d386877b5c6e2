/** The check that keeps tests from running an old dist/ (test/fresh-dist.ts, a global setup). */
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { staleOutputs } from './fresh-dist.js';

let dir: string | undefined;
afterEach(() => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

/** A checkout with `src/` and `dist/` files at the given times (seconds; absent: no such file). */
function checkout(files: Record<string, { srcAt: number; distAt?: number }>): string {
  dir = mkdtempSync(join(tmpdir(), 'fresh-dist-'));
  for (const [name, { srcAt, distAt }] of Object.entries(files)) {
    for (const [folder, ext, at] of [['src', '.ts', srcAt], ['dist', '.js', distAt]] as const) {
      if (at === undefined) continue;
      const path = join(dir, folder, `${name}${ext}`);
      mkdirSync(join(path, '..'), { recursive: true });
      writeFileSync(path, '');
      utimesSync(path, at, at);
    }
  }
  return dir;
}

describe('fresh-dist', () => {
  it('names every source whose compiled file is missing or older, and nothing else', () => {
    const base = checkout({ 'a': { srcAt: 1000, distAt: 2000 }, 'sub/b': { srcAt: 3000, distAt: 2000 }, 'c': { srcAt: 1000 } });
    expect(staleOutputs(base).map((s) => s.file).sort()).toEqual(['src/c.ts', 'src/sub/b.ts']);
  });

  it('a dist/ built after every source is fresh', () => {
    const base = checkout({ 'a': { srcAt: 1000, distAt: 1000 }, 'x/y/z': { srcAt: 1500, distAt: 2000 } });
    expect(staleOutputs(base)).toEqual([]);
  });
});
