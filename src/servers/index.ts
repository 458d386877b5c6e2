/**
 * Reference live servers of every protocol, as a library: tests and the conformance harness start
 * them in-process with `startServer`, the CLI with `protosim serve`. Each protocol's server is its
 * package's program (src/models/<protocol>/, read through the registry), run by the generic hosts.
 */
import { InputError, TargetError } from '../errors.js';
import { assertDefect, parseServerProtocol } from './defect-catalog.js';
import { assertLoopbackHost } from './loopback-host.js';
import { startHttpServer } from './http-host.js';
import { httpProtocolOf, streamProtocolOf } from './rules-host.js';
import { startStreamServer } from './stream-host.js';
import { quicTransport, quicTransportDefects, type QuicTransportDefect } from './quic-host.js';
import { realClock, type Clock } from './clock.js';
import { ServerEvents } from './server-events.js';
import { resolveLimits, type ServerHandle, type ServerLimits, type ServerOptions } from './server-options.js';
import type { LiveProtocol } from '../models/package.js';

export { defectsFor, formatDefectList, parseServerProtocol, type DefectInfo } from './defect-catalog.js';
export { isLoopbackHost } from './loopback-host.js';
export { ManualClock, realClock, type Clock, type ClockTimer } from './clock.js';
export { ServerEvents, type ServerEvent, type WaitForOptions } from './server-events.js';
export { defaultLimits, serverProtocols } from './server-options.js';
export { quicTransport, quicTransportDefects, type QuicTransportDefect, type QuicTransportOptions } from './quic-host.js';
export type { ServerHandle, ServerLimits, ServerOptions, ServerProtocol } from './server-options.js';

/** The common options, not the protocol's own. */
const commonOptions = new Set(['host', 'port', 'defect', 'log', 'limits', 'clock', 'transport', 'certificate', 'alpn', 'quicDefect']);

/** The transports a stream server runs on. */
export const serverTransports = ['tcp', 'quic'] as const;

/**
 * Starts the reference server of `protocol` and resolves once it listens.
 * Throws InputError for an unknown protocol or defect, a non-loopback host or a bad option, and
 * TargetError when it cannot listen (port in use, no permission).
 */
export async function startServer(protocol: string, options: ServerOptions = {}): Promise<ServerHandle> {
  const live = parseServerProtocol(protocol);
  assertDefect(live.name, options.defect);
  const host = options.host ?? '127.0.0.1';
  assertLoopbackHost(host);
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InputError(`port must be an integer 0..65535, got ${port}`, 'invalid-port');
  const limits = resolveLimits(options.limits, live.server.limitDefaults);
  const log = options.log ?? (() => undefined);
  const common: CommonConfig = { host, port, limits, log, defect: options.defect, clock: options.clock ?? realClock, events: new ServerEvents() };
  try {
    return await start(live, common, options);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
      throw new TargetError(`cannot listen on ${host}:${port}: ${(error as Error).message}`, 'listen-failed');
    }
    throw error;
  }
}

interface CommonConfig {
  host: string;
  port: number;
  limits: ServerLimits;
  log: (line: string) => void;
  defect: string | undefined;
  clock: Clock;
  events: ServerEvents;
}

function start(live: LiveProtocol, common: CommonConfig, options: ServerOptions): Promise<ServerHandle> {
  const own = Object.fromEntries(Object.entries(options).filter(([key, value]) => !commonOptions.has(key) && value !== undefined));
  const setup = { limits: common.limits, defect: common.defect, options: own };
  const program = live.server.program;
  if (program.transport === 'http') {
    if (options.transport !== undefined && options.transport !== 'tcp') throw new InputError(`${live.name} is served over HTTP; --transport ${options.transport} applies to stream servers`, 'invalid-option');
    const server = program.configure(setup);
    if ('problem' in server) throw new InputError(server.problem, 'invalid-option');
    return startHttpServer(httpProtocolOf(live.name, server), common);
  }
  const server = program.configure(setup);
  if ('problem' in server) throw new InputError(server.problem, 'invalid-option');
  const transport = options.transport ?? 'tcp';
  if (transport === 'tcp' && options.quicDefect !== undefined) throw new InputError('a QUIC defect needs --transport quic', 'invalid-option');
  if (transport === 'tcp') return startStreamServer(streamProtocolOf(live.name, server), common);
  if (transport !== 'quic') throw new InputError(`transport must be ${serverTransports.join(' or ')}, got ${JSON.stringify(transport)}`, 'invalid-option');
  // QUIC carries JSON objects, one per stream write (the seed's framing): JSON-line wires only.
  if (server.wire.format !== 'json-lines') {
    throw new InputError(`${live.name} over QUIC needs its JSON wire (QUIC carries one JSON object per stream write); this server speaks ${server.wire.format}`, 'invalid-option');
  }
  // a TCP socket left half-closed (CLOSE_WAIT): QUIC has no such state to leave a connection in
  if (server.keepClosedConnections === true) throw new InputError(`the defect ${options.defect} is a TCP socket leak (CLOSE_WAIT); QUIC has no half-closed connection: use it over TCP`, 'invalid-option');
  const quicDefect = options.quicDefect;
  if (quicDefect !== undefined && !quicTransportDefects.some((d) => d.name === quicDefect)) {
    throw new InputError(`unknown QUIC defect ${JSON.stringify(quicDefect)}; valid: ${quicTransportDefects.map((d) => d.name).join(', ')}`, 'unknown-defect');
  }
  const quic = quicTransport({
    ...(quicDefect !== undefined ? { defect: quicDefect as QuicTransportDefect } : {}),
    ...(options.certificate !== undefined ? { certificate: options.certificate } : {}),
    ...(options.alpn !== undefined ? { alpn: options.alpn } : {}),
  });
  return startStreamServer(streamProtocolOf(live.name, server), { ...common, transport: quic });
}
