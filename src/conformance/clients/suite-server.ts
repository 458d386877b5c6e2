/**
 * The server command of a whole live system (a client suite's `server:`): the command as it is run
 * for an adapter, started fresh for each case, and the process faults steps inject into it (kill,
 * pause, resume, restart, quit). When the adapter says its program speaks QUIC (`transport: quic`),
 * protosim's reference server (`{protosim} serve ...`) is started with `--transport quic` and the
 * client programs get its `quic://` address; any other server command cannot be told to, and is
 * refused up front (InputError, exit 2).
 */
import { dirname, resolve } from 'node:path';
import { InputError } from '../../errors.js';
import type { TraceEvent } from '../../sim/trace.js';
import { ManagedProcess } from '../managed-process.js';
import { StepError, StepSkip } from '../engine/verdicts.js';
import type { Adapter } from './adapter.js';
import type { ClientSuite } from './load-client-suite.js';
import { serverSchemeOf } from './reference-server.js';

/** A process fault or stop a step asks of the server command. */
export type ServerAction = 'kill' | 'pause' | 'resume' | 'restart' | 'quit';
export const serverActions: readonly ServerAction[] = ['kill', 'pause', 'resume', 'restart', 'quit'];

/** The value of `--name VALUE` or `--name=VALUE` in a command, if given. */
export function optionIn(command: readonly string[], name: string): string | undefined {
  for (let i = 0; i < command.length; i++) {
    if (command[i] === name) return command[i + 1] ?? '';
    if (command[i]!.startsWith(`${name}=`)) return command[i]!.slice(name.length + 1);
  }
  return undefined;
}

/**
 * The suite's server command as it is run for this adapter: as written, or with `--transport quic`
 * when the adapter's program speaks QUIC. An InputError (exit 2) when it cannot be run so: no server
 * command, one that is not protosim's reference server, or one told another transport or a codec
 * other than JSON lines.
 */
export function suiteServerCommand(suite: ClientSuite, adapter: Adapter): readonly string[] | undefined {
  const spec = suite.spec.server;
  if (adapter.spec.transport !== 'quic') return spec?.command;
  const where = `adapter ${adapter.spec.adapter}${adapter.file ? ` (${adapter.file})` : ''}: transport: quic`;
  const file = `${suite.file}: server.command`;
  if (spec === undefined) {
    throw new InputError(`${where}: the suite ${suite.spec.suite} (${suite.file}) has no server command to start over QUIC; expected a suite with server: {command: ['{protosim}', serve, ...]}`, 'invalid-option');
  }
  const command = spec.command;
  if (command[0] !== '{protosim}' || command[1] !== 'serve') {
    throw new InputError(
      `${where}: protosim can start only its own reference server over QUIC, and ${file} is ${JSON.stringify(command.join(' '))}; expected ['{protosim}', serve, ...] (a server of your own that speaks QUIC: give it its QUIC options in server.command and leave the adapter's transport out)`,
      'invalid-option',
    );
  }
  const transport = optionIn(command, '--transport');
  if (transport !== undefined && transport !== 'quic') throw new InputError(`${where}: ${file} already says --transport ${transport}; expected no --transport (protosim adds --transport quic) or --transport quic`, 'invalid-option');
  const codec = optionIn(command, '--codec');
  if (codec !== undefined && codec !== 'json-lines' && codec !== 'json') throw new InputError(`${where}: ${file} says --codec ${codec}, and QUIC carries JSON objects; expected json-lines (or no --codec)`, 'invalid-option');
  return transport === undefined ? [...command, '--transport', 'quic'] : command;
}

/** The suite's server command, started for one case; its address is what the clients get. */
export class SuiteServer {
  readonly process: ManagedProcess;
  /** where the clients find it: `tcp://`, `quic://` or the IM interface's script URL */
  address = '';
  /**
   * Killed over QUIC, not restarted since: a killed process sends no CONNECTION_CLOSE and UDP has no
   * reset, so its clients hear nothing (over TCP the kernel resets their connections at once).
   */
  silent = false;

