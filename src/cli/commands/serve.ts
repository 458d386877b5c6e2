/**
 * `protosim serve <protocol>`: runs a reference server until SIGTERM/SIGINT. The ready line on
 * stdout (`protosim kv listening on http://127.0.0.1:8112`) is what tests and the conformance
 * harness wait for; connections and errors are logged to stderr, one line each. The servers, their
 * own flags and their defects are their packages' (read through the registry).
 */
import { Option, type Command } from 'commander';
import { ExitCode, InputError, ProtosimError } from '../../errors.js';
import type { LiveProtocol, ServerOptionSpec } from '../../models/package.js';
import { builtinLiveProtocols, orList } from '../../models/registry.js';
import {
  defaultLimits,
  formatDefectList,
  parseServerProtocol,
  quicTransportDefects,
  serverTransports,
  startServer,
  type ServerLimits,
  type ServerOptions,
} from '../../servers/index.js';
import { servedNote } from '../../servers/defect-catalog.js';
import { isProtocolPath, loadProtocolModule } from '../../scenario/protocol-module.js';
import { resolve } from 'node:path';
import { readFileSync } from 'node:fs';
import type { CliContext } from '../context.js';
import { normalizeCodec } from '../../scenario/target-schema.js';

type ServeFlags = Record<string, unknown> & { port: number; host: string; defect?: string; listDefects?: boolean; transport?: string; cert?: string; key?: string; quicDefect?: string };

/** The common limits and their flags. */
const limitFlags: { name: keyof ServerLimits; flag: string; min: number; what: string }[] = [
  { name: 'maxConnections', flag: '--max-connections <n>', min: 1, what: 'connections held at once' },
  { name: 'maxFrameBytes', flag: '--max-frame-bytes <n>', min: 64, what: 'largest frame or request head' },
  { name: 'idleTimeoutMs', flag: '--idle-timeout-ms <ms>', min: 0, what: 'close a connection silent this long, 0 never' },
  { name: 'readTimeoutMs', flag: '--read-timeout-ms <ms>', min: 0, what: 'close a connection whose frame is unfinished this long' },
  { name: 'maxPendingWriteBytes', flag: '--max-pending-write-bytes <n>', min: 1024, what: 'drop a client that does not read beyond this' },
  { name: 'maxNameChars', flag: '--max-name-chars <n>', min: 1, what: 'longest name' },
  { name: 'maxMessageChars', flag: '--max-message-chars <n>', min: 1, what: 'longest message or value' },
  { name: 'maxPatternChars', flag: '--max-pattern-chars <n>', min: 1, what: 'longest list pattern' },
  { name: 'maxEntries', flag: '--max-entries <n>', min: 1, what: 'most accounts, names, keys or stores' },
  { name: 'maxQueuedMessages', flag: '--max-queued-messages <n>', min: 1, what: 'most messages queued per account' },
];

/** Limits whose default depends on the protocol (a package sets its own). */
const protocolDefaultLimits = new Set<string>(builtinLiveProtocols.flatMap((l) => Object.keys(l.server.limitDefaults ?? {})));

function integer(flag: string, min: number, max = Number.MAX_SAFE_INTEGER) {
  return (text: string): number => {
    const value = Number(text);
    if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(value) || value < min || value > max) {
      throw new InputError(`${flag} must be an integer ${min}..${max}, got ${JSON.stringify(text)}`, 'invalid-option');
    }
    return value;
  };
}

/** A package option's flag: what it sets, which servers take it, and its commander option. */
interface ProtocolFlag {
  spec: ServerOptionSpec;
  owners: LiveProtocol[];
  option: Option;
  name: string;
}

