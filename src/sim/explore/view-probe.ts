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

  /**
   * `onField`: told the node and the name of every field of a node view read through this probe (the node views
   * are then handed out behind proxies that tell; for partial-order reduction, see invariants.ts).
   */
  constructor(sys: ViewSource, onField?: (node: NodeId, field: string) => void) {
    const probe = this;
    const wrapped = new WeakMap<NodeView, NodeView>();
    const wrap = (v: NodeView): NodeView => {
      let w = wrapped.get(v);
      if (w === undefined) {
        w = new Proxy(v, { get: (target, key, receiver) => (typeof key === 'string' && onField!(target.id, key), Reflect.get(target, key, receiver)) });
        wrapped.set(v, w);
      }
      return w;
    };
    this.view = {
      // Time is abstracted away: always 0 here, so reading it adds no dependence on the state.
      get timeMs(): number {
        return 0;
      },
      get nodes(): Readonly<Record<NodeId, NodeView>> {
        probe.nodesTouched = true;
        if (probe.nodes === null) {
          const nodes = sys.nodesOf(probe.vec);
          if (onField !== undefined) for (const id of Object.keys(nodes)) nodes[id] = wrap(nodes[id]!);
          probe.nodes = nodes;
        }
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

  /** Sets what the probe has recorded as read (after it was borrowed for another evaluation). */
  restore(nodes: boolean, network: boolean): void {
    this.nodesTouched = nodes;
    this.networkTouched = network;
  }

  touched(): boolean {
    return this.nodesTouched || this.networkTouched;
  }

  touchedNetwork(): boolean {
    return this.networkTouched;
  }
}
