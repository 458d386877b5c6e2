/**
 * The scenario `protosim check <protocol>` explores: the variant's default topology and workload,
 * scaled by clients and rounds, with its default faults, expecting nothing to be found. Shared by
 * the CLI and the testing API (src/api/testing.ts).
 */
import type { ProtocolModel } from '../models/types.js';

/** The scenario data of the default check (validate it with `scenarioFromData`); `clients`/`rounds` default to the variant's. */
export function defaultCheckSpec(model: ProtocolModel, variantName: string, scale: { clients?: number; rounds?: number } = {}): { spec: Record<string, unknown> } | { problem: string } {
  const variant = model.variants[variantName];
  if (variant === undefined) return { problem: `${model.name} has no variant ${JSON.stringify(variantName)}; it has ${Object.keys(model.variants).join(', ')}` };
  const d = variant.defaults;
  const clients = scale.clients ?? d.clients;
  const rounds = scale.rounds ?? d.rounds;
  if (clients < 1) return { problem: '--clients must be at least 1' };
  const topology = d.topology({ clients, rounds });
  const spec = {
    id: `check/${model.name}`,
    title: `default check of ${model.name} (${variant.name}): ${clients} clients, ${rounds} rounds`,
    protocol: model.name,
    variant: variant.name,
    tags: ['check'],
    nodes: topology.nodes,
    workload: topology.workload,
    ...(d.scenario ?? {}),
    expect: { violations: 'none' },
  };
  return { spec };
}
