/**
 * Every temp folder a test (or a process it starts) makes goes under one private folder for the
 * run, removed at the end: nothing is left in the machine's /tmp, whatever a test forgets. Node's
 * `os.tmpdir()` and most programs read TMPDIR, which the forked test workers and their children
 * inherit from here.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default function setup(): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'protosim-tests-'));
  const before = process.env.TMPDIR;
  process.env.TMPDIR = dir;
  return () => {
    if (before === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = before;
    rmSync(dir, { recursive: true, force: true });
  };
}
