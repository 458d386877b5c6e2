/**
 * An interactive client program under test, driven as a person would drive it: started under a
 * pseudo-terminal (`@lydell/node-pty`), or with plain pipes when asked or when no PTY can be had;
 * typed into; its output read into an OutputLog and matched with timeouts. It can be killed (-9),
 * paused (SIGSTOP/SIGCONT), interrupted (Ctrl-C) and restarted, and its exit is reported with code
 * or signal. It runs as a job of the launcher (src/conformance/launcher.ts: its own PID namespace
 * where one can be had), so nothing it starts outlives it; signals go to the program and what it
 * started, so a wrapper script and the interpreter it starts stop and die together.
 */
import type { ChildProcess } from 'node:child_process';
import { accessSync, constants as fsConstants } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { TargetError } from '../../errors.js';
import { launch, ptyCommand, readExit, releaseStreams, type Job } from '../launcher.js';
import { defaultOutputLogLimits, OutputLog, type OutputLogLimits, type OutputSegment } from './output-log.js';

/** How the harness talks to the program: a pseudo-terminal, pipes, or a PTY when one can be started. */
export type IoMode = 'pty' | 'pipes' | 'auto';

export interface ClientProgramSpec {
  /** program and arguments, placeholders already filled in */
  command: readonly string[];
  cwd?: string;
  env?: Readonly<Record<string, string>>;
  io: IoMode;
  /** unfinished output lines matching these are prompts (see OutputLog) */
  promptPatterns: readonly RegExp[];
  /** a name for messages (`c1`) */
  name: string;
  limits?: OutputLogLimits;
}

export interface ProcessExit {
  code: number | null;
  signal: string | null;
  /** the harness ended it (kill fault, stop) */
  expected: boolean;
  /** ms since the log started */
  atMs: number;
  run: number;
}

/** The result of waiting for output. */
export type WaitResult<T> =
  | { ok: true; segment: OutputSegment; value: T }
  | { ok: false; reason: 'timeout' | 'exited'; waitedMs: number; exit?: ProcessExit };

/** Time a stopped program gets after SIGTERM before SIGKILL. */
const stopGraceMs = 1000;

interface PtyLike {
  pid: number;
  write(data: string): void;
  kill(signal?: string): void;
  onData(listener: (data: string) => void): { dispose(): void };
  onExit(listener: (e: { exitCode: number; signal?: number }) => void): { dispose(): void };
}

type PtySpawn = (file: string, args: string[], options: { name: string; cols: number; rows: number; cwd?: string; env: Record<string, string> }) => PtyLike;

let ptySpawn: PtySpawn | null | undefined;

/** Programs started and not yet gone: killed if the harness itself exits, so none is left behind. */
const live = new Set<ClientProcess>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const p of live) p.killNow();
  });
}

/** Loads node-pty once; null when it cannot be loaded here (no native build for this platform). */
async function loadPty(): Promise<PtySpawn | null> {
  if (ptySpawn !== undefined) return ptySpawn;
  try {
    const mod = (await import('@lydell/node-pty')) as unknown as { spawn: PtySpawn };
    ptySpawn = mod.spawn;
  } catch {
    ptySpawn = null;
  }
  return ptySpawn;
}

/** Finds the program file as a shell would; a clear error when there is none. */
export function resolveProgram(program: string, cwd: string, env: Readonly<Record<string, string | undefined>>): string {
  const executable = (p: string): boolean => {
    try {
      accessSync(p, fsConstants.X_OK);
      return true;
    } catch {
      return false;
    }
  };
  if (program.includes('/')) {
    const p = isAbsolute(program) ? program : resolve(cwd, program);
    if (executable(p)) return p;
    throw new TargetError(`cannot start the client program: ${p} does not exist or is not executable`, 'start-failed');
  }
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir !== '' && executable(join(dir, program))) return join(dir, program);
  }
  throw new TargetError(`cannot start the client program: ${JSON.stringify(program)} is not on the PATH`, 'start-failed');
}

function signalName(signal: number | undefined | null): string | null {
  if (!signal) return null;
  for (const [name, n] of Object.entries(osConstants.signals)) if (n === signal) return name;
  return `signal ${signal}`;
}

/** `exit code 1`, `killed by SIGKILL`. */
export function describeProcessExit(exit: ProcessExit): string {
  return exit.signal !== null ? `killed by ${exit.signal}` : `exit code ${exit.code}`;
}

export class ClientProcess {
  readonly log: OutputLog;
  /** the mode actually used (auto resolves to pty or pipes at the first start) */
  io: 'pty' | 'pipes' | undefined;
  /** why the PTY was not used, when auto fell back to pipes */
  fallbackReason: string | undefined;
  pid: number | undefined;
  paused = false;
  exit: ProcessExit | undefined;
  /** every exit, in order */
  readonly exits: ProcessExit[] = [];
  private pty: PtyLike | undefined;
  private child: ChildProcess | undefined;
  private job: Job | undefined;
  private run = -1;
  private expectingExit = false;
  private readonly exitListeners = new Set<(exit: ProcessExit) => void>();
  private readonly segmentListeners = new Set<(segment: OutputSegment) => void>();

