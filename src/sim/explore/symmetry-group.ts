/**
 * Which nodes of a scenario are interchangeable, for symmetry reduction (symmetry.ts), and how a
 * permutation of them renames data.
 *
 * Candidates are nodes with the same role, the same parameters, the same start-time distribution,
 * the same eligibility for budget faults and the same shape of workload, named by no scripted fault.
 * A class of candidates is kept only when every transposition of two of its members (they generate
 * the class's permutations) leaves the scenario's world as it is: the link configurations between
 * every two nodes, the start order the start times force, each node's role input and each person's
 * lines, with node names renamed. What the nodes then do with the names (in machine contexts,
 * messages, the store's data, monitor states) is checked as the search computes it (symmetry.ts):
 * the static checks here only say the scenario gives the nodes the same world.
 *
 * Renaming is one rule over JSON data, applied to strings and object keys: a string equal to a node
 * name becomes the permuted name, and inside longer strings every node name standing as a word of
 * its own (not inside a longer name: `c1` is not renamed in `c10`) is replaced at once, so that a
 * person's line `c1 message 1` becomes `c2 message 1` and a monitor's `c2|c1 message 1` becomes
 * `c1|c2 message 1`. A model whose behaviour depends on names in another way fails the checks.
 */
import type { NodeId } from '../../models/types.js';
import { canonicalJson } from '../canonical-json.js';
import type { SimConfig } from '../config.js';
import type { CompiledModel } from '../simulator.js';
import { buildTopology, linkConfig } from './untimed-topology.js';

/** Symmetry reduction stops the search (it is then run without) past this many permutations. */
export const MAX_GROUP = 5040;

export interface SymmetryGroup {
  /** classes of interchangeable nodes, by index (each at least two) */
  classes: number[][];
  /** every permutation of the nodes the classes allow; `perms[0]` is the identity */
  perms: Int32Array[];
  /** renames JSON data by permutation g */
  rename(g: number, value: unknown): unknown;
  /** why candidate nodes were left out, in words */
  notes: string[];
}

/** The interchangeable nodes of `config`, and the permutations among them. */
export function symmetryGroup(model: CompiledModel, config: SimConfig, faultBudget: number): SymmetryGroup {
  const ids = config.nodes.map((x) => x.id);
  const notes: string[] = [];
  const classes: number[][] = [];
  for (const candidate of candidateClasses(config, faultBudget)) {
    const problem = classProblem(model, config, candidate);
    if (problem === null) classes.push(candidate);
    else notes.push(`${candidate.map((i) => ids[i]).join(', ')} are not interchangeable: ${problem}`);
  }
  const size = classes.reduce((a, c) => a * factorial(c.length), 1);
  if (size > MAX_GROUP) throw new Error(`symmetry: ${size} permutations of interchangeable nodes, more than ${MAX_GROUP}`);
  let perms: Int32Array[] = [Int32Array.from(ids.keys())];
  for (const c of classes) perms = perms.flatMap((p) => permutationsOf(c).map((q) => compose(p, c, q)));
  const renamers = perms.map((p) => nameRenamer(ids, p));
  return { classes, perms, rename: (g, value) => (g === 0 ? value : renameJson(value, renamers[g]!)), notes };
}

/** Nodes alike in every setting of their own, grouped (classes of at least two). */
function candidateClasses(config: SimConfig, faultBudget: number): number[][] {
  const named = new Set<string>();
  for (const f of config.faults) collectStrings(f, named);
  const eligible = config.randomFaults?.nodes ?? null;
  const byKey = new Map<string, number[]>();
  config.nodes.forEach((x, i) => {
    if (named.has(x.id)) return;
    const w = config.workload.find((v) => v.node === x.id);
    const key = canonicalJson({
      role: x.role,
      params: x.params,
      startAt: x.startAt,
      // (which nodes budget faults may strike matters only when there is a budget)
      faults: faultBudget === 0 || eligible === null || eligible.includes(x.id),
      workload: w === undefined ? null : { lines: w.messages.length, quit: w.quitAfter, think: w.think },
    });
    byKey.set(key, [...(byKey.get(key) ?? []), i]);
  });
  return [...byKey.values()].filter((c) => c.length >= 2);
}

