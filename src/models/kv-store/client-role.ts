/**
 * The client role of the key-value protocols: one person's program talking to the store. Shared by
 * lock-alternation and status-handshake, faithful and fixed alike; only the machine differs.
 */
import type { Effect, NodeId, RoleDefinition } from '../types.js';

/** A role whose input names the store and the timing parameters a scenario may set. */
export function kvClientRole(machine: RoleDefinition['machine'], description: string): RoleDefinition {
  return {
    machine,
    description,
    input: ({ self, nodesByRole, params }) => ({
      self,
      store: nodesByRole.store?.[0] ?? 'store',
      pollMs: typeof params.pollMs === 'number' ? params.pollMs : 500,
      ...(typeof params.leaseMs === 'number' ? { leaseMs: params.leaseMs } : {}),
      ...(typeof params.heartbeatMs === 'number' ? { heartbeatMs: params.heartbeatMs } : {}),
    }),
  };
}

/** Progress in the key-value protocols: a message shown to a person. */
export const isMessageShown = (_node: NodeId, effect: Effect): boolean => effect.type === 'print' && effect.params.kind === 'message';
