/**
 * A server command protosim starts itself: launched as a job (src/conformance/launcher.ts: its own
 * PID namespace where one can be had, so nothing it starts outlives it), waited for (an output
 * line, the port seen listening in /proc/net/tcp without connecting, or a connection when asked),
 * stopped (a signal or a console line), killed (-9), paused (SIGSTOP/SIGCONT) and restarted as a
 * case's faults say. Its stdout and stderr are drained into bounded tails, so a target that floods
 * its output costs no memory, and the tails explain a crash.
 */
import { compileUserPattern } from '../scenario/user-pattern.js';
import type { ChildProcess } from 'node:child_process';
import { createServer, connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { TargetError } from '../errors.js';
import { parseTargetAddress } from '../scenario/target-address.js';
import { isolation, launch, releaseStreams, type Job, type JobExit, type StdinMode } from './launcher.js';
import { TailBuffer } from './tail-buffer.js';
import { portListening, udpPortBound } from './proc-net.js';

export { portListening };

/** How protosim knows a started command is ready. */
export type ReadySpec =
  | { stdout: string }
  | { stderr: string }
  /** the port (default: the target's) listens: seen in /proc/net/tcp (probe: listen, the default) or accepting a connection (probe: connect) */
  | { port?: number; probe?: 'listen' | 'connect' };

/** How a target is asked to stop: a signal (default SIGTERM), or a line typed on its console (stdin). */
export type ShutdownSpec = { signal: NodeJS.Signals } | { console: string };

export interface CommandTargetSpec {
  command: string[];
  cwd?: string;
  env?: Record<string, string>;
  /** how protosim knows it listens; none: the port it was given (`{port}`) is seen listening */
  ready?: ReadySpec;
  port?: 'auto' | number;
  startTimeoutMs: number;
  /** the program's stdin: open (a pipe protosim holds; the default), closed (at end of file) or a file */
  stdin?: StdinMode;
  /** how `stop` asks it to end before SIGKILL after a grace period */
  shutdown?: ShutdownSpec;
  /**
   * Bytes of stdout plus stderr the process may print in one run (from start to exit); past it the
   * process is killed, as a crash whose reason says so (a submission that floods its output).
   * Unlimited when absent.
   */
  maxOutputBytes?: number;
  /** `http` for the kv protocol; the scheme of the address built from a port */
  scheme: 'tcp' | 'http' | 'quic';
  /** protosim's own server (a client suite's): never run in a submission's sandbox (launcher.ts) */
  trusted?: boolean;
}

/** How the process ended. */
export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** true when protosim ended it (stop, kill fault) */
  expected: boolean;
  /** why protosim killed it when it was not asked to (a limit) */
  reason?: string;
}

/** Bytes of stdout and stderr kept for crash reports. */
export const maxTailBytes = 4096;
/** Longest stdout line scanned for the ready pattern; longer lines are cut before matching. */
const maxReadyLineBytes = 4096;
/** Time a stopped process gets after SIGTERM before SIGKILL. */
const stopGraceMs = 2000;
/** How long a restart waits for the last run's socket to go before it starts the program again. */
const portReleaseBoundMs = 3000;

/** protosim's own launcher, for `{protosim}` in a command (src/conformance and dist/conformance are both two levels down). */
export function protosimLauncher(): string[] {
  return [process.execPath, fileURLToPath(new URL('../../bin/protosim.js', import.meta.url))];
}

/** A free loopback port (bound and released; a small race is accepted, as every harness does). */
export async function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** How long a target that a connection probe found ready has to show it survived the probe. */
export const probeSettleMs = 150;

/**
 * The address in a ready line, as people print it: a full address (`tcp://127.0.0.1:9000`), or
 * without a scheme (`127.0.0.1:9000`, `localhost:9000`, `0.0.0.0:9000`, `[::]:9000`, `:9000`,
 * `9000`); a wildcard host is reached on 127.0.0.1. The problem in words when it is none of these.
 */
export function readyAddress(text: string, scheme: 'tcp' | 'http' | 'quic'): string | { problem: string } {
  const trimmed = text.trim().replace(/[.,;]+$/, '');
  if (/^\w+:\/\//.test(trimmed)) {
    const parsed = parseTargetAddress(trimmed.replace(/^(\w+):\/\/(0\.0\.0\.0|\[::\]|\*)(?=:)/, '$1://127.0.0.1'));
    return typeof parsed === 'string' ? { problem: parsed } : parsed.text;
  }
  const m = /^(?:(\[[^\]]*\]|[^\s/:]*):)?(\d{1,5})(\/\S*)?$/.exec(trimmed);
  if (m === null) return { problem: `expected an address (tcp://127.0.0.1:9000, 127.0.0.1:9000 or a port), got ${JSON.stringify(text)}` };
  const host = m[1] === undefined || m[1] === '' || m[1] === '0.0.0.0' || m[1] === '[::]' || m[1] === '*' ? '127.0.0.1' : m[1];
  const parsed = parseTargetAddress(`${scheme}://${host}:${m[2]}${m[3] ?? ''}`);
  return typeof parsed === 'string' ? { problem: parsed } : parsed.text;
}

