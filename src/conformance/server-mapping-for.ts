/**
 * The wire mapping of a stream protocol's server model, for the model oracle: its package's
 * `live.mapping`, found through the registry.
 */
import { liveProtocolNamed } from '../models/registry.js';
import type { ServerModelSpec, WireMapping } from './server-model-oracle.js';

/**
 * The suite variable `--strict` sets (`protosim run SUITE --strict`): the oracle then holds a server
 * to everything protosim's reference server does, illustrative parts included.
 */
export const strictVar = 'strict';

/** True when the suite variable `name` is set on (1, `true`, `yes`): `strict`, `bounds`. */
export function varOn(vars: Readonly<Record<string, string | number>>, name: string): boolean {
  const v = vars[name];
  return v === 1 || v === 'true' || v === 'yes';
}

/** True when the suite's variables ask for the strict oracle. */
export function isStrict(vars: Readonly<Record<string, string | number>>): boolean {
  return varOn(vars, strictVar);
}

/**
 * The mapping for `protocol` (a live protocol or a protocol it serves), or undefined when it has
 * none (kv has its own oracle). `vars` are the suite's: a protocol's mapping may read some (the
 * ping-liveness model's heartbeat is `heartbeatTimeoutMs`); `strict` (`--strict`) asks for the strict
 * oracle. `server`: another server model than the protocol's fixed one (a scenario's variant, with
 * its node's params).
 */
export function serverMappingFor(protocol: string, vars: Readonly<Record<string, string | number>> = {}, server?: ServerModelSpec): WireMapping | undefined {
  return liveProtocolNamed(protocol)?.mapping?.({ vars, strict: isStrict(vars), ...(server ? { server } : {}) });
}
