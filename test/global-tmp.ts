/**
 * Every temp folder a test (or a process it starts) makes goes under one private folder for the
 * run, removed at the end: nothing is left in the machine's /tmp, whatever a test forgets. Node's
 * `os.tmpdir()` and most programs read TMPDIR, which the forked test workers and their children
 * inherit from here. A run stopped by SIGINT or SIGTERM removes its folder too, and a folder left by
 * a run that was killed outright (its process gone) is removed by the next run.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const prefix = 'protosim-tests-';
const ownerFile = '.owner-pid';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Folders of earlier runs whose process is gone. */
function sweepStale(root: string): void {
  for (const name of readdirSync(root)) {
    if (!name.startsWith(prefix)) continue;
    const dir = join(root, name);
    let owner: number;
    try {
      owner = Number(readFileSync(join(dir, ownerFile), 'utf8'));
    } catch {
      continue; // not ours to judge (no owner recorded)
    }
    if (Number.isInteger(owner) && owner > 0 && !alive(owner)) rmSync(dir, { recursive: true, force: true });
  }
}

export default function setup(): () => void {
  const root = tmpdir();
  sweepStale(root);
  const dir = mkdtempSync(join(root, prefix));
  writeFileSync(join(dir, ownerFile), String(process.pid));
  const before = process.env.TMPDIR;
  process.env.TMPDIR = dir;
  const remove = (): void => rmSync(dir, { recursive: true, force: true });
  const onSignal = (signal: NodeJS.Signals): void => {
    remove();
    // the default action (ending the run) only when no one else handles the signal
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (before === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = before;
    remove();
  };
}