  constructor(readonly spec: ClientProgramSpec) {
    this.log = new OutputLog(spec.promptPatterns, spec.limits ?? defaultOutputLogLimits);
    this.log.onSegment = (segment) => {
      for (const l of [...this.segmentListeners]) l(segment);
    };
  }

  get running(): boolean {
    return this.pid !== undefined && this.exit === undefined;
  }

  /** Starts the program (again, after an exit). Throws TargetError when it cannot be started. */
  async start(): Promise<void> {
    if (this.running) return;
    const cwd = this.spec.cwd ?? process.cwd();
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
    Object.assign(env, this.spec.env ?? {});
    const [program, ...args] = this.spec.command;
    if (program === undefined) throw new TargetError(`${this.spec.name}: the client command is empty`, 'start-failed');
    const file = resolveProgram(program, cwd, env);
    if (this.io === undefined) {
      if (this.spec.io === 'pipes') this.io = 'pipes';
      else {
        const spawnPty = await loadPty();
        if (spawnPty !== null) this.io = 'pty';
        else if (this.spec.io === 'pty') throw new TargetError(`${this.spec.name}: no pseudo-terminal here (@lydell/node-pty did not load); use --io pipes`, 'start-failed');
        else {
          this.io = 'pipes';
          this.fallbackReason = '@lydell/node-pty did not load';
        }
      }
    }
    installExitHook();
    if (this.run >= 0) this.log.newRun();
    this.run += 1;
    this.exit = undefined;
    this.paused = false;
    this.expectingExit = false;
    const run = this.run;
    live.add(this);
    if (this.io === 'pty') {
      try {
        this.startPty(file, args, cwd, { TERM: 'xterm-256color', ...env }, run);
        return;
      } catch (error) {
        if (this.spec.io === 'pty') throw new TargetError(`${this.spec.name}: cannot start under a pseudo-terminal: ${(error as Error).message}`, 'start-failed');
        this.io = 'pipes';
        this.fallbackReason = `the pseudo-terminal failed: ${(error as Error).message}`;
      }
    }
    this.startPipes(file, args, cwd, env, run);
  }

  private startPty(file: string, args: string[], cwd: string, env: Record<string, string>, run: number): void {
    const wrapped = ptyCommand([file, ...args], env);
    const pty = ptySpawn!(wrapped.file, wrapped.args, { name: env.TERM ?? 'xterm-256color', cols: 120, rows: 40, cwd, env: wrapped.env });
    const job = wrapped.job;
    job.started(pty.pid);
    this.job = job;
    this.pty = pty;
    this.child = undefined;
    this.pid = pty.pid;
    pty.onData((data) => {
      if (this.run === run) this.log.push(data);
    });
    pty.onExit(({ exitCode, signal }) => {
      const ended = readExit(exitCode, signalName(signal) as NodeJS.Signals | null);
      void job.finished().then(() => this.ended(run, ended.code, ended.signal));
    });
  }

  private startPipes(file: string, args: string[], cwd: string, env: Record<string, string>, run: number): void {
    const { child, job, exited } = launch({ argv: [file, ...args], cwd, env, stdin: 'open' });
    this.child = child;
    this.job = job;
    this.pty = undefined;
    this.pid = child.pid;
    child.stdout!.setEncoding('utf8');
    child.stderr!.setEncoding('utf8');
    child.stdout!.on('data', (d: string) => {
      if (this.run === run) this.log.push(d);
    });
    child.stderr!.on('data', (d: string) => {
      if (this.run === run) this.log.push(d);
    });
    child.stdin!.on('error', () => {}); // writing to a program that died: its exit says so
    child.on('error', (error) => {
      if (this.run === run) this.log.note(`cannot start: ${error.message}`);
    });
    void exited.then(({ code, signal }) => {
      // Output can trail the exit by a tick; what it printed last is read first.
      setTimeout(() => releaseStreams(child), 1000).unref();
      this.ended(run, code, signal);
    });
  }

  private ended(run: number, code: number | null, signal: string | null): void {
    if (run !== this.run || this.exit !== undefined) return;
    const exit: ProcessExit = { code, signal, expected: this.expectingExit, atMs: this.log.elapsedMs(), run };
    live.delete(this);
    this.exit = exit;
    this.exits.push(exit);
    this.paused = false;
    for (const l of [...this.exitListeners]) l(exit);
  }

  /** Types text as keystrokes. Under a PTY a newline is the Enter key (`\r`). */
  type(text: string): void {
    if (!this.running) return;
    if (this.pty !== undefined) {
      for (const line of text.split('\n').slice(0, -1)) this.log.expectEcho(line);
      this.pty.write(text.replaceAll('\n', '\r'));
    } else {
      this.child!.stdin!.write(text);
    }
  }