/** One start of the command: its job, and how it ended. */
interface RunState {
  job: Job;
  child: ChildProcess;
  exit?: ExitInfo;
  expectingExit: boolean;
  outputBytes: number;
  outputLimitHit: boolean;
  /** resolves when every process of the run is gone */
  gone: Promise<void>;
}

/** One start's wait until the target is ready: settled once, by readiness, a failure or the timeout. */
interface ReadyWait {
  readonly run: RunState;
  /** the port the target was given (`{port}`), if any */
  readonly port: number | undefined;
  /** the port whose listening (or accepting) makes the target ready; undefined when an output line does */
  readonly probePort: number | undefined;
  settled: boolean;
  /** set when a connection probe reached the target: an exit now is the probe's doing */
  probed: boolean;
  timer: NodeJS.Timeout | undefined;
  /** Ready at `address` (found as `how`), or failed with `error` (the run is killed); the first call counts. */
  finish(error: TargetError | undefined, address?: string, how?: string): void;
}

export class ManagedProcess {
  private current: RunState | undefined;
  private readonly stdoutTail = new TailBuffer(maxTailBytes);
  private readonly stderrTail = new TailBuffer(maxTailBytes);
  private port: number | undefined;
  /** the address the target listens on, once ready */
  address: string | undefined;
  /** set when the process ended; cleared by start */
  exit: ExitInfo | undefined;
  /** called when the process ends without protosim asking it to */
  onUnexpectedExit: ((info: ExitInfo) => void) | undefined;
  paused = false;
  /** how the target became ready the last time (for reports): `stdout line`, `port listening`... */
  readiness: string | undefined;

  constructor(private readonly spec: CommandTargetSpec) {}

  /** Started, ready, and not ended. */
  get running(): boolean {
    return this.current !== undefined && this.current.exit === undefined && this.address !== undefined;
  }

  /** How the target's processes are contained (for reports). */
  get isolation(): string {
    return isolation().description;
  }

  /** The real program's pid, while it runs. */
  get pid(): number | undefined {
    return this.current?.exit === undefined ? this.current?.job.programPid() : undefined;
  }

  /** The program and every process it started (a wrapper's server, forked workers), while it runs. */
  programTree(): number[] {
    return this.current?.exit === undefined ? (this.current?.job.programTree() ?? []) : [];
  }

  /** The tails of stdout and stderr, for a crash report. */
  tails(): string {
    const parts: string[] = [];
    const out = this.stdoutTail.text().trimEnd();
    const err = this.stderrTail.text().trimEnd();
    if (out) parts.push(`stdout (last ${maxTailBytes} bytes):\n${out}`);
    if (err) parts.push(`stderr (last ${maxTailBytes} bytes):\n${err}`);
    return parts.length ? parts.join('\n') : '(no output)';
  }

  /** Starts the command and waits until it is ready; throws TargetError with the output tails if it dies or stays silent. */
  async start(): Promise<string> {
    if (this.running) return this.address!;
    // A run that never became ready, or is still on its way out, is gone first.
    await this.killRun(this.current);
    this.exit = undefined;
    this.address = undefined;
    this.readiness = undefined;
    this.paused = false;
    this.stdoutTail.clear();
    this.stderrTail.clear();
    const again = this.port !== undefined;
    if (this.port === undefined) this.port = this.spec.port === 'auto' ? await freeLoopbackPort() : this.spec.port;
    const port = this.port;
    // A restart on the same port: the last run's processes may still be on their way out with its
    // socket listening (a killed PID namespace dies asynchronously), and readiness seen in
    // /proc/net would then be theirs; their socket goes first.
    if (again && port !== undefined) await this.portReleased(port, portReleaseBoundMs);
    if (port !== undefined && this.portHeld(port) === true) {
      if (typeof this.spec.port === 'number') throw new TargetError(`port ${this.spec.port} is already in use by another process (something listens on it before the target starts); stop it, or give the target port: auto and {port}`, 'port-in-use');
      if (again) throw new TargetError(`port ${port} is still held ${portReleaseBoundMs} ms after the last run of the target ended (a process it started outlived it?)`, 'port-in-use');
    }
    const { argv, env } = this.commandLine(port);
    let launched: ReturnType<typeof launch>;
    try {
      launched = launch({ argv, cwd: this.spec.cwd, env, stdin: this.spec.stdin ?? 'open', ...(this.spec.trusted === true ? { trusted: true } : {}) });
    } catch (error) {
      throw new TargetError(`cannot start ${argv.join(' ')}: ${(error as Error).message}`, 'start-failed');
    }
    const { job, child } = launched;
    const run: RunState = { job, child, expectingExit: false, outputBytes: 0, outputLimitHit: false, gone: launched.exited.then(() => undefined) };
    this.current = run;
    return this.waitReady(run, launched.exited, argv, port);
  }

