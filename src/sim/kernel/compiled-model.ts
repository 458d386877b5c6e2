/**
 * A model variant compiled for running: its role runtimes (which cache states and transitions) and
 * the caches every run of the model shares (node views, and the keys of `KeyCache`), each with a
 * named limit (`CacheLimits`). Build once, run many seeds.
 */
import type { ModelVariant, NodeId, NodeStatus, NodeView } from '../../models/types.js';
import { RoleRuntime } from '../role-runtime.js';
import { defaultCacheLimits, KeyCache, type CacheLimits } from './key-cache.js';
import { statusCodes } from './world-rules.js';

/** A model variant with its role runtimes; build once, run many seeds (the caches are shared). */
export class CompiledModel {
  readonly protocol: string;
  readonly variant: ModelVariant;
  readonly runtimes: ReadonlyMap<string, RoleRuntime>;
  /** how many entries each of the model's caches may hold; past that, nothing more is cached */
  readonly limits: Readonly<CacheLimits>;
  /** canonical keys and link names, shared by every run of this model */
  readonly keys: KeyCache;

  constructor(protocol: string, variant: ModelVariant, limits: Partial<CacheLimits> = {}) {
    this.protocol = protocol;
    this.variant = variant;
    const runtimes = new Map<string, RoleRuntime>();
    for (const [role, def] of Object.entries(variant.roles)) runtimes.set(role, new RoleRuntime(role, def.machine));
    this.runtimes = runtimes;
    this.limits = { ...defaultCacheLimits, ...limits };
    this.keys = new KeyCache(this.limits);
  }

  /** Node views per node, status and interned state (shared by every run of this model). */
  private readonly views = new Map<NodeId, Map<number, NodeView>>();
  private viewCount = 0;

  /** The (immutable) view of a node in a status and state; built once, then shared. */
  nodeView(id: NodeId, role: string, status: NodeStatus, runtime: RoleRuntime, stateId: number): NodeView {
    let perNode = this.views.get(id);
    const key = (stateId + 1) * 8 + statusCodes[status];
    let view = perNode?.get(key);
    if (view !== undefined) return view;
    const st = stateId >= 0 ? runtime.state(stateId) : null;
    view = { id, role, status, value: st ? st.snapshot.value : null, context: st ? st.context : {}, tags: st ? st.tags : [] };
    if (this.viewCount < this.limits.maxCachedViews) {
      this.viewCount++;
      if (perNode === undefined) {
        perNode = new Map();
        this.views.set(id, perNode);
      }
      perNode.set(key, view);
    }
    return view;
  }

  get xstateCalls(): number {
    let n = 0;
    for (const r of this.runtimes.values()) n += r.xstateCalls;
    return n;
  }
}