/** Why transposing two members of `c` would change the scenario's world, or null. */
function classProblem(model: CompiledModel, config: SimConfig, c: number[]): string | null {
  const ids = config.nodes.map((x) => x.id);
  const n = ids.length;
  const topo = buildTopology(config, ids);
  const nodesByRole: Record<string, NodeId[]> = {};
  for (const x of config.nodes) (nodesByRole[x.role] ??= []).push(x.id);
  const inputs = config.nodes.map((x) => canonicalJson(model.variant.roles[x.role]!.input({ self: x.id, nodesByRole, params: x.params })));
  const lines = config.nodes.map((x) => canonicalJson(config.workload.find((w) => w.node === x.id)?.messages ?? []));
  for (let k = 0; k + 1 < c.length; k++) {
    const t = Int32Array.from(ids.keys());
    [t[c[k]!], t[c[k + 1]!]] = [c[k + 1]!, c[k]!];
    const r = nameRenamer(ids, t);
    const raw = config.nodes.map((x) => model.variant.roles[x.role]!.input({ self: x.id, nodesByRole, params: x.params }));
    for (let i = 0; i < n; i++) {
      if (canonicalJson(renameJson(raw[i], r)) !== inputs[t[i]!]) return `the role input of ${ids[i]} does not become ${ids[t[i]!]}'s when the names are swapped`;
      const own = config.workload.find((w) => w.node === ids[i])?.messages ?? [];
      if (canonicalJson(renameJson(own, r)) !== lines[t[i]!]) return `the lines ${ids[i]}'s person types do not become ${ids[t[i]!]}'s when the names are swapped`;
      for (let j = 0; j < n; j++) {
        if (i === j) continue;
        if (canonicalJson(linkConfig(config, ids[i]!, ids[j]!)) !== canonicalJson(linkConfig(config, ids[t[i]!]!, ids[t[j]!]!))) return `the link ${ids[i]} -> ${ids[j]} is configured unlike ${ids[t[i]!]} -> ${ids[t[j]!]}`;
        const after = topo.startAfter[i]!.includes(j);
        if (after !== topo.startAfter[t[i]!]!.includes(t[j]!)) return `their start times force an order between them`;
      }
    }
  }
  return null;
}

const factorial = (k: number): number => (k <= 1 ? 1 : k * factorial(k - 1));

function collectStrings(value: unknown, out: Set<string>): void {
  if (typeof value === 'string') out.add(value);
  else if (Array.isArray(value)) for (const v of value) collectStrings(v, out);
  else if (value !== null && typeof value === 'object') for (const v of Object.values(value)) collectStrings(v, out);
}

/** Every permutation of the members of class `c` (as arrays of members: position k takes c[k]'s image). */
function permutationsOf(c: readonly number[]): number[][] {
  if (c.length <= 1) return [[...c]];
  const out: number[][] = [];
  for (let k = 0; k < c.length; k++) {
    const rest = [...c.slice(0, k), ...c.slice(k + 1)];
    for (const p of permutationsOf(rest)) out.push([c[k]!, ...p]);
  }
  return out;
}

/** Permutation p, with class `c`'s members mapped as `images` says (c[k] -> images[k]). */
function compose(p: Int32Array, c: readonly number[], images: readonly number[]): Int32Array {
  const out = Int32Array.from(p);
  c.forEach((m, k) => (out[m] = images[k]!));
  return out;
}

interface NameRenamer {
  exact: Map<string, string>;
  words: RegExp | null;
  /** strings renamed so far (the same texts come back in state after state) */
  seen: Map<string, string>;
}

/** The renaming of node names by permutation p (only the names it moves). */
function nameRenamer(ids: readonly NodeId[], p: Int32Array): NameRenamer {
  const exact = new Map<string, string>();
  ids.forEach((id, i) => {
    if (p[i] !== i) exact.set(id, ids[p[i]!]!);
  });
  if (exact.size === 0) return { exact, words: null, seen: new Map() };
  const alternatives = [...exact.keys()].sort((a, b) => b.length - a.length).map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return { exact, words: new RegExp(`(?<![\\w-])(${alternatives.join('|')})(?![\\w-])`, 'g'), seen: new Map() };
}

function renameString(s: string, r: NameRenamer): string {
  const whole = r.exact.get(s);
  if (whole !== undefined) return whole;
  if (r.words === null) return s;
  let out = r.seen.get(s);
  if (out === undefined) {
    r.words.lastIndex = 0;
    out = r.words.test(s) ? s.replace(r.words, (m) => r.exact.get(m) ?? m) : s;
    r.seen.set(s, out);
  }
  return out;
}

/** `value` with every node name renamed (strings and object keys), as a new value. */
function renameJson(value: unknown, r: NameRenamer): unknown {
  if (typeof value === 'string') return renameString(value, r);
  if (Array.isArray(value)) return value.map((v) => renameJson(v, r));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[renameString(k, r)] = renameJson(v, r);
    return out;
  }
  return value;
}
