/**
 * A server command protosim starts itself: spawned, waited for (a readiness probe), stopped,
 * killed (-9), paused (SIGSTOP/SIGCONT) and restarted as a case's faults say. Its stdout and stderr
 * are drained into bounded tails, so a target that floods its output costs no memory, and the tails
 * explain a crash.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { TargetError } from '../errors.js';
import { parseTargetAddress } from '../scenario/target-address.js';
import { TailBuffer } from './tailBuffer.js';

export interface CommandTargetSpec {
  command: string[];
  cwd?: string;
  env?: Record<string, string>;
  /** how protosim knows it listens; none: the port it was given (`{port}`) accepts a connection */
  ready?: { stdout: string } | { stderr: string } | { port: number };
  port?: 'auto' | number;
  startTimeoutMs: number;
  /**
   * Bytes of stdout plus stderr the process may print in one run (from start to exit); past it the
   * process is killed, as a crash whose reason says so (a submission that floods its output).
   * Unlimited when absent.
   */
  maxOutputBytes?: number;
  /** `http` for the kv protocol; the scheme of the address built from a port */
  scheme: 'tcp' | 'http';
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

export class ManagedProcess {
  private child: ChildProcess | undefined;
  private readonly stdoutTail = new TailBuffer(maxTailBytes);
  private readonly stderrTail = new TailBuffer(maxTailBytes);
  private expectingExit = false;
  /** bytes printed since the last start, against maxOutputBytes */
  private outputBytes = 0;
  private outputLimitHit = false;
  private port: number | undefined;
  /** the address the target listens on, once ready */
  address: string | undefined;
  /** set when the process ended; cleared by start */
  exit: ExitInfo | undefined;
  /** called when the process ends without protosim asking it to */
  onUnexpectedExit: ((info: ExitInfo) => void) | undefined;
  paused = false;

  constructor(private readonly spec: CommandTargetSpec) {}