  /** The command's argv and environment, with `{port}` and `{protosim}` filled in. */
  private commandLine(port: number | undefined): { argv: string[]; env: Record<string, string | undefined> } {
    const substitute = (s: string): string => (port === undefined ? s : s.replaceAll('{port}', String(port)));
    const argv = this.spec.command.flatMap((a) => (a === '{protosim}' ? protosimLauncher() : [substitute(a)]));
    const env: Record<string, string | undefined> = { ...process.env };
    for (const [k, v] of Object.entries(this.spec.env ?? {})) env[k] = substitute(v);
    return { argv, env };
  }

  /** Waits until a run is ready (an output line, its port listening or accepting); rejects when it dies, stays silent or names no address. */
  private waitReady(run: RunState, exited: Promise<JobExit>, argv: readonly string[], port: number | undefined): Promise<string> {
    const ready = this.spec.ready;
    // user-supplied patterns run on a linear-time engine: `^(a+)+$` cannot hang protosim
    const readyPattern = ready !== undefined && 'stdout' in ready ? compileUserPattern(ready.stdout) : undefined;
    const readyErrPattern = ready !== undefined && 'stderr' in ready ? compileUserPattern(ready.stderr) : undefined;
    // No ready pattern: ready when the port (its own, or the one it was given) listens.
    const probePort = ready === undefined ? port : 'stdout' in ready || 'stderr' in ready ? undefined : (ready.port ?? port);

    return new Promise<string>((resolve, reject) => {
      const wait: ReadyWait = {
        run,
        port,
        probePort,
        settled: false,
        probed: false,
        timer: undefined,
        finish: (error, address, how) => {
          if (wait.settled) return;
          wait.settled = true;
          clearTimeout(wait.timer);
          if (error !== undefined) {
            run.expectingExit = true;
            run.job.killNow();
            // The next start (or the caller) waits for the run to be gone; nothing of it stays.
            reject(error);
          } else {
            this.address = address;
            this.readiness = how;
            resolve(address!);
          }
        },
      };
      const { child } = run;
      child.stdout!.on('data', this.lineScanner(wait, readyPattern, this.stdoutTail, 'stdout'));
      child.stderr!.on('data', this.lineScanner(wait, readyErrPattern, this.stderrTail, 'stderr'));
      child.on('error', (error) => {
        wait.finish(new TargetError(`cannot start ${argv.join(' ')}: ${error.message}`, 'start-failed'));
      });
      void exited.then((ended) => this.runEnded(wait, ended));
      wait.timer = setTimeout(() => {
        wait.finish(new TargetError(`the target was not ready within startTimeoutMs=${this.spec.startTimeoutMs} (waiting for ${this.waitingFor(port)})\n${this.tails()}`, 'start-timeout'));
      }, this.spec.startTimeoutMs);
      if (probePort !== undefined) this.probe(wait, probePort);
    });
  }

  /** A listener of stdout or stderr: the output kept in its tail and counted, its lines matched against the ready pattern. */
  private lineScanner(wait: ReadyWait, pattern: RegExp | undefined, tail: TailBuffer, stream: string): (chunk: Buffer) => void {
    const { run } = wait;
    let partial = '';
    return (chunk: Buffer): void => {
      // Past maxOutputBytes nothing more is kept: the tail ends where the limit was passed, the
      // same bytes each time for the same output (what still drains while it dies is not shown).
      if (run.outputLimitHit) return;
      const room = this.spec.maxOutputBytes === undefined ? chunk.length : this.spec.maxOutputBytes + 1 - run.outputBytes;
      tail.push(room < chunk.length ? chunk.subarray(0, Math.max(0, room)) : chunk);
      this.countOutput(run, chunk.length);
      if (pattern === undefined || wait.settled) return;
      // Lines end with \n, \r\n or a lone \r (programs written for other systems, terminals).
      const lines = (partial + chunk.toString('utf8')).split(/\r\n|\r|\n/);
      partial = lines.pop()!.slice(-maxReadyLineBytes);
      for (const line of lines) {
        const m = pattern.exec(line.slice(0, maxReadyLineBytes));
        if (m !== null) return this.fromMatch(wait, m, `a ${stream} line matched ${pattern.source}`);
      }
    };
  }

