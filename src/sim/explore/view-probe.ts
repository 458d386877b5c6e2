/**
 * The global view of a state, built on demand for a property or invariant, which records whether it
 * looked at the nodes or the network (what it read decides whether its verdict can be cached).
 * One per use site, reset for each state: properties read their view synchronously.
 */
import type { GlobalView, InFlightView, NodeId, NodeView } from '../../models/types.js';

/** Where a probe's view comes from. */
export interface ViewSource {
  nodesOf(vec: Int32Array): Record<NodeId, NodeView>;
  inFlightOf(vec: Int32Array): InFlightView[];
}

export class ViewProbe {
  private vec: Int32Array = new Int32Array(0);
  private nodesTouched = false;
  private networkTouched = false;
  private nodes: Record<NodeId, NodeView> | null = null;
  readonly view: GlobalView;

  constructor(sys: ViewSource) {
    const probe = this;
    this.view = {
      // Time is abstracted away: always 0 here, so reading it adds no dependence on the state.
      get timeMs(): number {
        return 0;
      },
      get nodes(): Readonly<Record<NodeId, NodeView>> {
        probe.nodesTouched = true;
        if (probe.nodes === null) probe.nodes = sys.nodesOf(probe.vec);
        return probe.nodes;
      },
      get inFlight(): readonly InFlightView[] {
        probe.networkTouched = true;
        return sys.inFlightOf(probe.vec);
      },
    };
  }

  reset(vec: Int32Array): this {
    this.vec = vec;
    this.nodesTouched = false;
    this.networkTouched = false;
    this.nodes = null;
    return this;
  }

  touched(): boolean {
    return this.nodesTouched || this.networkTouched;
  }

  touchedNetwork(): boolean {
    return this.networkTouched;
  }
}
