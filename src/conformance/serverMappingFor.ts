/**
 * The wire mapping of each stream protocol's server model, for the model oracle.
 */
import { offlineQueueMapping } from './offlineQueueMapping.js';
import { pingLivenessMapping } from './pingLivenessMapping.js';
import { registerExitMapping } from './registerExitMapping.js';
import type { ServerModelSpec, WireMapping } from './serverModelOracle.js';

/**
 * The mapping for `protocol`, or undefined when it has none (kv has its own oracle). `vars` are
 * the suite's: `heartbeatTimeoutMs` sets the ping-liveness model's heartbeat. `server`: another
 * server model than the protocol's fixed one (a scenario's variant, with its node's params).
 */
export function serverMappingFor(protocol: string, vars: Readonly<Record<string, string | number>> = {}, server?: ServerModelSpec): WireMapping | undefined {
  switch (protocol) {
    case 'ping-liveness':
      return pingLivenessMapping({ ...(typeof vars.heartbeatTimeoutMs === 'number' ? { heartbeatTimeoutMs: vars.heartbeatTimeoutMs } : {}), ...(server ? { server } : {}) });
    case 'register-exit':
      return registerExitMapping(server);
    case 'offline-queue':
      return offlineQueueMapping(server);
    default:
      return undefined;
  }
}
