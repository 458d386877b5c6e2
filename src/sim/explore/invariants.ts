/**
 * The state invariants of the untimed system. Their verdict is cached by the tuple of node views
 * (see node-views.ts) for as long as no invariant has read the messages in flight.
 */
import type { Invariant } from '../../models/types.js';
import type { SimConfig } from '../config.js';
import type { CompiledModel } from '../simulator.js';
import type { NodeViews } from './node-views.js';
import type { Observations } from './observations.js';
import type { ViewFields } from './view-fields.js';
import { ViewProbe, type ViewSource } from './view-probe.js';

export class Invariants {
  private readonly list: Invariant[];
  private readonly observations: Observations;
  private readonly views: NodeViews;
  /** per view tuple: the invariants' verdict (violation index or -1) */
  private readonly cache: number[] = [];
  private cacheable = true;
  /** the global view handed to invariants, reused (they read it synchronously) */
  private readonly probe: ViewProbe;


  constructor(model: CompiledModel, config: SimConfig, observations: Observations, views: NodeViews, source: ViewSource, fields: ViewFields | null) {
    const checked = config.checks.invariants;
    this.list = model.variant.invariants.filter((inv) => checked === null || checked.includes(inv.id));
    this.observations = observations;
    this.views = views;
    // (every part of the node views read is noted in `fields`, shared with the history properties:
    // an event that changes none of them in its node's view does not change any verdict;
    // partial-order reduction relies on it, partial-order.ts)
    this.probe = new ViewProbe(source, fields?.note);
  }

  /** No invariant has read more than the node views so far (their verdict is a function of the views). */
  get viewsOnly(): boolean {
    return this.cacheable;
  }

  /** Checks the state invariants in `vec`; returns the broken one, or null. */
  check(vec: Int32Array): { id: string; summary: string } | null {
    if (this.list.length === 0) return null;
    let key = -1;
    if (this.cacheable) {
      // The node views decide the verdict: the tuple of their ids is the cache key.
      key = this.views.tupleOf(vec);
      const hit = this.cache[key];
      if (hit !== undefined) return hit < 0 ? null : this.observations.violation(hit);
    }
    const probe = this.probe.reset(vec);
    let result = -1;
    for (const inv of this.list) {
      const reason = inv.check(probe.view);
      if (reason !== null) {
        result = this.observations.internViolation(`invariant:${inv.id}`, `invariant ${inv.id} (${inv.description}) broken: ${reason}`);
        break;
      }
    }
    if (probe.touchedNetwork()) this.cacheable = false;
    else if (this.cacheable) this.cache[key] = result;
    return result < 0 ? null : this.observations.violation(result);
  }

  /**
   * Whether the verdict on `b` is the one on `a` without evaluating them: every node has the same
   * view in both, and no invariant has read more than the node views.
   */
  sameInputs(a: Int32Array, b: Int32Array): boolean {
    if (!this.cacheable) return false;
    return this.views.same(a, b);
  }
}
