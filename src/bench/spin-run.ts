/**
 * Whole processes, measured from outside for `npm run bench:spin`: wall time from spawn to exit, the
 * process's peak resident memory, and a named time limit after which the whole process group is
 * killed. Peak memory comes from GNU time (`/usr/bin/time -f %M`, Debian package `time`) when it is
 * installed, else from sampling the child's `VmHWM` in /proc every 20 ms (then a lower bound: the
 * last few ms before exit are not seen, and children of the child are not counted).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Measured {
  /** wall time from spawn to exit, ms */
  wallMs: number;
  /** peak resident set size, bytes (null when it could not be read) */
  peakRss: number | null;
  /** how the peak was measured */
  peakHow: 'time' | 'sampled' | 'none';
  status: number | null;
  signal: NodeJS.Signals | null;
  /** killed at the time limit */
  timedOut: boolean;
  stdout: string;
  stderr: string;
}

const gnuTime = '/usr/bin/time';
const haveGnuTime = existsSync(gnuTime);
let running: number | null = null;

// Ctrl-C on the bench also stops the process group it is measuring (they run detached).
process.once('SIGINT', () => {
  if (running !== null) {
    try {
      process.kill(-running, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  process.exit(130);
});

/** Runs `cmd args` in `cwd` as a process group of its own, killed after `limitMs`. */
export function measure(cmd: string, args: readonly string[], options: { cwd: string; limitMs: number; env?: NodeJS.ProcessEnv }): Promise<Measured> {
  const scratch = haveGnuTime ? mkdtempSync(join(tmpdir(), 'protosim-bench-time-')) : null;
  const timeFile = scratch ? join(scratch, 'rss') : null;
  const argv = timeFile ? ['-f', '%M', '-o', timeFile, cmd, ...args] : [...args];
  const started = performance.now();
  const child = spawn(timeFile ? gnuTime : cmd, argv, { cwd: options.cwd, env: options.env ?? process.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  running = child.pid ?? null;
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (b: Buffer) => out.push(b));
  child.stderr.on('data', (b: Buffer) => err.push(b));
  let sampledKb = 0;
  const sampler = timeFile
    ? null
    : setInterval(() => {
        try {
          const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
          if (m) sampledKb = Math.max(sampledKb, Number(m[1]));
        } catch {
          /* exited between samples */
        }
      }, 20);
  let timedOut = false;
  const killer = setTimeout(() => {
    timedOut = true;
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }, options.limitMs);
  return new Promise((resolvePromise, reject) => {
    child.on('error', reject);
    child.on('close', (status, signal) => {
      const wallMs = performance.now() - started;
      clearTimeout(killer);
      if (sampler) clearInterval(sampler);
      running = null;
      let peakRss: number | null = null;
      let peakHow: Measured['peakHow'] = 'none';
      if (timeFile && existsSync(timeFile)) {
        // GNU time writes "Command exited with non-zero status N" before the figure when N != 0.
        const lines = readFileSync(timeFile, 'utf8').trim().split('\n');
        const kb = Number(lines[lines.length - 1]);
        if (Number.isFinite(kb) && kb > 0) {
          peakRss = kb * 1024;
          peakHow = 'time';
        }
      } else if (!timeFile && sampledKb > 0) {
        peakRss = sampledKb * 1024;
        peakHow = 'sampled';
      }
      if (scratch) rmSync(scratch, { recursive: true, force: true });
      resolvePromise({ wallMs, peakRss, peakHow, status, signal, timedOut, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
  });
}

export const peakMethod = haveGnuTime ? 'peak RSS by GNU time (/usr/bin/time -f %M)' : 'peak RSS sampled from /proc/<pid>/status VmHWM every 20 ms (a lower bound; install Debian package `time` for exact figures)';