  /** Ctrl-C: SIGINT through the terminal, or sent directly with pipes. */
  interrupt(): void {
    if (!this.running) return;
    if (this.pty !== undefined) this.pty.write('\x03');
    else this.signal('SIGINT');
  }

  /** End of input: Ctrl-D on a PTY, closing stdin with pipes. */
  endInput(): void {
    if (!this.running) return;
    if (this.pty !== undefined) this.pty.write('\x04');
    else this.child!.stdin!.end();
  }

  /** SIGSTOP: the program keeps its state and connections but runs nothing. */
  pause(): void {
    if (!this.running || this.paused) return;
    this.signal('SIGSTOP');
    this.paused = true;
  }

  resume(): void {
    if (!this.running || !this.paused) return;
    this.signal('SIGCONT');
    this.paused = false;
  }

  /** kill -9 (or another signal) and wait until it is gone. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<ProcessExit | undefined> {
    if (!this.running) return this.exit;
    this.expectingExit = true;
    const gone = this.waitForExit();
    if (this.paused && signal !== 'SIGKILL') this.signal('SIGCONT');
    this.signal(signal);
    return gone;
  }

  /** SIGTERM, then SIGKILL after a grace period. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.expectingExit = true;
    const gone = this.waitForExit();
    this.resume();
    this.signal('SIGTERM');
    const timer = setTimeout(() => this.signal('SIGKILL'), stopGraceMs);
    await gone;
    clearTimeout(timer);
  }

  /** Kills (if running) and starts again; the log notes it and keeps counting. */
  async restart(): Promise<void> {
    await this.kill('SIGKILL');
    this.log.note(`${this.spec.name} restarted`);
    await this.start();
  }

  /** Synchronous SIGKILL, for the harness's own exit. */
  killNow(): void {
    if (this.running) this.signal('SIGKILL');
  }

  private signal(signal: NodeJS.Signals): void {
    const job = this.job;
    if (job === undefined) return;
    // SIGKILL ends the whole job (in a namespace: everything in it); other signals go to the program and what it started.
    if (signal === 'SIGKILL') job.killNow();
    else job.signalProgram(signal);
  }

  /** The real program's pid (not a wrapper's), while it runs. */
  get programPid(): number | undefined {
    return this.running ? this.job?.programPid() : undefined;
  }

  /** Resolves at the current run's exit. */
  waitForExit(): Promise<ProcessExit> {
    if (this.exit !== undefined) return Promise.resolve(this.exit);
    return new Promise((resolveExit) => {
      const listener = (exit: ProcessExit): void => {
        this.exitListeners.delete(listener);
        resolveExit(exit);
      };
      this.exitListeners.add(listener);
    });
  }

  /** Listens to every new segment; returns the unsubscribe function. */
  onSegment(listener: (segment: OutputSegment) => void): () => void {
    this.segmentListeners.add(listener);
    return () => this.segmentListeners.delete(listener);
  }

  /**
   * Waits for a segment at or after `from` for which `match` returns a value. Stops at `timeoutMs`
   * or, unless `acrossExit`, when the program exits (output already printed still counts).
   */
  waitFor<T>(match: (segment: OutputSegment) => T | undefined, opts: { from: number; timeoutMs: number; acrossExit?: boolean }): Promise<WaitResult<T>> {
    for (const segment of this.log.since(opts.from)) {
      const value = match(segment);
      if (value !== undefined) return Promise.resolve({ ok: true, segment, value });
    }
    if (!this.running && !opts.acrossExit) return Promise.resolve({ ok: false, reason: 'exited', waitedMs: 0, ...(this.exit ? { exit: this.exit } : {}) });
    const startedMs = performance.now();
    return new Promise((resolveWait) => {
      const done = (result: WaitResult<T>): void => {
        clearTimeout(timer);
        unsubscribe();
        this.exitListeners.delete(onExit);
        resolveWait(result);
      };
      const unsubscribe = this.onSegment((segment) => {
        if (segment.index < opts.from) return;
        const value = match(segment);
        if (value !== undefined) done({ ok: true, segment, value });
      });
      const onExit = (exit: ProcessExit): void => {
        if (opts.acrossExit) return;
        // Output can trail the exit event by a tick (pipes): give it a moment before giving up.
        setTimeout(() => done({ ok: false, reason: 'exited', waitedMs: Math.round(performance.now() - startedMs), exit }), 50);
      };
      this.exitListeners.add(onExit);
      const timer = setTimeout(() => done({ ok: false, reason: 'timeout', waitedMs: Math.round(performance.now() - startedMs) }), opts.timeoutMs);
    });
  }

  /** Output tail for error reports, with how it ended. */
  tail(count = 20): string {
    const end = this.exit ? `\n(${describeProcessExit(this.exit)})` : '';
    return this.log.tail(count) + end;
  }
}