/** The protocol-specific flags of every built-in server, each once (a flag several servers share lists them all). */
function protocolFlags(): ProtocolFlag[] {
  const byFlag = new Map<string, { spec: ServerOptionSpec; owners: LiveProtocol[] }>();
  for (const live of builtinLiveProtocols) {
    for (const spec of live.server.options) {
      const known = byFlag.get(spec.flag);
      if (known === undefined) byFlag.set(spec.flag, { spec, owners: [live] });
      else known.owners.push(live);
    }
  }
  return [...byFlag.values()].map(({ spec, owners }) => {
    const name = spec.flag.split(' ')[0]!;
    const option = new Option(spec.flag, owners.map((o) => `${o.name}: ${spec.description}`).join('; '));
    if (spec.kind === 'integer') option.argParser(integer(name, spec.min ?? 0, spec.max));
    if (spec.kind === 'entries') option.argParser((value: string, previous: string[] | undefined) => [...(previous ?? []), value]);
    return { spec, owners, option, name };
  });
}

export function registerServeCommand(program: Command, ctx: CliContext): void {
  const limit = (name: keyof ServerLimits) => (protocolDefaultLimits.has(name) ? '(protocol default)' : `(default ${defaultLimits[name]})`);
  const names = builtinLiveProtocols.map((l) => l.name);
  const flags = protocolFlags();
  const command = program
    .command('serve')
    .description(`Run the reference server of a protocol (${names.join(', ')}) until SIGTERM/SIGINT`)
    .argument('[protocol]', `${orList(names)}${servedNote()}`)
    .option('--port <n>', 'port (UDP with --transport quic); 0 picks a free one', integer('--port', 0, 65535), 0)
    .option('--host <host>', 'loopback address to listen on', '127.0.0.1')
    .option('--transport <name>', 'tcp, or quic: TLS with ALPN echo-protocol, one JSON object per stream write (JSON wires only)')
    .option('--cert <file>', 'QUIC: certificate chain, PEM (default: a self-signed one made at start)')
    .option('--key <file>', 'QUIC: private key of --cert, PEM')
    .option('--quic-defect <name>', `QUIC: a flaw of the transport itself (${quicTransportDefects.map((d) => d.name).join(', ')})`)
    .option('--defect <name>', 'start with one named flaw (see --list-defects)')
    .option('--list-defects', 'list the defects (of the protocol, if given) and exit');
  for (const f of flags) command.addOption(f.option);
  for (const l of limitFlags) command.option(l.flag, `${l.what} ${limit(l.name)}`, integer(l.flag.split(' ')[0]!, l.min));
  command.action(async (protocolArg: string | undefined, given: ServeFlags) => {
    if (protocolArg !== undefined && isProtocolPath(protocolArg)) protocolArg = await loadServedModule(protocolArg, ctx);
    if (given.listDefects) {
      const protocol = protocolArg === undefined ? undefined : parseServerProtocol(protocolArg).name;
      ctx.io.stdout(`${formatDefectList(protocol)}\n`);
      return;
    }
    if (protocolArg === undefined) {
      throw new InputError(`serve needs a protocol: ${orList(names)}`, 'missing-protocol');
    }
    const live = parseServerProtocol(protocolArg);
    const options = toServerOptions(live, flags, given, ctx);
    const server = await startServer(live.name, options);
    ctx.io.stdout(`protosim ${live.name} listening on ${server.address}\n`);
    await runUntilSignalled(server.close.bind(server), server.closed, ctx);
  });
}

/**
 * Loads a protocol module given to serve (`protosim serve ./my-protocol/index.js`) and returns the
 * name its server goes by; an InputError when its package has no server (no `live.server`).
 */
async function loadServedModule(ref: string, ctx: CliContext): Promise<string> {
  const pkg = await loadProtocolModule(resolve(ctx.io.cwd ?? process.cwd(), ref), ref);
  if (pkg.live === undefined) {
    throw new InputError(
      `protocol module ${ref}: its package ${JSON.stringify(pkg.name)} has no server to run: protosim serve runs the server rules of a package's live side (live.server, see docs/models.md), and this one has none (it runs in run and check only)`,
      'no-server',
    );
  }
  return pkg.live.name;
}

