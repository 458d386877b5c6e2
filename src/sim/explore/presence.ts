/**
 * Which strings occur in a global state of the untimed system: what a history property's `forget`
 * hook (models/types.ts) asks, to drop from its state what no future observation can bring back.
 *
 * A string is present in `vec` when it, or a string it is the trimmed form of, occurs (as a string
 * value or an object key, at any depth) in a node's machine context or armed timers, in a message
 * queued on any link, or in a line a node's person has yet to type (the workload from the node's cursor on: a fresh restart keeps the
 * cursor, so a line typed is never typed again); and, whatever the state, in any node's role input,
 * which a fresh restart builds the node's context from again. Everything a node or the network does
 * copies strings from these places or makes them up in its own code: so a string absent from a
 * state that no model code makes up is absent from every state after it.
 *
 * The strings of each interned local state and each interned queue are collected once, on first
 * use, and kept by id; `has` then looks in the few sets `vec` refers to.
 */
import type { ChannelStore } from './channel-store.js';
import type { NodeLocals } from './node-locals.js';
import type { Layout } from './untimed-model.js';

export class Presence {
  private readonly layout: Layout;
  private readonly nodes: NodeLocals;
  private readonly store: ChannelStore;
  private readonly always = new Set<string>();
  /** per node, per local id: the strings in that local state */
  private readonly localSets: (Set<string> | undefined)[][];
  /** per queue id: the strings of the messages in it */
  private readonly queueSets: (Set<string> | undefined)[] = [];
  private vec: Int32Array = new Int32Array(0);

  constructor(layout: Layout, nodes: NodeLocals, store: ChannelStore) {
    this.layout = layout;
    this.nodes = nodes;
    this.store = store;
    this.localSets = Array.from({ length: layout.nodes }, () => []);
    for (let i = 0; i < layout.nodes; i++) collect(nodes.inputOf(i), this.always);
  }

  /** Sets the state `has` answers about (kept by reference, not copied). */
  reset(vec: Int32Array): this {
    this.vec = vec;
    return this;
  }

  /** Whether `text` occurs in the state given to `reset`. */
  readonly has = (text: string): boolean => {
    if (this.always.has(text)) return true;
    const vec = this.vec;
    const layout = this.layout;
    for (let i = 0; i < layout.nodes; i++) if (this.localSet(i, vec[i]!).has(text)) return true;
    const chans = this.store.chans.data;
    for (let p = 0; p < layout.pairs; p++) {
      const c = vec[layout.chanBase + p]!;
      if (c === 0) continue; // the empty channel
      if (this.queueSet(chans[c * 3]!).has(text) || this.queueSet(chans[c * 3 + 1]!).has(text)) return true;
    }
    return false;
  };

  private localSet(i: number, id: number): Set<string> {
    let set = this.localSets[i]![id];
    if (set === undefined) {
      set = new Set();
      const loc = this.nodes.locals[i]![id]!;
      if (loc.stateId >= 0) collect(this.nodes.runtimes[i]!.state(loc.stateId).context, set);
      for (const t of loc.timers) collect(t.event, set);
      const lines = this.nodes.messages[i]!;
      for (let k = loc.cursor; k < lines.length; k++) add(lines[k]!, set);
      this.localSets[i]![id] = set;
    }
    return set;
  }

  private queueSet(q: number): Set<string> {
    let set = this.queueSets[q];
    if (set === undefined) {
      set = new Set();
      for (const id of this.store.queues[q]!) {
        const m = this.store.msgs[id]!;
        if (m.msg !== null) collect(m.msg, set);
      }
      this.queueSets[q] = set;
    }
    return set;
  }
}

/** Adds every string in a JSON value (values and object keys, at any depth) to `out`. */
function collect(value: unknown, out: Set<string>): void {
  if (typeof value === 'string') {
    add(value, out);
  } else if (Array.isArray(value)) {
    for (const v of value) collect(v, out);
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      add(k, out);
      collect(v, out);
    }
  }
}

/** Adds a string and its trimmed form (a program may show a value trimmed: status-handshake does). */
function add(text: string, out: Set<string>): void {
  out.add(text);
  const trimmed = text.trim();
  if (trimmed !== text) out.add(trimmed);
}
