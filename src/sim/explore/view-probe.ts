/**
 * The global view of a state, built on demand for a property or invariant, which records whether it
 * looked at the nodes or the network (what it read decides whether its verdict can be cached).
 * One per use site, reset for each state: properties read their view synchronously.
 */
import type { GlobalView, InFlightView, NodeId, NodeView } from '../../models/types.js';
import { PATH_SEP } from './view-fields.js';

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
   * `onField`: told the node and the path of every part of a node view read through this probe
   * (view-fields.ts; the node views and the objects in them are then handed out behind proxies
   * that tell; for partial-order reduction).
   */
  constructor(sys: ViewSource, onField?: (node: NodeId, path: string) => void) {
    const probe = this;
    const wrapped = new WeakMap<NodeView, NodeView>();
    const wrap = (v: NodeView): NodeView => {
      let w = wrapped.get(v);
      if (w === undefined) {
        w = tellingProxy(v, v.id, '', onField!);
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

/**
 * `target` behind a proxy that tells `onField` the path of every key read (`prefix` + key), and
 * hands out the objects under it behind proxies of their own; a wholesale read (its keys, `in`, a
 * property descriptor) tells the object's own path. A property the proxy may not replace (frozen)
 * is handed out as it is, its whole path told.
 */
function tellingProxy<T extends object>(target: T, node: NodeId, prefix: string, onField: (node: NodeId, path: string) => void): T {
  const children = new Map<string, { of: object; proxy: object }>();
  const whole = (): void => {
    if (prefix !== '') onField(node, prefix.slice(0, -1));
  };
  return new Proxy(target, {
    get(t, key, receiver) {
      const v = Reflect.get(t, key, receiver) as unknown;
      if (typeof key !== 'string') {
        whole();
        return v;
      }
      const d = Object.getOwnPropertyDescriptor(t, key);
      // (a method of the object's prototype, `tags.includes`, is no part of the state)
      if (d === undefined && typeof v === 'function') return v;
      const path = prefix + key;
      if (v === null || typeof v !== 'object' || (d !== undefined && d.configurable === false && d.writable === false)) {
        onField(node, path);
        return v;
      }
      let c = children.get(key);
      if (c === undefined || c.of !== v) {
        c = { of: v, proxy: tellingProxy(v, node, path + PATH_SEP, onField) };
        children.set(key, c);
      }
      return c.proxy;
    },
    has(t, key) {
      whole();
      return Reflect.has(t, key);
    },
    ownKeys(t) {
      whole();
      return Reflect.ownKeys(t);
    },
    getOwnPropertyDescriptor(t, key) {
      whole();
      return Reflect.getOwnPropertyDescriptor(t, key);
    },
  });
}
