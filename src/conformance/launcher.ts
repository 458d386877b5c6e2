/**
 * The one way protosim starts a process: targets, client programs, reference servers, grading
 * workers. Each runs as a *job* that nothing can outlive:
 *
 *  - **its own PID namespace** where one can be had (`unshare --pid --fork --kill-child
 *    --mount-proc` as root, bubblewrap's `--unshare-pid --die-with-parent`, or an unprivileged user
 *    namespace), detected at run time. A small init (`/bin/sh`, PID 1 of the namespace) runs the
 *    program as its child, so the program keeps normal signal semantics (PID 1 ignores SIGTERM it
 *    has no handler for). When the init ends — the program exited, protosim killed it, or protosim
 *    itself died (a watchdog in the namespace reads a pipe from protosim and kills everything at
 *    its end; a pseudo-terminal hangs up) — the kernel kills every process left in the namespace,
 *    double forks and `setsid` included.
 *  - elsewhere (macOS, no privileges), **a process group plus a sweep**: every process of the job
 *    carries a marker in its environment, and at the end the group is killed and /proc is swept for
 *    the marker (which finds what left the group with `setsid`).
 *
 * Signals meant for the program (pause, resume, SIGTERM, SIGINT) go to the program and every
 * process below it, not to the init or the watchdog; killing the job kills the init (everything
 * dies). `isolation().description` says which isolation is in use, for reports (job-isolation.ts
 * detects it).
 */
import { spawn, type ChildProcess, type IOType } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { isolation, jobIsolation, type Isolation } from './job-isolation.js';

export { isolation, overrideIsolation, sandboxPrefix, sandboxVariable, type Isolation, type IsolationKind } from './job-isolation.js';

/** The environment variable that marks every process of a job (the sweep looks for it). */
export const jobMarkerVariable = 'PROTOSIM_JOB';

/**
 * The init of a job: `sh -c STUB protosim-init:ID MODE WATCH PROGRAM ARGS...`. It starts the
 * watchdog (WATCH = w: it reads fd 3, a pipe from protosim; at its end, protosim is gone and the
 * watchdog kills the job), then runs the program in the foreground (so it keeps its stdin and its
 * default signal dispositions) and exits with its status (128+N for a signal, as a shell says).
 * In a namespace the init is PID 1 and `kill -KILL -1` kills the namespace; elsewhere the
 * watchdog kills the process group.
 */
const initScript = [
  'm=$1; w=$2; shift 2',
  'trap : INT QUIT',
  'if [ "$m" = pg ]; then trap "kill -KILL 0" HUP; fi',
  'if [ "$w" = w ]; then',
  '  ( trap "" INT QUIT TERM HUP',
  '    read -r _ <&3',
  '    if [ "$m" = ns ] && [ "$$" = 1 ]; then kill -KILL -1; exit; fi',
  // No namespace: what left the group (setsid) still carries the job's marker.
  '    read -r me _ </proc/self/stat 2>/dev/null',
  '    for e in /proc/[0-9]*/environ; do',
  `      if grep -qa "${jobMarkerVariable}=$${jobMarkerVariable}" "$e" 2>/dev/null; then p=\${e#/proc/}; p=\${p%/environ}; [ "$p" = "$me" ] || kill -KILL "$p" 2>/dev/null; fi`,
  '    done',
  '    kill -KILL 0 ) &',
  'fi',
  '"$@" 3<&-',
].join('\n');

/** How the program's stdin is connected. */
export type StdinMode = 'open' | 'closed' | { file: string };

export interface LaunchSpec {
  /** program and arguments */
  argv: readonly string[];
  cwd?: string;
  env: Readonly<Record<string, string | undefined>>;
  /** open: a pipe protosim holds (and may write to); closed: at end of file (/dev/null); a file's contents */
  stdin?: StdinMode;
  /** protosim's own program (a client suite's reference server): never run in a submission's sandbox */
  trusted?: boolean;
}