  constructor(
    private readonly suite: ClientSuite,
    private readonly adapter: Adapter,
    launcher: readonly string[],
  ) {
    const spec = suite.spec.server!;
    this.process = new ManagedProcess({
      command: suiteServerCommand(suite, adapter)!.flatMap((a) => (a === '{protosim}' ? [...launcher] : [a])),
      ...(spec.cwd !== undefined ? { cwd: resolve(dirname(resolve(suite.file)), spec.cwd) } : {}),
      ...(spec.env !== undefined ? { env: spec.env } : {}),
      ready: { stdout: spec.ready },
      port: 'auto',
      startTimeoutMs: spec.startTimeoutMs,
      scheme: serverSchemeOf(suite.spec.protocol),
      // The suite's server is the grader's (protosim's reference server): outside a submission's sandbox.
      trusted: true,
    });
  }

  /** Starts it and waits for its ready line. */
  async start(): Promise<void> {
    const address = await this.process.start();
    if (this.adapter.spec.transport === 'quic' && !address.startsWith('quic://')) {
      throw new StepError('harness', `the server command was started with --transport quic but its ready line names ${address}, not a quic:// address`);
    }
    // The IM interface's clients take a script URL; a server command prints its host and port.
    this.address = serverSchemeOf(this.suite.spec.protocol) === 'http' && !/\/[^/]+$/.test(address.replace(/^\w+:\/\//, '')) ? `${address}/IMserver.php` : address;
  }

  /** A process fault or stop, with its trace event (`t`: ms since the case started). */
  async act(what: ServerAction, t: number, push: (e: TraceEvent) => void): Promise<void> {
    const server = this.process;
    if (what === 'kill') {
      push({ k: 'fault', t, fault: { kind: 'crash', atMs: t, node: 'server', mode: 'reset' } });
      await server.kill();
      this.silent = this.adapter.spec.transport === 'quic';
    } else if (what === 'pause') {
      push({ k: 'fault', t, fault: { kind: 'pause', atMs: t, node: 'server' } });
      server.pause();
    } else if (what === 'resume') {
      push({ k: 'fault', t, fault: { kind: 'resume', atMs: t, node: 'server' } });
      server.resume();
    } else if (what === 'restart') {
      push({ k: 'fault', t, fault: { kind: 'restart', atMs: t, node: 'server', state: 'fresh' } });
      await server.kill();
      await server.start();
      this.silent = false;
    } else {
      push({ k: 'quit', t, node: 'server' });
      await server.stop();
    }
  }

  /**
   * The bound of an expect on a client while the server is silent (killed over QUIC): a client can
   * only notice when its QUIC idle timeout runs out, which the protocols leave open, so the wait is
   * the program's lease (the adapter's `leaseMs`: how long it takes to decide a silent peer is gone)
   * and half again on top of `expectMs`. A SKIP when the adapter gives none, or when that runs past
   * the case's bound (`remainingMs`): a wait sized for TCP's reset would be a false FAIL.
   */
  silentWaitMs(expectMs: number, leaseMs: number | undefined, remainingMs: number): number {
    const why = 'over QUIC a killed server sends nothing (no CONNECTION_CLOSE, and UDP has no reset), so a client notices only when its QUIC idle timeout runs out, which the protocol leaves open';
    if (leaseMs === undefined) throw new StepSkip(`${why}; the adapter ${this.adapter.spec.adapter} gives no leaseMs (how long the program takes to notice a silent peer), so this case cannot be judged over QUIC (add leaseMs to judge it)`);
    const bound = expectMs + Math.ceil(leaseMs * 1.5);
    if (bound > remainingMs) throw new StepSkip(`${why}; waiting for the program's leaseMs ${leaseMs} and half again (${bound} ms) runs past the case's time bound (${Math.max(0, Math.round(remainingMs))} ms left), so this case cannot be judged over QUIC`);
    return bound;
  }
}
