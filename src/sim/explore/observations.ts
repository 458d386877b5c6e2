/**
 * Interned observations (what history properties are fed) and interned violations (what a broken
 * property or invariant reports), for the untimed system: both are referred to by index.
 */
import type { NodeId, Observation } from '../../models/types.js';
import { canonicalJson } from '../canonical-json.js';

export class Observations {
  private readonly nodeIds: readonly NodeId[];
  readonly list: Observation[] = [];
  private readonly byKey = new Map<string, number>();
  /** per node and kind (crash, fresh restart, kept restart): its observation id, once interned */
  private readonly faultIds: number[] = [];
  private readonly violations: { id: string; summary: string }[] = [];
  private readonly violationByKey = new Map<string, number>();

  constructor(nodeIds: readonly NodeId[]) {
    this.nodeIds = nodeIds;
  }

  intern(obs: Observation): number {
    const key = canonicalJson(obs);
    let id = this.byKey.get(key);
    if (id === undefined) {
      id = this.list.length;
      this.list.push(obs);
      this.byKey.set(key, id);
    }
    return id;
  }

  /** The observation of node i's crash (kind 0) or restart, fresh (1) or with its state kept (2). */
  faultObservation(i: number, kind: number): number {
    const at = 3 * i + kind;
    let id = this.faultIds[at];
    if (id === undefined) {
      const node = this.nodeIds[i]!;
      id = this.intern(kind === 0 ? { kind: 'crash', node } : { kind: 'restart', node, fresh: kind === 1 });
      this.faultIds[at] = id;
    }
    return id;
  }

  internViolation(id: string, summary: string): number {
    const key = `${id}\n${summary}`;
    let v = this.violationByKey.get(key);
    if (v === undefined) {
      v = this.violations.length;
      this.violations.push({ id, summary });
      this.violationByKey.set(key, v);
    }
    return v;
  }

  /** The finding id and summary of a violation index. */
  violation(index: number): { id: string; summary: string } {
    return this.violations[index]!;
  }
}