  /** Ready at the address a ready line names (its first group), else at the port the target was given. */
  private fromMatch(wait: ReadyWait, m: RegExpExecArray, how: string): void {
    if (m[1] !== undefined) {
      const address = readyAddress(m[1], this.spec.scheme);
      if (typeof address !== 'string') {
        wait.finish(new TargetError(`the target's ready line names ${JSON.stringify(m[1])}: ${address.problem}`, 'bad-ready-address'));
        return;
      }
      wait.finish(undefined, address, how);
      return;
    }
    if (wait.port !== undefined) {
      wait.finish(undefined, `${this.spec.scheme}://127.0.0.1:${wait.port}`, how);
      return;
    }
    wait.finish(new TargetError('the ready pattern has no group for the address and the target has no port: add (\\S+) to the pattern or port: auto', 'no-address'));
  }

  /** Every process of a run is gone: how it ended is kept, and told (a start that fails, or an exit nobody asked for). */
  private runEnded(wait: ReadyWait, ended: JobExit): void {
    const { run } = wait;
    const info: ExitInfo = {
      ...ended,
      expected: run.expectingExit,
      ...(run.outputLimitHit ? { reason: `it printed more than maxOutputBytes=${this.spec.maxOutputBytes} bytes of output` } : {}),
    };
    run.exit = info;
    // A leftover holding its pipes (where no namespace contains it) must not hold protosim.
    setTimeout(() => releaseStreams(run.child), 1000).unref();
    if (this.current !== run) return;
    this.exit = info;
    this.paused = false;
    if (!wait.settled) {
      const why = wait.probed
        ? `the target exited right after the readiness probe connected to it and closed the connection (${describeExit(info)}): it does not survive a connection that closes at once; use ready: { port: ${wait.probePort} } (seen listening, no connection) or an output line`
        : `the target exited before it was ready (${describeExit(info)})`;
      wait.finish(new TargetError(`${why}\n${this.tails()}`, wait.probed ? 'died-after-probe' : 'died-at-start'));
      return;
    }
    if (!info.expected) this.onUnexpectedExit?.(info);
  }

  /** Whether a socket is listening (TCP) or bound (QUIC's UDP) on `port`; undefined where /proc/net cannot be read. */
  private portHeld(port: number): boolean | undefined {
    return this.spec.scheme === 'quic' ? udpPortBound(port) : portListening(port);
  }

  /** Waits, at most `boundMs`, until nothing holds `port` (or /proc/net cannot tell). */
  private async portReleased(port: number, boundMs: number): Promise<void> {
    const until = performance.now() + boundMs;
    while (this.portHeld(port) === true && performance.now() < until) await new Promise((r) => setTimeout(r, 10));
  }

  /** Ready when `probePort` is seen listening in /proc/net/tcp, or (probe: connect, or no /proc) accepts a connection. */
  private probe(wait: ReadyWait, probePort: number): void {
    if (this.spec.scheme === 'quic') return this.probeUdp(wait, probePort);
    const ready = this.spec.ready;
    const byConnect = ready !== undefined && 'probe' in ready && ready.probe === 'connect';
    const listening = (): void => {
      if (wait.settled) return;
      const seen = portListening(probePort);
      if (seen === undefined) return connecting();
      if (seen) return wait.finish(undefined, `${this.spec.scheme}://127.0.0.1:${probePort}`, `port ${probePort} seen listening (/proc/net/tcp)`);
      setTimeout(listening, 20);
    };
    const connecting = (): void => {
      if (wait.settled) return;
      const socket = connect({ host: '127.0.0.1', port: probePort });
      socket.once('connect', () => {
        socket.destroy();
        wait.probed = true;
        // Give a target that does not survive the probe the time to show it.
        setTimeout(() => wait.finish(undefined, `${this.spec.scheme}://127.0.0.1:${probePort}`, `port ${probePort} accepted a connection`), probeSettleMs);
      });
      socket.once('error', () => {
        socket.destroy();
        setTimeout(connecting, 50);
      });
    };
    if (byConnect) connecting();
    else listening();
  }