  /** Started, ready, and not ended. */
  get running(): boolean {
    return this.child !== undefined && this.exit === undefined && this.address !== undefined;
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
    this.exit = undefined;
    this.address = undefined;
    this.paused = false;
    this.expectingExit = false;
    this.stdoutTail.clear();
    this.stderrTail.clear();
    this.outputBytes = 0;
    this.outputLimitHit = false;
    if (this.port === undefined) this.port = this.spec.port === 'auto' ? await freeLoopbackPort() : this.spec.port;
    const port = this.port;
    const substitute = (s: string): string => (port === undefined ? s : s.replaceAll('{port}', String(port)));
    const argv = this.spec.command.flatMap((a) => (a === '{protosim}' ? protosimLauncher() : [substitute(a)]));
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const [k, v] of Object.entries(this.spec.env ?? {})) env[k] = substitute(v);
    let child: ChildProcess;
    try {
      child = spawn(argv[0]!, argv.slice(1), { cwd: this.spec.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (error) {
      throw new TargetError(`cannot start ${argv.join(' ')}: ${(error as Error).message}`, 'start-failed');
    }
    this.child = child;
    const readyPattern = this.spec.ready !== undefined && 'stdout' in this.spec.ready ? new RegExp(this.spec.ready.stdout) : undefined;
    const readyErrPattern = this.spec.ready !== undefined && 'stderr' in this.spec.ready ? new RegExp(this.spec.ready.stderr) : undefined;

    return new Promise<string>((resolve, reject) => {
      let settled = false;
      const finish = (error: TargetError | undefined, address?: string): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (error !== undefined) {
          this.stopNow();
          reject(error);
        } else {
          this.address = address;
          resolve(address!);
        }
      };
      const fromMatch = (m: RegExpExecArray): string | undefined => {
        if (m[1] !== undefined) {
          const parsed = parseTargetAddress(m[1]);
          if (typeof parsed === 'string') {
            finish(new TargetError(`the target's ready line names ${JSON.stringify(m[1])}: ${parsed}`, 'bad-ready-address'));
            return undefined;
          }
          return parsed.text;
        }
        if (port !== undefined) return `${this.spec.scheme}://127.0.0.1:${port}`;
        finish(new TargetError('the ready pattern has no group for the address and the target has no port: add (\\S+) to the pattern or port: auto', 'no-address'));
        return undefined;
      };
      const lineScanner = (pattern: RegExp | undefined, tail: TailBuffer) => {
        let partial = '';
        return (chunk: Buffer): void => {
          tail.push(chunk);
          this.countOutput(child, chunk.length);
          if (pattern === undefined || settled) return;
          const text = partial + chunk.toString('utf8');
          const lines = text.split('\n');
          partial = lines.pop()!.slice(-maxReadyLineBytes);
          for (const line of lines) {
            const m = pattern.exec(line.slice(0, maxReadyLineBytes));
            if (m !== null) {
              const address = fromMatch(m);
              if (address !== undefined) finish(undefined, address);
              return;
            }
          }
        };
      };
      child.stdout!.on('data', lineScanner(readyPattern, this.stdoutTail));
      child.stderr!.on('data', lineScanner(readyErrPattern, this.stderrTail));
      child.on('error', (error) => {
        finish(new TargetError(`cannot start ${argv.join(' ')}: ${error.message}`, 'start-failed'));
      });
      child.on('exit', (code, signal) => {
        const info: ExitInfo = {
          code,
          signal,
          expected: this.expectingExit,
          ...(this.outputLimitHit ? { reason: `it printed more than maxOutputBytes=${this.spec.maxOutputBytes} bytes of output` } : {}),
        };
        this.exit = info;
        if (!settled) {
          finish(new TargetError(`the target exited before it was ready (${describeExit(info)})\n${this.tails()}`, 'died-at-start'));
          return;
        }
        if (!info.expected) this.onUnexpectedExit?.(info);
      });
      const timer = setTimeout(() => {
        finish(new TargetError(`the target was not ready within startTimeoutMs=${this.spec.startTimeoutMs}\n${this.tails()}`, 'start-timeout'));
      }, this.spec.startTimeoutMs);
      // No ready pattern: ready when the port it was given accepts a connection.
      const probePort = this.spec.ready === undefined ? port : 'port' in this.spec.ready ? this.spec.ready.port : undefined;
      if (probePort !== undefined) {
        const probe = (): void => {
          if (settled) return;
          const socket = connect({ host: '127.0.0.1', port: probePort });
          socket.once('connect', () => {
            socket.destroy();
            finish(undefined, `${this.spec.scheme}://127.0.0.1:${probePort}`);
          });
          socket.once('error', () => {
            socket.destroy();
            setTimeout(probe, 50);
          });
        };
        probe();
      }
    });
  }

  /** Counts output against maxOutputBytes; a process past it is killed (not expected: a crash with a reason). */
  private countOutput(child: ChildProcess, bytes: number): void {
    const limit = this.spec.maxOutputBytes;
    if (limit === undefined || this.outputLimitHit || child !== this.child) return;
    this.outputBytes += bytes;
    if (this.outputBytes <= limit) return;
    this.outputLimitHit = true;
    child.kill('SIGKILL');
  }

  /** SIGKILL, as a crash; resolves when the process is gone. */
  async kill(): Promise<void> {
    await this.signalAndWait('SIGKILL');
  }

  /** SIGSTOP: the process keeps its sockets but runs no code. */
  pause(): void {
    if (!this.running || this.paused) return;
    this.child!.kill('SIGSTOP');
    this.paused = true;
  }

  /** SIGCONT after pause. */
  resume(): void {
    if (!this.running || !this.paused) return;
    this.child!.kill('SIGCONT');
    this.paused = false;
  }

  /** SIGTERM, then SIGKILL after a grace period; resolves when the process is gone. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.resume();
    const killer = setTimeout(() => this.child?.kill('SIGKILL'), stopGraceMs);
    await this.signalAndWait('SIGTERM');
    clearTimeout(killer);
  }

  /** Stops (if running) and starts again on the same port. */
  async restart(): Promise<string> {
    await this.stop();
    return this.start();
  }

  private async signalAndWait(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (child === undefined || this.exit !== undefined) return;
    this.expectingExit = true;
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    if (this.paused && signal !== 'SIGKILL') child.kill('SIGCONT');
    child.kill(signal);
    this.paused = false;
    await gone;
  }

  private stopNow(): void {
    if (this.child !== undefined && this.exit === undefined) {
      this.expectingExit = true;
      this.child.kill('SIGKILL');
    }
  }
}

/** `exit code 70` / `killed by SIGKILL`. */
export function describeExit(info: ExitInfo): string {
  const how = info.signal !== null ? `killed by ${info.signal}` : `exit code ${info.code}`;
  return info.reason !== undefined ? `${how}: ${info.reason}` : how;
}
