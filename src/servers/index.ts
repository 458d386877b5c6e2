/**
 * Reference live servers of every protocol, as a library: tests and the conformance harness start
 * them in-process with `startServer`, the CLI with `protosim serve`.
 */
import { InputError, TargetError } from '../errors.js';
import { assertDefect, parseServerProtocol } from './defectCatalog.js';
import { assertLoopbackHost } from './loopbackHost.js';
import { startHttpServer } from './httpHost.js';
import { kvLimitDefaults, kvProtocol } from './protocols/kv.js';
import { offlineQueueLimitDefaults, offlineQueueProtocol } from './protocols/offline-queue.js';
import { pingLivenessProtocol } from './protocols/ping-liveness.js';
import { registerExitProtocol } from './protocols/register-exit.js';
import { startStreamServer } from './streamHost.js';
import { resolveLimits, type ServerHandle, type ServerLimits, type ServerOptions, type ServerProtocol } from './serverOptions.js';

export { defectsFor, formatDefectList, parseServerProtocol, type DefectInfo } from './defectCatalog.js';
export { isLoopbackHost } from './loopbackHost.js';
export { defaultLimits, serverProtocols } from './serverOptions.js';
export type { ServerHandle, ServerLimits, ServerOptions, ServerProtocol } from './serverOptions.js';

/** Protocol-specific limit defaults over `defaultLimits`. */
const limitDefaults: Record<ServerProtocol, Partial<ServerLimits>> = {
  kv: kvLimitDefaults,
  'ping-liveness': {},
  'register-exit': {},
  'offline-queue': offlineQueueLimitDefaults,
};

/**
 * Starts the reference server of `protocol` and resolves once it listens.
 * Throws InputError for an unknown protocol or defect, a non-loopback host or a bad option, and
 * TargetError when it cannot listen (port in use, no permission).
 */
export async function startServer(protocol: string, options: ServerOptions = {}): Promise<ServerHandle> {
  const name = parseServerProtocol(protocol);
  assertDefect(name, options.defect);
  const host = options.host ?? '127.0.0.1';
  assertLoopbackHost(host);
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InputError(`port must be an integer 0..65535, got ${port}`, 'invalid-port');
  const limits = resolveLimits(options.limits, limitDefaults[name]);
  const log = options.log ?? (() => undefined);
  const common = { host, port, limits, log, defect: options.defect };
  try {
    return await start(name, common, options);
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
}

function start(name: ServerProtocol, common: CommonConfig, options: ServerOptions): Promise<ServerHandle> {
  switch (name) {
    case 'kv':
      return startHttpServer(kvProtocol({ limits: common.limits, defect: common.defect }), common);
    case 'ping-liveness':
      return startStreamServer(pingLivenessProtocol({
        limits: common.limits,
        defect: common.defect,
        heartbeatTimeoutMs: positive('heartbeatTimeoutMs', options.heartbeatTimeoutMs ?? 30_000),
        accounts: positive('accounts', options.accounts ?? 2),
        extraAccounts: options.extraAccounts ?? {},
      }), common);
    case 'register-exit': {
      const codec = options.codec ?? 'json';
      if (codec !== 'json' && codec !== 'gob') throw new InputError(`codec must be json or gob, got ${JSON.stringify(codec)}`, 'invalid-option');
      return startStreamServer(registerExitProtocol({ limits: common.limits, defect: common.defect, codec }), common);
    }
    case 'offline-queue': {
      const framing = options.framing ?? 'length-delimited';
      if (framing !== 'length-delimited' && framing !== 'raw') {
        throw new InputError(`framing must be length-delimited or raw, got ${JSON.stringify(framing)}`, 'invalid-option');
      }
      const deliveryConfirmMs = options.deliveryConfirmMs ?? 2000;
      if (!Number.isFinite(deliveryConfirmMs) || deliveryConfirmMs < 0) {
        throw new InputError(`deliveryConfirmMs must be a number >= 0, got ${deliveryConfirmMs}`, 'invalid-option');
      }
      return startStreamServer(offlineQueueProtocol({ limits: common.limits, defect: common.defect, framing, deliveryConfirmMs }), common);
    }
  }
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new InputError(`${name} must be a positive number, got ${value}`, 'invalid-option');
  return value;
}
