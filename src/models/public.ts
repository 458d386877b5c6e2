/**
 * `protosim/model`: what a protocol package written outside protosim imports (docs/models.md). A
 * package is an ES module whose default export is `defineProtocol({...})`: the same record the
 * built-in protocols are (package.ts), with the defaults below filled in. Its roles are XState v5
 * machines built with the `setup` re-exported here, so the package and protosim share one xstate.
 *
 * Everything here is pure, like the rest of src/models: no clock, no timers, no I/O.
 */
import { validateShape, type FieldKind, type MessageShapes } from './validate-shape.js';
import type { ClientPrograms, LiveProtocol, ProtocolPackage } from './package.js';
import type { Effect, HistoryProperty, Invariant, ModelDefaults, ModelVariant, NodeId, RoleDefinition } from './types.js';

export { and, assign, cancel, enqueueActions, not, or, raise, setup, stateIn } from 'xstate';
export * as xstate from 'xstate';
export { validateShape, type FieldKind, type MessageShapes };
export type * from './types.js';
export type { ClientPrograms, LiveProtocol, ProtocolPackage, ServerPackage } from './package.js';

/** A variant as written: everything but its name (its key), with optional parts. */
export interface VariantSpec {
  summary: string;
  roles: Readonly<Record<string, RoleDefinition>>;
  /** safety predicates over the global view, checked after every step (default: none) */
  invariants?: readonly Invariant[];
  /** monitors over the history of deliveries, prints and faults (default: none) */
  properties?: readonly HistoryProperty<any>[];
  /** which effects are progress (default: a `print` of kind `message`, a message shown to a person) */
  isProgress?(node: NodeId, effect: Effect): boolean;
  /** the topology and workload of `protosim check`, and its default faults */
  defaults: ModelDefaults;
  /** `tcp` (default): one connection per pair, kept; `http`: a connection per request */
  transport?: 'tcp' | 'http';
  diagnose?: ModelVariant['diagnose'];
}

/** A package as written: the defaults are filled in by `defineProtocol`. */
export interface ProtocolSpec {
  /** lower-case letters, digits, ., _ or -: it appears in ids, reports and commands */
  name: string;
  summary: string;
  /** what it models (a design document, an exercise); default: the summary */
  source?: string;
  /** the variants by name; scenarios run `faithful` unless they say `variant:` */
  variants: Readonly<Record<string, VariantSpec>>;
  /** checks a message (hosts that read messages from a wire call it); default: any object with a string `type` */
  validateMessage?(msg: unknown): string | null;
  live?: LiveProtocol;
  clients?: ClientPrograms;
}

/** The default progress: a message shown to a person. */
export const messageShown = (_node: NodeId, effect: Effect): boolean => effect.type === 'print' && effect.params.kind === 'message';

/** The default message check: an object with a string `type`. */
function anyTypedMessage(msg: unknown): string | null {
  if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) return 'a message must be an object';
  return typeof (msg as { type?: unknown }).type === 'string' ? null : 'a message needs a string `type`';
}

/** A protocol package from its spec: each variant named by its key, the optional parts defaulted. */
export function defineProtocol(spec: ProtocolSpec): ProtocolPackage {
  const variants: Record<string, ModelVariant> = {};
  for (const [name, v] of Object.entries(spec.variants)) {
    variants[name] = {
      name,
      summary: v.summary,
      roles: v.roles,
      invariants: v.invariants ?? [],
      properties: v.properties ?? [],
      isProgress: v.isProgress ?? messageShown,
      defaults: v.defaults,
      transport: v.transport ?? 'tcp',
      ...(v.diagnose !== undefined ? { diagnose: v.diagnose } : {}),
    };
  }
  return {
    name: spec.name,
    summary: spec.summary,
    source: spec.source ?? spec.summary,
    variants,
    validateMessage: spec.validateMessage ?? anyTypedMessage,
    ...(spec.live !== undefined ? { live: spec.live } : {}),
    ...(spec.clients !== undefined ? { clients: spec.clients } : {}),
  };
}