/** How a job's program ended: a shell's 128+N is read as signal N. */
export interface JobExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Jobs started and not yet gone: killed when protosim exits, is interrupted or terminated. */
const liveJobs = new Set<Job>();
let hooksInstalled = false;

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', killAllJobs);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const handler = (): void => {
      killAllJobs();
      // protosim's own handlers (serve, grade) decide what happens next; otherwise end as the
      // signal would have ended it.
      if (process.listenerCount(signal) <= 1) {
        process.removeListener(signal, handler);
        process.kill(process.pid, signal);
      }
    };
    process.on(signal, handler);
  }
}

/** Kills every job still alive, synchronously (exit hooks, signals). */
export function killAllJobs(): void {
  for (const job of [...liveJobs]) job.killNow();
}

/** Jobs still alive (for tests and diagnostics). */
export function liveJobCount(): number {
  return liveJobs.size;
}

function signalNumberName(n: number): NodeJS.Signals | null {
  for (const [name, value] of Object.entries(osConstants.signals)) if (value === n) return name as NodeJS.Signals;
  return null;
}

/** (code, signal) of the wrapper, with a shell's 128+N read as signal N. */
export function readExit(code: number | null, signal: NodeJS.Signals | null): JobExit {
  if (signal !== null) return { code: null, signal };
  if (code !== null && code > 128 && code <= 128 + 64) {
    const name = signalNumberName(code - 128);
    if (name !== null) return { code: null, signal: name };
  }
  return { code, signal: null };
}

interface ProcInfo {
  pid: number;
  ppid: number;
  state: string;
}

/** Every process /proc shows, with its parent; empty where there is no /proc. */
function processTable(): ProcInfo[] {
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return [];
  }
  const out: ProcInfo[] = [];
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.push({ pid: Number(name), ppid: Number(rest[1]), state: rest[0]! });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

function cmdlineOf(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return undefined;
  }
}

