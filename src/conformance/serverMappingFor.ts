/**
 * The wire mapping of each stream protocol's server model, for the model oracle.
 */
import { offlineQueueMapping } from './offlineQueueMapping.js';
import { pingLivenessMapping } from './pingLivenessMapping.js';
import { registerExitMapping } from './registerExitMapping.js';
import type { ServerModelSpec, WireMapping } from './serverModelOracle.js';

/**
 * The suite variable `--strict` sets (`protosim run SUITE --strict`): the oracle then holds a server
 * to everything protosim's reference server does, illustrative parts included.
 */
export const strictVar = 'strict';

/** True when the suite's variables ask for the strict oracle. */
export function isStrict(vars: Readonly<Record<string, string | number>>): boolean {
  const v = vars[strictVar];
  return v === 1 || v === 'true' || v === 'yes';
}

/**
 * The mapping for `protocol`, or undefined when it has none (kv has its own oracle). `vars` are
 * the suite's: `heartbeatTimeoutMs` sets the ping-liveness model's heartbeat; `strict` (`--strict`)
 * the strict oracle. `server`: another
 * server model than the protocol's fixed one (a scenario's variant, with its node's params).
 */
export function serverMappingFor(protocol: string, vars: Readonly<Record<string, string | number>> = {}, server?: ServerModelSpec): WireMapping | undefined {
  const strict = isStrict(vars);
  switch (protocol) {
    case 'ping-liveness':
      return pingLivenessMapping({ ...(typeof vars.heartbeatTimeoutMs === 'number' ? { heartbeatTimeoutMs: vars.heartbeatTimeoutMs } : {}), ...(server ? { server } : {}), strict });
    case 'register-exit':
      return registerExitMapping(server, strict);
    case 'offline-queue':
      return offlineQueueMapping(server, strict);
    default:
      return undefined;
  }
}
