/**
 * From the solved times of a path's timed events (timed-realisation.ts), what the timed run is told:
 * its answers to every draw, in the order it asks (`ChoiceScript`), and its start times and fault
 * plan (`derived`).
 */
import type { NodeId } from '../../models/types.js';
import type { FaultSpec, LinkConfig } from '../config.js';
import { distributionBounds, type ChoiceScript } from '../kernel/choice.js';
import type { DerivedOptions } from '../trace.js';
import type { Draw, Item } from './realisation-items.js';

/** What of a walk over a path the script is made from. */
export interface ScriptSource {
  readonly ids: readonly NodeId[];
  readonly draws: readonly Draw[];
  /** per step (1-based): the item it consumed, or null */
  readonly consumed: readonly (Item | null)[];
  readonly starts: readonly Item[];
  readonly scripted: readonly { item: Item; fault: FaultSpec; heal: boolean }[];
  readonly budgetFaults: readonly { item: Item; fault: FaultSpec }[];
}

/** The timed run's answers and its start times and fault plan, from the solved times `x`. */
export function scriptFromTimes(walk: ScriptSource, x: number[]): { script: ChoiceScript; derived: DerivedOptions } {
  const delay: number[] = [];
  const loss: boolean[] = [];
  const duplicate: boolean[] = [];
  const reorder: boolean[] = [];
  const reorderDelay: number[] = [];
  const think: number[] = [];
  const schedule = (item: Item, sent: number, link: LinkConfig): void => {
    const d = x[item.v]! - sent;
    const { minMs, maxMs } = distributionBounds(link.delay);
    const held = !link.fifo && link.reorderRatio > 0 && (link.reorderRatio >= 1 || d > maxMs);
    if (!held) {
      delay.push(d);
      if (!link.fifo && link.reorderRatio > 0 && link.reorderRatio < 1) reorder.push(false);
      return;
    }
    const first = Math.max(minMs, Math.min(maxMs, d - 1 - minMs));
    delay.push(first);
    if (link.reorderRatio < 1) reorder.push(true);
    reorderDelay.push(d - 1 - first);
  };
  for (const draw of walk.draws) {
    if (draw.kind === 'think') {
      think.push(x[draw.item.v]! - x[draw.prompt]!);
      continue;
    }
    if (draw.kind === 'conn') {
      const it = draw.item;
      const sent = x[causeVar(walk, it)]!;
      if (it.kind === 'closed') schedule(it, sent, it.link!);
      else delay.push(x[it.v]! - sent);
      continue;
    }
    const rec = draw.rec;
    if (rec.ruleDropped) continue;
    const sent = x[walk.consumed[rec.step]!.v]!;
    if (rec.link.lossRatio > 0 && rec.link.lossRatio < 1) loss.push(rec.lost);
    if (rec.lost) continue;
    if (rec.link.duplicateRatio > 0 && rec.link.duplicateRatio < 1) duplicate.push(rec.duplicated);
    for (const c of rec.copies) schedule(c, sent, rec.link);
  }
  const startAtMs: Record<NodeId, number> = {};
  walk.ids.forEach((id, i) => (startAtMs[id] = x[walk.starts[i]!.v]!));
  const faults: FaultSpec[] = [
    ...walk.scripted.filter((s) => !s.heal).map((s) => s.fault),
    ...walk.budgetFaults.map((b) => ({ ...b.fault, atMs: x[b.item.v]! }) as FaultSpec),
  ];
  const script: ChoiceScript = { delay, loss, duplicate, reorder, 'reorder-delay': reorderDelay, think };
  return { script, derived: { startAtMs, faults } };
}

function causeVar(walk: ScriptSource, item: Item): number {
  const c = walk.consumed[item.cause];
  return c ? c.v : 0;
}