  /** QUIC: ready when a UDP socket is bound to `probePort` (nothing to connect to without a handshake). */
  private probeUdp(wait: ReadyWait, probePort: number): void {
    if (wait.settled) return;
    const bound = udpPortBound(probePort);
    if (bound === undefined) return void setTimeout(() => wait.finish(undefined, `quic://127.0.0.1:${probePort}`, 'assumed ready after 1 s (/proc/net/udp cannot be read)'), 1000);
    if (bound) return wait.finish(undefined, `quic://127.0.0.1:${probePort}`, `UDP port ${probePort} seen bound (/proc/net/udp)`);
    setTimeout(() => this.probeUdp(wait, probePort), 20);
  }

  private waitingFor(port: number | undefined): string {
    const ready = this.spec.ready;
    if (ready !== undefined && 'stdout' in ready) return `a stdout line matching ${ready.stdout}`;
    if (ready !== undefined && 'stderr' in ready) return `a stderr line matching ${ready.stderr}`;
    const p = (ready !== undefined && 'port' in ready ? ready.port : undefined) ?? port;
    if (this.spec.scheme === 'quic') return `UDP port ${p} to be bound`;
    return ready !== undefined && 'probe' in ready && ready.probe === 'connect' ? `port ${p} to accept a connection` : `port ${p} to listen`;
  }

  /** Counts output against maxOutputBytes; a process past it is killed (not expected: a crash with a reason). */
  private countOutput(run: RunState, bytes: number): void {
    const limit = this.spec.maxOutputBytes;
    if (limit === undefined || run.outputLimitHit || run !== this.current) return;
    run.outputBytes += bytes;
    if (run.outputBytes <= limit) return;
    run.outputLimitHit = true;
    run.job.killNow();
  }

  /** SIGKILL, as a crash: the program and everything it started; resolves when they are gone. */
  async kill(): Promise<void> {
    const run = this.current;
    if (run === undefined || run.exit !== undefined) return;
    run.expectingExit = true;
    run.job.killNow();
    this.paused = false;
    await run.gone;
  }

  /** SIGSTOP to the program and what it started: they keep their sockets but run no code. */
  pause(): void {
    if (!this.running || this.paused) return;
    this.current!.job.signalProgram('SIGSTOP');
    this.paused = true;
  }

  /** Pauses, then waits (up to `boundMs`) until the kernel has stopped every process of the program, so what comes next meets a stopped program. */
  async pauseStopped(boundMs = 1000): Promise<void> {
    this.pause();
    const job = this.current?.job;
    const until = performance.now() + boundMs;
    while (job !== undefined && !job.programStopped() && performance.now() < until) await new Promise((r) => setTimeout(r, 5));
  }

  /** SIGCONT after pause. */
  resume(): void {
    if (!this.running || !this.paused) return;
    this.current!.job.signalProgram('SIGCONT');
    this.paused = false;
  }

  /**
   * Asks the target to end as its `shutdown` says (SIGTERM by default, or a console line), then
   * SIGKILL after a grace period; resolves when every process of it is gone. A target that never
   * became ready is killed at once.
   */
  async stop(): Promise<void> {
    const run = this.current;
    if (run === undefined || run.exit !== undefined) return;
    if (this.address === undefined) return this.killRun(run);
    run.expectingExit = true;
    this.resume();
    const shutdown = this.spec.shutdown ?? { signal: 'SIGTERM' as NodeJS.Signals };
    if ('console' in shutdown && run.child.stdin !== null && run.child.stdin.writable) {
      run.child.stdin.write(shutdown.console.endsWith('\n') ? shutdown.console : `${shutdown.console}\n`);
    } else run.job.signalProgram('signal' in shutdown ? shutdown.signal : 'SIGTERM');
    const killer = setTimeout(() => run.job.killNow(), stopGraceMs);
    await run.gone;
    clearTimeout(killer);
  }

  /** Stops (if running) and starts again on the same port. */
  async restart(): Promise<string> {
    await this.stop();
    return this.start();
  }

  /** Kills a run (ready or not) and waits until it is gone. */
  private async killRun(run: RunState | undefined): Promise<void> {
    if (run === undefined) return;
    if (run.exit === undefined) {
      run.expectingExit = true;
      run.job.killNow();
    }
    await run.gone;
  }
}

/** `exit code 70` / `killed by SIGKILL`. */
export function describeExit(info: ExitInfo): string {
  const how = info.signal !== null ? `killed by ${info.signal}` : `exit code ${info.code}`;
  return info.reason !== undefined ? `${how}: ${info.reason}` : how;
}