/** One flag's text as the option's value; an InputError naming the flag for a bad one. */
function optionValue(f: ProtocolFlag, value: unknown): unknown {
  const { spec, name } = f;
  if (spec.kind === 'codec') {
    // One vocabulary with run, suites and manifests: json-lines (json accepted), gob...
    const codec = normalizeCodec(String(value));
    if (codec === null || (spec.choices !== undefined && !spec.choices.includes(codec))) throw new InputError(`${name} must be ${orList(spec.choices ?? [])}, got ${JSON.stringify(value)}`, 'invalid-option');
    return codec;
  }
  if (spec.kind === 'text' && spec.choices !== undefined && !spec.choices.includes(String(value))) {
    throw new InputError(`${name} must be ${orList(spec.choices)}, got ${JSON.stringify(value)}`, 'invalid-option');
  }
  if (spec.kind === 'entries') {
    const placeholder = /<([^>]+)>/.exec(spec.flag)?.[1]?.toUpperCase() ?? 'NAME:VALUE';
    const entries: Record<string, string> = {};
    for (const entry of value as string[]) {
      const at = entry.indexOf(':');
      if (at <= 0) throw new InputError(`${name} expects ${placeholder}, got ${JSON.stringify(entry)}`, 'invalid-option');
      entries[entry.slice(0, at)] = entry.slice(at + 1);
    }
    return entries;
  }
  return value;
}

function toServerOptions(live: LiveProtocol, flags: ProtocolFlag[], given: ServeFlags, ctx: CliContext): ServerOptions {
  const options: ServerOptions = {
    host: given.host,
    port: given.port,
    limits: {},
    log: (line) => ctx.io.stderr(`${line}\n`),
  };
  for (const f of flags) {
    const value = given[f.option.attributeName()];
    if (value === undefined) continue;
    if (!f.owners.includes(live)) throw new InputError(`${f.name} applies to ${f.owners.map((o) => o.name).join(', ')} only, not ${live.name}`, 'invalid-option');
    options[f.spec.key] = optionValue(f, value);
  }
  const limits: Partial<ServerLimits> = {};
  for (const { name } of limitFlags) {
    const value = given[name];
    if (value !== undefined) limits[name] = value as number;
  }
  options.limits = limits;
  if (given.defect !== undefined) options.defect = given.defect;
  Object.assign(options, transportOptions(given, ctx));
  return options;
}

/** `--transport`, `--cert`, `--key` as server options; an InputError (exit 2) for a bad combination or file. */
function transportOptions(given: ServeFlags, ctx: CliContext): Pick<ServerOptions, 'transport' | 'certificate' | 'quicDefect'> {
  const transport = given.transport ?? 'tcp';
  if (given.quicDefect !== undefined) {
    if (transport !== 'quic') throw new InputError('--quic-defect applies to --transport quic only', 'invalid-option');
    return { ...transportOptions({ ...given, quicDefect: undefined }, ctx), quicDefect: given.quicDefect };
  }
  if (!(serverTransports as readonly string[]).includes(transport)) throw new InputError(`--transport must be ${orList([...serverTransports])}, got ${JSON.stringify(transport)}`, 'invalid-option');
  if ((given.cert !== undefined || given.key !== undefined) && transport !== 'quic') throw new InputError('--cert and --key apply to --transport quic only', 'invalid-option');
  if ((given.cert === undefined) !== (given.key === undefined)) throw new InputError('--cert and --key go together: give both, or neither for a self-signed certificate made at start', 'invalid-option');
  if (transport === 'tcp') return {};
  if (given.cert === undefined || given.key === undefined) return { transport: 'quic' };
  const read = (flag: string, file: string, marker: RegExp, what: string): string => {
    let text: string;
    try {
      text = readFileSync(resolve(ctx.io.cwd ?? process.cwd(), file), 'utf8');
    } catch (error) {
      throw new InputError(`${flag} ${file}: cannot read it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, 'invalid-option');
    }
    if (!marker.test(text)) throw new InputError(`${flag} ${file}: not a PEM ${what} (no -----BEGIN ... block for one)`, 'invalid-option');
    return text;
  };
  return { transport: 'quic', certificate: { cert: read('--cert', given.cert, /-----BEGIN CERTIFICATE-----/, 'certificate'), key: read('--key', given.key, /-----BEGIN [A-Z ]*PRIVATE KEY-----/, 'private key') } };
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
