/**
 * Running protosim's CLI in the test process, and finding what a run left behind.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { runCli } from '../../src/cli/program.js';

export interface CliDone {
  code: number;
  out: string;
  err: string;
}

/** A `protosim …` runner in the folder `cwd`: the exit code, stdout and stderr of each call. */
export function cliIn(cwd: string): (args: string[]) => Promise<CliDone> {
  return async (args) => {
    let out = '';
    let err = '';
    const code = await runCli(args, { stdout: (s) => (out += s), stderr: (s) => (err += s), cwd });
    return { code, out, err };
  };
}

/** Processes (but this one) whose command line or executable names `path`: leftovers of a run. */
export function processesNaming(path: string): number[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p) && Number(p) !== process.pid)
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(path) || readlinkSync(`/proc/${p}/exe`).startsWith(path);
      } catch {
        return false;
      }
    })
    .map(Number);
}
