/**
 * Node views of the untimed system's states (what invariants and monitors see of a node), interned
 * per node by (status, machine state), and interned tuples of them: a state's tuple of view ids
 * decides any verdict that reads only the node views, so it is the key such verdicts are cached by.
 */
import type { NodeId, NodeView } from '../../models/types.js';
import { canonicalJson } from '../canonical-json.js';
import { statusNames } from '../kernel/world-rules.js';
import type { RoleRuntime } from '../role-runtime.js';
import { TupleInterner } from './tuple-interner.js';
import { valueAt } from './view-fields.js';
import type { Local } from './untimed-model.js';

export class NodeViews {
  private readonly n: number;
  private readonly nodeIds: readonly NodeId[];
  private readonly roles: readonly string[];
  private readonly runtimes: readonly RoleRuntime[];
  private readonly locals: Local[][];
  private readonly idsByNode: Map<number, number>[] = [];
  private readonly views: NodeView[] = [];
  /** interned tuples of node view ids */
  private readonly tuples: TupleInterner;
  private readonly scratch: Int32Array;

  constructor(nodeIds: readonly NodeId[], roles: readonly string[], runtimes: readonly RoleRuntime[], locals: Local[][]) {
    this.n = nodeIds.length;
    this.nodeIds = nodeIds;
    this.roles = roles;
    this.runtimes = runtimes;
    this.locals = locals;
    this.tuples = new TupleInterner(this.n, 1024);
    this.scratch = new Int32Array(this.n);
    for (let i = 0; i < this.n; i++) this.idsByNode.push(new Map());
  }

  /** The interned tuple of the node views of `vec` (what invariants and view-reading monitors see). */
  tupleOf(vec: Int32Array): number {
    const t = this.scratch;
    for (let i = 0; i < this.n; i++) {
      const loc = this.locals[i]![vec[i]!]!;
      t[i] = loc.viewId >= 0 ? loc.viewId : this.idOf(i, vec[i]!);
    }
    return this.tuples.intern(t);
  }

  /** The view id of node i in local state `localId` (remembered in the local). */
  idOf(i: number, localId: number): number {
    const loc = this.locals[i]![localId]!;
    if (loc.viewId >= 0) return loc.viewId;
    const k = loc.status * 1048576 + (loc.stateId + 1);
    let id = this.idsByNode[i]!.get(k);
    if (id === undefined) {
      id = this.views.length;
      const st = loc.stateId >= 0 ? this.runtimes[i]!.state(loc.stateId) : null;
      this.views.push({
        id: this.nodeIds[i]!,
        role: this.roles[i]!,
        status: statusNames[loc.status]!,
        value: st ? st.snapshot.value : null,
        context: st ? st.context : {},
        tags: st ? st.tags : [],
      });
      this.idsByNode[i]!.set(k, id);
    }
    loc.viewId = id;
    return id;
  }

  /** Node views of `vec`, by node id (for the global view). */
  nodesOf(vec: Int32Array): Record<NodeId, NodeView> {
    const nodes: Record<NodeId, NodeView> = {};
    for (let i = 0; i < this.n; i++) nodes[this.nodeIds[i]!] = this.views[this.idOf(i, vec[i]!)]!;
    return nodes;
  }

  /** per view id: its projection id for the paths read (-1: not computed) */
  private projections: number[] = [];
  private readonly projectionByKey = new Map<string, number>();
  private projectionVersion = -1;

  /**
   * An id of what node i's view in local `localId` shows at the paths read of it (`read`, by node
   * id, view-fields.ts; equal ids: equal values there), for `version` of them (a new version
   * forgets the last's ids).
   */
  projection(i: number, localId: number, read: ReadonlyMap<NodeId, ReadonlySet<string>>, version: number): number {
    if (version !== this.projectionVersion) {
      this.projections = [];
      this.projectionByKey.clear();
      this.projectionVersion = version;
    }
    const v = this.idOf(i, localId);
    let id = this.projections[v];
    if (id === undefined) {
      const view = this.views[v]!;
      const paths = read.get(this.nodeIds[i]!) ?? new Set<string>();
      const key = `${i}|${[...paths].sort().map((p) => canonicalJson(valueAt(view, p) ?? null)).join('|')}`;
      id = this.projectionByKey.get(key);
      if (id === undefined) {
        id = this.projectionByKey.size;
        this.projectionByKey.set(key, id);
      }
      this.projections[v] = id;
    }
    return id;
  }

  /** Whether every node has the same view in `a` and `b`. */
  same(a: Int32Array, b: Int32Array): boolean {
    for (let i = 0; i < this.n; i++) {
      const x = a[i]!;
      const y = b[i]!;
      if (x === y) continue;
      const lx = this.locals[i]![x]!;
      const ly = this.locals[i]![y]!;
      const vx = lx.viewId >= 0 ? lx.viewId : this.idOf(i, x);
      const vy = ly.viewId >= 0 ? ly.viewId : this.idOf(i, y);
      if (vx !== vy) return false;
    }
    return true;
  }
}
