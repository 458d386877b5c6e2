/**
 * The parts of the node views that verdicts depend on (state invariants, and history properties'
 * steps that read the view), learned from every read made through a view probe (view-probe.ts):
 * what partial-order reduction takes as visible (partial-order.ts).
 *
 * A part is a path into a node's view: `status`, `tags.0`, `context.myNo`. Reading an object
 * wholesale (its keys, `in`, or an object that cannot be wrapped) notes the object's own path,
 * which stands for everything under it. Evaluations are deterministic functions of what they
 * read, so two states whose node views agree on every noted path evaluate alike wherever the
 * evaluation read only noted paths. Paths rather than whole fields: lock-alternation's
 * single-sender reads each sender's `context.myNo` to word its message, which makes a change of
 * `myNo` visible, but not a change of the client's draft, also in its context.
 */
import type { NodeId, NodeView } from '../../models/types.js';

/** The separator of the keys of a path (a character no key of a model's context is expected to hold; were one to, paths would only merge, never split). */
export const PATH_SEP = '\u0001';

export class ViewFields {
  /** per node: the paths of its view read so far (never `id` or `role`, which do not change) */
  readonly read = new Map<NodeId, Set<string>>();
  /** how often `read` grew */
  version = 0;

  /** Told every path read through a view probe. */
  readonly note = (node: NodeId, path: string): void => {
    if (path === 'id' || path === 'role') return;
    let paths = this.read.get(node);
    if (paths === undefined) {
      paths = new Set();
      this.read.set(node, paths);
    }
    if (paths.has(path)) return;
    paths.add(path);
    this.version++;
  };
}

/** The value at `path` in a node view (undefined when it is not there). */
export function valueAt(view: NodeView, path: string): unknown {
  let v: unknown = view;
  for (const key of path.split(PATH_SEP)) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}
