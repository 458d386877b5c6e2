/**
 * The wire mapping of each stream protocol's server model, for the model oracle.
 */
import { offlineQueueMapping } from './offlineQueueMapping.js';
import { pingLivenessMapping } from './pingLivenessMapping.js';
import { registerExitMapping } from './registerExitMapping.js';
import type { WireMapping } from './serverModelOracle.js';

/**
 * The mapping for `protocol`, or undefined when it has none (kv has its own oracle). `vars` are
 * the suite's: `heartbeatTimeoutMs` sets the ping-liveness model's heartbeat.
 */
export function serverMappingFor(protocol: string, vars: Readonly<Record<string, string | number>> = {}): WireMapping | undefined {
  switch (protocol) {
    case 'ping-liveness':
      return pingLivenessMapping(typeof vars.heartbeatTimeoutMs === 'number' ? { heartbeatTimeoutMs: vars.heartbeatTimeoutMs } : {});
    case 'register-exit':
      return registerExitMapping();
    case 'offline-queue':
      return offlineQueueMapping();
    default:
      return undefined;
  }
}
