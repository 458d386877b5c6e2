/**
 * What a run draws from its seed before it starts (printed first, STYLE 2): each node's start time
 * and the fault plan, the scenario's scripted faults plus its random ones, in scheduled order.
 */
import type { NodeId } from '../../models/types.js';
import type { FaultSpec, RandomFaultsConfig, SimConfig } from '../config.js';
import { Prng } from '../prng.js';
import type { DerivedOptions } from '../trace.js';
import { sample } from './choice.js';

/** Everything drawn from the seed before the run starts (printed first, STYLE 2). */
export function deriveOptions(config: SimConfig, seed: number): DerivedOptions {
  const startPrng = Prng.derive(seed, 'start');
  const startAtMs: Record<NodeId, number> = {};
  for (const n of config.nodes) startAtMs[n.id] = sample(startPrng, n.startAt);
  const faults: FaultSpec[] = [...config.faults];
  const rf = config.randomFaults;
  if (rf && rf.count > 0 && rf.kinds.length > 0) {
    const prng = Prng.derive(seed, 'faults');
    const eligible = rf.nodes ?? config.nodes.map((n) => n.id);
    const all = config.nodes.map((n) => n.id);
    for (let i = 0; i < rf.count; i++) {
      const kind = prng.pick(rf.kinds);
      const atMs = prng.int(rf.windowStartMs, rf.windowEndMs);
      const node = prng.pick(eligible);
      faults.push(...randomFault(prng, kind, atMs, node, all));
    }
  }
  // Scheduled order is (time, listed order): a stable sort keeps ties as written.
  faults.sort((a, b) => a.atMs - b.atMs);
  return { startAtMs, faults };
}

type RandomFaultKind = RandomFaultsConfig['kinds'][number];

/** The fault (and its end: a restart, a resume, a heal) of one random draw, drawing what it leaves open. */
function randomFault(prng: Prng, kind: RandomFaultKind, atMs: number, node: NodeId, all: NodeId[]): FaultSpec[] {
  switch (kind) {
    case 'crash':
      return [{ kind: 'crash', atMs, node, mode: prng.chance(0.5) ? 'reset' : 'silent' }];
    case 'restart':
      return [
        { kind: 'crash', atMs, node, mode: 'reset' },
        { kind: 'restart', atMs: atMs + prng.int(100, 2000), node, state: prng.chance(0.5) ? 'fresh' : 'kept' },
      ];
    case 'pause':
      return [
        { kind: 'pause', atMs, node },
        { kind: 'resume', atMs: atMs + prng.int(100, 5000), node },
      ];
    case 'partition': {
      const rest = all.filter((x) => x !== node);
      return [
        { kind: 'partition', atMs, from: [node], to: rest, direction: prng.chance(0.5) ? 'both' : 'one-way' },
        { kind: 'heal', atMs: atMs + prng.int(100, 5000) },
      ];
    }
    case 'drop':
    case 'duplicate':
      return [{ kind, atMs, from: node, to: null, msgType: null, count: 1 }];
  }
}
