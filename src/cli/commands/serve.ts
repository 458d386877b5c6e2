/**
 * `protosim serve <protocol>`: runs a reference server until SIGTERM/SIGINT. The ready line on
 * stdout (`protosim kv listening on http://127.0.0.1:8112`) is what tests and the conformance
 * harness wait for; connections and errors are logged to stderr, one line each.
 */
import type { Command } from 'commander';
import { ExitCode, InputError, ProtosimError } from '../../errors.js';
import {
  defaultLimits,
  formatDefectList,
  parseServerProtocol,
  startServer,
  type ServerLimits,
  type ServerOptions,
  type ServerProtocol,
} from '../../servers/index.js';
import type { CliContext } from '../context.js';
import { normalizeCodec } from '../../scenario/target-schema.js';

interface ServeFlags {
  port: number;
  host: string;
  defect?: string;
  listDefects?: boolean;
  heartbeatTimeoutMs?: number;
  accounts?: number;
  account?: string[];
  codec?: string;
  framing?: string;
  deliveryConfirmMs?: number;
  maxConnections?: number;
  maxFrameBytes?: number;
  idleTimeoutMs?: number;
  readTimeoutMs?: number;
  maxPendingWriteBytes?: number;
  maxNameChars?: number;
  maxMessageChars?: number;
  maxPatternChars?: number;
  maxEntries?: number;
  maxQueuedMessages?: number;
}

/** Flags that only make sense for one protocol; using them with another is a usage error. */
const protocolFlags: Record<string, { protocol: ServerProtocol; flag: string }> = {
  heartbeatTimeoutMs: { protocol: 'ping-liveness', flag: '--heartbeat-timeout-ms' },
  accounts: { protocol: 'ping-liveness', flag: '--accounts' },
  account: { protocol: 'ping-liveness', flag: '--account' },
  codec: { protocol: 'register-exit', flag: '--codec' },
  framing: { protocol: 'offline-queue', flag: '--framing' },
  deliveryConfirmMs: { protocol: 'offline-queue', flag: '--delivery-confirm-ms' },
};

function integer(flag: string, min: number, max = Number.MAX_SAFE_INTEGER) {
  return (text: string): number => {
    const value = Number(text);
    if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(value) || value < min || value > max) {
      throw new InputError(`${flag} must be an integer ${min}..${max}, got ${JSON.stringify(text)}`, 'invalid-option');
    }
    return value;
  };
}

export function registerServeCommand(program: Command, ctx: CliContext): void {
  const limit = (name: keyof ServerLimits) => `(default ${defaultLimits[name]})`;
  program
    .command('serve')
    .description('Run the reference server of a protocol (kv, ping-liveness, register-exit, offline-queue) until SIGTERM/SIGINT')
    .argument('[protocol]', 'kv (also lock-alternation, status-handshake), ping-liveness, register-exit or offline-queue')
    .option('--port <n>', 'TCP port; 0 picks a free one', integer('--port', 0, 65535), 0)
    .option('--host <host>', 'loopback address to listen on', '127.0.0.1')
    .option('--defect <name>', 'start with one named flaw (see --list-defects)')
    .option('--list-defects', 'list the defects (of the protocol, if given) and exit')
    .option('--heartbeat-timeout-ms <ms>', 'ping-liveness: drop a session silent this long (default 30000)', integer('--heartbeat-timeout-ms', 1))
    .option('--accounts <n>', 'ping-liveness: accounts user1..userN / pass1..passN (default 2)', integer('--accounts', 1, 100_000))
    .option('--account <name:password>', 'ping-liveness: one more account (repeatable), e.g. mallory:secret', (value: string, previous: string[] | undefined) => [...(previous ?? []), value])
    .option('--codec <codec>', 'register-exit: json-lines (default; json also accepted) or gob')
    .option('--framing <framing>', 'offline-queue: length-delimited (default) or raw')
    .option('--delivery-confirm-ms <ms>', 'offline-queue: how long a push stays unconfirmed (default 2000)', integer('--delivery-confirm-ms', 0))
    .option('--max-connections <n>', `connections held at once ${limit('maxConnections')}`, integer('--max-connections', 1))
    .option('--max-frame-bytes <n>', `largest frame or request head ${limit('maxFrameBytes')}`, integer('--max-frame-bytes', 64))
    .option('--idle-timeout-ms <ms>', `close a connection silent this long, 0 never ${limit('idleTimeoutMs')}`, integer('--idle-timeout-ms', 0))
    .option('--read-timeout-ms <ms>', `close a connection whose frame is unfinished this long ${limit('readTimeoutMs')}`, integer('--read-timeout-ms', 0))
    .option('--max-pending-write-bytes <n>', `drop a client that does not read beyond this ${limit('maxPendingWriteBytes')}`, integer('--max-pending-write-bytes', 1024))
    .option('--max-name-chars <n>', 'longest name (protocol default)', integer('--max-name-chars', 1))
    .option('--max-message-chars <n>', 'longest message or value (protocol default)', integer('--max-message-chars', 1))
    .option('--max-pattern-chars <n>', `longest list pattern ${limit('maxPatternChars')}`, integer('--max-pattern-chars', 1))
    .option('--max-entries <n>', `most accounts, names, keys or stores ${limit('maxEntries')}`, integer('--max-entries', 1))
    .option('--max-queued-messages <n>', `most messages queued per account ${limit('maxQueuedMessages')}`, integer('--max-queued-messages', 1))
    .action(async (protocolArg: string | undefined, flags: ServeFlags) => {
      if (flags.listDefects) {
        const protocol = protocolArg === undefined ? undefined : parseServerProtocol(protocolArg);
        ctx.io.stdout(`${formatDefectList(protocol)}\n`);
        return;
      }
      if (protocolArg === undefined) {
        throw new InputError('serve needs a protocol: kv, ping-liveness, register-exit or offline-queue', 'missing-protocol');
      }
      const protocol = parseServerProtocol(protocolArg);
      const options = toServerOptions(protocol, flags, ctx);
      const server = await startServer(protocol, options);
      ctx.io.stdout(`protosim ${protocol} listening on ${server.address}\n`);
      await runUntilSignalled(server.close.bind(server), server.closed, ctx);
    });
}