/** Processes whose environment carries `marker` (readable ones: ours). */
export function markedProcesses(marker: string): number[] {
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return [];
  }
  const needle = `${jobMarkerVariable}=${marker}\0`;
  const out: number[] = [];
  for (const name of names) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${name}/environ`, 'latin1').includes(needle)) out.push(Number(name));
    } catch {
      // not ours, or gone
    }
  }
  return out;
}

/** True while the process exists and is not a zombie. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    if (existsSync('/proc/self')) return false;
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  }
}

function trySignal(pid: number, signal: NodeJS.Signals | 0): void {
  try {
    process.kill(pid, signal);
  } catch {
    // gone
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * A started job. `child` is the wrapper protosim spawned (its stdio are the program's);
 * `programPid()` is the real program's pid as protosim sees it.
 */
export class Job {
  readonly id = randomBytes(6).toString('hex');
  readonly isolation: Isolation;
  /** the init's argv[0], unique to this job */
  private readonly initName: string;
  private stubPid: number | undefined;
  private program: number | undefined;
  private ended = false;
  /** the wrapper: ChildProcess, or a pseudo-terminal's pid */
  wrapperPid: number | undefined;

  constructor(iso: Isolation = isolation()) {
    this.isolation = iso;
    this.initName = `protosim-init:${this.id}`;
  }

  /** The wrapped argv: isolation prefix, the init, the program. */
  wrap(argv: readonly string[], watch: boolean): string[] {
    return [...this.isolation.prefix, '/bin/sh', '-c', initScript, this.initName, this.isolation.namespaced ? 'ns' : 'pg', watch ? 'w' : '-', ...argv];
  }

  /** The environment of the job: the marker added. */
  env(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
    out[jobMarkerVariable] = this.id;
    return out;
  }

  /** Called once the wrapper is spawned. */
  started(wrapperPid: number | undefined): void {
    this.wrapperPid = wrapperPid;
    liveJobs.add(this);
    installHooks();
  }

  /** Finds the init (the stub) and the program below the wrapper; undefined until the program has been exec'd. */
  private resolve(table?: ProcInfo[]): { stub?: number; program?: number } {
    if (this.program !== undefined && alive(this.program)) return { stub: this.stubPid, program: this.program };
    if (this.wrapperPid === undefined || this.ended) return {};
    const procs = table ?? processTable();
    if (this.stubPid === undefined) {
      // The init is the wrapper itself (process group) or a descendant of it whose argv[0] is initName.
      const queue = [this.wrapperPid];
      while (queue.length > 0 && this.stubPid === undefined) {
        const pid = queue.shift()!;
        if ((cmdlineOf(pid) ?? '').includes(`\0${this.initName}\0`)) this.stubPid = pid;
        else for (const p of procs) if (p.ppid === pid) queue.push(p.pid);
      }
    }
    if (this.stubPid === undefined) return {};
    const stubCmd = cmdlineOf(this.stubPid);
    for (const p of procs) {
      if (p.ppid !== this.stubPid || p.state === 'Z') continue;
      const cmd = cmdlineOf(p.pid);
      if (cmd !== undefined && cmd !== stubCmd) {
        this.program = p.pid;
        break;
      }
    }
    return { stub: this.stubPid, program: this.program };
  }

  /** The real program's pid (not the wrapper's or the init's), once it runs. */
  programPid(): number | undefined {
    return this.resolve().program;
  }

  /** Waits (up to `timeoutMs`) until the program runs; its pid. */
  async waitProgramPid(timeoutMs = 1000): Promise<number | undefined> {
    const until = performance.now() + timeoutMs;
    for (;;) {
      const pid = this.programPid();
      if (pid !== undefined || this.ended || performance.now() > until) return pid;
      await sleep(5);
    }
  }

  /** The program and every process below it (what the program started, and in a namespace every orphan), not the init or the watchdog. */
  programTree(): number[] {
    const table = processTable();
    const { stub, program } = this.resolve(table);
    if (stub === undefined) return program !== undefined ? [program] : [];
    const stubCmd = cmdlineOf(stub);
    const children = new Map<number, number[]>();
    for (const p of table) {
      if (p.state === 'Z') continue;
      const list = children.get(p.ppid);
      if (list === undefined) children.set(p.ppid, [p.pid]);
      else list.push(p.pid);
    }
    const out: number[] = [];
    const queue = (children.get(stub) ?? []).filter((pid) => pid === program || cmdlineOf(pid) !== stubCmd);
    while (queue.length > 0) {
      const pid = queue.shift()!;
      out.push(pid);
      queue.push(...(children.get(pid) ?? []));
    }
    if (!this.isolation.namespaced) {
      // Escaped the tree (double fork, setsid): still marked.
      for (const pid of markedProcesses(this.id)) if (pid !== stub && !out.includes(pid) && cmdlineOf(pid) !== stubCmd) out.push(pid);
    }
    if (out.length === 0 && program !== undefined) out.push(program);
    return out;
  }

  /** Whether the program and what it started are all stopped (SIGSTOP taken effect); true where /proc cannot tell. */
  programStopped(): boolean {
    const pids = this.programTree();
    if (pids.length === 0) return true;
    const states = new Map(processTable().map((p) => [p.pid, p.state]));
    return pids.every((pid) => {
      const state = states.get(pid);
      return state === undefined || state === 'T' || state === 't' || state === 'Z';
    });
  }

  /** A signal to the program and what it started (pause, resume, terminate, interrupt). */
  signalProgram(signal: NodeJS.Signals): void {
    if (this.ended) return;
    const pids = this.programTree();
    if (pids.length === 0) {
      // No /proc (macOS): the process group.
      if (this.wrapperPid !== undefined) trySignal(-this.wrapperPid, signal);
      return;
    }
    for (const pid of pids) trySignal(pid, signal);
  }

  /** SIGKILL to everything of the job, synchronously. */
  killNow(): void {
    if (this.ended) {
      // The wrapper is gone (its pid may be another process's by now): only the marked sweep.
      if (!this.isolation.namespaced) for (const pid of markedProcesses(this.id)) trySignal(pid, 'SIGKILL');
      return;
    }
    const { stub } = this.resolve();
    if (this.isolation.namespaced) {
      // The init: the kernel then kills the whole namespace, and the wrapper reaps it and exits.
      // (Killing the wrapper too would leave the init to a host init that may not reap it.)
      if (stub !== undefined) trySignal(stub, 'SIGKILL');
      else if (this.wrapperPid !== undefined) trySignal(this.wrapperPid, 'SIGKILL');
    }
    this.sweep();
  }

  /** Kills the process group and every marked process left (the fallback's sweep; harmless in a namespace). */
  sweep(): void {
    if (this.wrapperPid !== undefined) trySignal(-this.wrapperPid, 'SIGKILL');
    if (this.wrapperPid !== undefined && !this.isolation.namespaced) trySignal(this.wrapperPid, 'SIGKILL');
    if (!this.isolation.namespaced) for (const pid of markedProcesses(this.id)) trySignal(pid, 'SIGKILL');
  }

  /** The wrapper has exited: sweep what is left; resolves when the job's processes are gone. */
  async finished(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    this.sweep();
    liveJobs.delete(this);
    const until = performance.now() + 2000;
    while (performance.now() < until) {
      const left = this.isolation.namespaced ? (this.stubPid !== undefined && alive(this.stubPid) ? [this.stubPid] : []) : markedProcesses(this.id);
      if (left.length === 0) return;
      for (const pid of left) trySignal(pid, 'SIGKILL');
      await sleep(10);
    }
  }

  /** Ends bookkeeping synchronously (the wrapper is gone). */
  get isEnded(): boolean {
    return this.ended;
  }
}

export interface LaunchedProcess {
  job: Job;
  child: ChildProcess;
  /** the wrapper's exit, read as the program's, after the job's processes are gone */
  exited: Promise<JobExit>;
}

/**
 * Starts `spec.argv` as a job with piped stdout and stderr and stdin as asked. Throws what spawn
 * throws; a program that cannot be executed exits 127 (the init says why on stderr).
 */
export function launch(spec: LaunchSpec): LaunchedProcess {
  const job = new Job(jobIsolation(spec.trusted ?? false));
  const stdinMode = spec.stdin ?? 'open';
  let stdin: IOType | number = 'pipe';
  let fileFd: number | undefined;
  if (stdinMode === 'closed') stdin = 'ignore';
  else if (typeof stdinMode === 'object') {
    fileFd = openFileForRead(stdinMode.file);
    stdin = fileFd;
  }
  const argv = job.wrap(spec.argv, true);
  let child: ChildProcess;
  try {
    child = spawn(argv[0]!, argv.slice(1), { cwd: spec.cwd, env: job.env(spec.env), stdio: [stdin, 'pipe', 'pipe', 'pipe'], detached: true });
  } finally {
    if (fileFd !== undefined) closeFd(fileFd);
  }
  job.started(child.pid);
  child.stdin?.on('error', () => undefined);
  // fd 3 is the watchdog's: protosim never writes to it; its end (protosim gone) ends the job.
  const watch = child.stdio[3] as (NodeJS.EventEmitter & { unref?: () => void }) | null | undefined;
  watch?.on('error', () => undefined);
  watch?.unref?.();
  const exited = new Promise<JobExit>((resolveExit) => {
    let done = false;
    const end = (code: number | null, signal: NodeJS.Signals | null): void => {
      if (done) return;
      done = true;
      const info = readExit(code, signal);
      void job.finished().then(() => resolveExit(info));
    };
    child.once('exit', (code, signal) => end(code, signal));
    child.once('error', () => end(127, null));
  });
  return { job, child, exited };
}

function openFileForRead(path: string): number {
  return openSync(path, 'r');
}

function closeFd(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already closed
  }
}

/**
 * A job for a pseudo-terminal (node-pty spawns it): the command to give node-pty, and the job to
 * call `started(pty.pid)` and `finished()` on. No watchdog: when protosim goes, the terminal hangs
 * up, which ends the wrapper (and in a namespace everything with it).
 */
export function ptyCommand(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): { job: Job; file: string; args: string[]; env: Record<string, string> } {
  const job = new Job(jobIsolation(false));
  const wrapped = job.wrap(argv, false);
  return { job, file: wrapped[0]!, args: wrapped.slice(1), env: job.env(env) };
}

/** Stops a stream from keeping protosim alive (a leftover holding a pipe must not hold the run). */
export function releaseStreams(child: ChildProcess): void {
  for (const stream of child.stdio) {
    if (stream === null || stream === undefined) continue;
    (stream as { destroy?: () => void }).destroy?.();
  }
}