function toServerOptions(protocol: ServerProtocol, flags: ServeFlags, ctx: CliContext): ServerOptions {
  for (const [key, { protocol: owner, flag }] of Object.entries(protocolFlags)) {
    if (flags[key as keyof ServeFlags] !== undefined && owner !== protocol) {
      throw new InputError(`${flag} applies to ${owner} only, not ${protocol}`, 'invalid-option');
    }
  }
  // One vocabulary with run, suites and manifests: json-lines (json accepted) or gob.
  const codec = flags.codec !== undefined ? normalizeCodec(flags.codec) : undefined;
  if (codec !== undefined && codec !== 'json-lines' && codec !== 'gob') {
    throw new InputError(`--codec must be json-lines or gob, got ${JSON.stringify(flags.codec)}`, 'invalid-option');
  }
  if (flags.framing !== undefined && flags.framing !== 'length-delimited' && flags.framing !== 'raw') {
    throw new InputError(`--framing must be length-delimited or raw, got ${JSON.stringify(flags.framing)}`, 'invalid-option');
  }
  const limits: Partial<ServerLimits> = {};
  const limitNames: (keyof ServerLimits)[] = [
    'maxConnections', 'maxFrameBytes', 'idleTimeoutMs', 'readTimeoutMs', 'maxPendingWriteBytes',
    'maxNameChars', 'maxMessageChars', 'maxPatternChars', 'maxEntries', 'maxQueuedMessages',
  ];
  for (const name of limitNames) {
    const value = flags[name];
    if (value !== undefined) limits[name] = value;
  }
  const options: ServerOptions = {
    host: flags.host,
    port: flags.port,
    limits,
    log: (line) => ctx.io.stderr(`${line}\n`),
  };
  if (flags.defect !== undefined) options.defect = flags.defect;
  if (flags.heartbeatTimeoutMs !== undefined) options.heartbeatTimeoutMs = flags.heartbeatTimeoutMs;
  if (flags.accounts !== undefined) options.accounts = flags.accounts;
  if (flags.account !== undefined) {
    const extra: Record<string, string> = {};
    for (const spec of flags.account) {
      const at = spec.indexOf(':');
      if (at <= 0) throw new InputError(`--account expects NAME:PASSWORD, got ${JSON.stringify(spec)}`, 'invalid-option');
      extra[spec.slice(0, at)] = spec.slice(at + 1);
    }
    options.extraAccounts = extra;
  }
  if (codec !== undefined) options.codec = codec === 'json-lines' ? 'json' : 'gob';
  if (flags.framing !== undefined) options.framing = flags.framing as 'length-delimited' | 'raw';
  if (flags.deliveryConfirmMs !== undefined) options.deliveryConfirmMs = flags.deliveryConfirmMs;
  return options;
}

/**
 * Waits for SIGTERM or SIGINT, then closes the server; resolves once it has closed so `runCli`
 * returns 0. A server killed by its defect (crash-on-disconnect) rejects, and the CLI exits 70.
 */
async function runUntilSignalled(close: () => Promise<void>, closed: Promise<void>, ctx: CliContext): Promise<void> {
  let onSignal: ((signal: NodeJS.Signals) => void) | undefined;
  const signalled = new Promise<NodeJS.Signals>((resolve) => {
    onSignal = resolve;
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  try {
    const outcome = await Promise.race([
      signalled.then((signal) => ({ signal })),
      closed.then(
        () => ({ signal: undefined }),
        (error: Error) => ({ error }),
      ),
    ]);
    if ('error' in outcome) {
      throw new ProtosimError('server-crashed', `server died: ${outcome.error.message}`, ExitCode.internal);
    }
    if (outcome.signal !== undefined) ctx.io.stderr(`protosim: ${outcome.signal} received, shutting down\n`);
    await close();
  } finally {
    if (onSignal !== undefined) {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
    }
  }
}
