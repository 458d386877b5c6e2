/**
 * The history properties of the untimed system: one interned monitor state per property in the
 * state vector, stepped by interned observations. A monitor transition is computed once per
 * (monitor state, observation) and cached; one that read the node views is cached by their tuple
 * too, and one that read the messages in flight is not cached at all. Reading the global view at
 * all is counted (`viewReads`): the transition memo relies on monitors seeing only observations.
 */
import type { GlobalView, HistoryProperty, Observation } from '../../models/types.js';
import { canonicalJson } from '../canonical-json.js';
import type { SimConfig } from '../config.js';
import type { CompiledModel } from '../simulator.js';
import { FlatIntMap } from './flat-int-map.js';
import type { NodeViews } from './node-views.js';
import type { Observations } from './observations.js';
import { StepCache } from './step-cache.js';
import type { ViewFields } from './view-fields.js';
import { ViewProbe, type ViewSource } from './view-probe.js';

export class Monitors {
  private readonly base: number;
  private readonly observations: Observations;
  private readonly views: NodeViews;
  private readonly props: HistoryProperty<unknown>[];
  private readonly enabled: boolean[];
  private readonly states: unknown[][];
  private readonly stateByKey: Map<string, number>[];
  /** per property: (monitor state, observation id) -> next monitor state, or a violation as -(index + 1) */
  private readonly cache: StepCache[];
  /** per property that reads the node views: (monitor state, observation, view tuple) -> verdict, zigzag-coded */
  private readonly viewCache: (FlatIntMap | undefined)[] = [];
  private readonly viewKey = new Int32Array(3);
  /** the global view handed to monitors, reused (they read it synchronously) */
  private readonly probe: ViewProbe;
  /** how often a monitor read the global view (its verdict is then not cached, nor memoised) */
  viewReads = 0;
  /** per observation id: 1 when it leaves every monitor state as it is, 2 when it may not (see `neutral`) */
  private readonly neutrality: number[] = [];
  /** while set, observations are collected in `deferred` instead of stepping monitors */
  deferring = false;
  readonly deferred: number[] = [];
  /** some monitor step has read the messages in flight (partial-order reduction is then off) */
  readNetwork = false;
  /** the enabled properties with a `forget` hook */
  private readonly forgetting: number[];
  /** per property with a hook, per monitor state: what `forget` asked, what it was told, what it gave */
  private readonly forgetMemo: (ForgetRecord[] | undefined)[][];

  constructor(model: CompiledModel, config: SimConfig, base: number, observations: Observations, views: NodeViews, source: ViewSource, fields: ViewFields | null) {
    const checked = config.checks.invariants;
    this.base = base;
    this.observations = observations;
    this.views = views;
    // (the parts of the node views monitors read are noted in `fields`, for partial-order reduction)
    this.probe = new ViewProbe(source, fields?.note);
    this.props = model.variant.properties as HistoryProperty<unknown>[];
    this.enabled = this.props.map((p) => checked === null || checked.includes(p.id));
    this.states = this.props.map((p) => [p.initial]);
    this.stateByKey = this.props.map((p) => new Map([[canonicalJson(p.initial), 0]]));
    this.cache = this.props.map(() => new StepCache(64, 64));
    this.forgetting = this.props.flatMap((p, k) => (this.enabled[k] && p.forget !== undefined ? [k] : []));
    this.forgetMemo = this.props.map(() => []);
  }

  /** Whether some enabled property has a `forget` hook. */
  get forgets(): boolean {
    return this.forgetting.length > 0;
  }

  /**
   * Replaces each monitor state of `vec` that has a `forget` hook by what the hook keeps of it,
   * `present` answering for `vec` (presence.ts). Remembered per monitor state by the questions the
   * hook asked and the answers it got: the hook is a pure function of its state and those answers,
   * so the same answers to the same questions give the same result.
   */
  forget(vec: Int32Array, present: (text: string) => boolean): void {
    for (const p of this.forgetting) {
      const at = this.base + p;
      vec[at] = this.forgotten(p, vec[at]!, present);
    }
  }

  private forgotten(p: number, ms: number, present: (text: string) => boolean): number {
    let records = this.forgetMemo[p]![ms];
    if (records !== undefined) {
      next: for (const r of records) {
        for (let k = 0; k < r.queries.length; k++) if (present(r.queries[k]!) !== (r.answers[k] === 1)) continue next;
        return r.result;
      }
    }
    const queries: string[] = [];
    const answers: number[] = [];
    const before = this.states[p]![ms];
    const after = this.props[p]!.forget!(before, (text) => {
      const yes = present(text);
      queries.push(text);
      answers.push(yes ? 1 : 0);
      return yes;
    });
    const result = after === before ? ms : this.internState(p, after);
    if (records === undefined) this.forgetMemo[p]![ms] = records = [];
    if (records.length < 64) records.push({ queries, answers: Uint8Array.from(answers), result });
    return result;
  }

  get count(): number {
    return this.props.length;
  }

  /**
   * Whether observation `obsId` leaves every enabled monitor in whatever state it is, in every
   * state (for partial-order reduction: such a step commutes with every other as far as the
   * monitors go). Decided by running each property on a probe state and a probe view that record
   * any read: a property that returns the probe state itself without having read it or the view
   * does the same from every state, since properties are pure functions of what they are given.
   * Anything else (a read, a new state, a violation, an exception) counts as "may change".
   */
  neutral(obsId: number): boolean {
    let v = this.neutrality[obsId];
    if (v === undefined) {
      v = 1;
      for (let p = 0; p < this.props.length && v === 1; p++) {
        if (this.enabled[p] && !neutralProbe(this.props[p]!, this.observations.list[obsId]!)) v = 2;
      }
      this.neutrality[obsId] = v;
    }
    return v === 1;
  }

  /** Feeds an observation to every enabled history property. Returns a violation index or -1. */
  observe(vec: Int32Array, obsId: number): number {
    if (this.deferring) {
      this.deferred.push(obsId);
      return -1;
    }
    for (let p = 0; p < this.props.length; p++) {
      if (!this.enabled[p]) continue;
      const ms = vec[this.base + p]!;
      let r = this.cache[p]!.get(ms, obsId);
      if (r === StepCache.MISSING && this.viewCache[p] !== undefined) r = this.byView(p, vec, ms, obsId);
      if (r === StepCache.MISSING) r = this.step(p, vec, ms, obsId);
      if (r < 0) return -1 - r;
      vec[this.base + p] = r;
    }
    return -1;
  }

  /** A monitor that reads the node views: its verdicts are cached by the views too. */
  private byView(p: number, vec: Int32Array, ms: number, obsId: number): number {
    const key = this.viewKey;
    key[0] = ms;
    key[1] = obsId;
    key[2] = this.views.tupleOf(vec);
    const z = this.viewCache[p]!.get(key);
    if (z < 0) return StepCache.MISSING;
    this.viewReads++;
    return z & 1 ? -((z + 1) >>> 1) : z >>> 1;
  }

  /**
   * Monitor p's step from state `ms` by observation `obsId` in `vec`, computed afresh and not
   * cached: the next state's id, or a violation as -(index + 1). Reads what the probe records.
   */
  evaluate(p: number, vec: Int32Array, ms: number, obsId: number): number {
    const probe = this.probe.reset(vec);
    const prop = this.props[p]!;
    const before = this.states[p]![ms];
    const out = prop.observe(before, this.observations.list[obsId]!, probe.view);
    if (probe.touchedNetwork()) this.readNetwork = true;
    if ('violation' in out) return -1 - this.observations.internViolation(`invariant:${prop.id}`, `invariant ${prop.id} (${prop.description}) broken: ${out.violation}`);
    // most observations leave a monitor as it was: the same object needs no canonical text
    return out.state === before ? ms : this.internState(p, out.state);
  }

  /** Whether the last `evaluate` read the messages in flight. */
  get lastReadNetwork(): boolean {
    return this.probe.touchedNetwork();
  }

  /** The id of monitor p's state `ms` passed through `rename` (symmetry reduction). */
  renamedState(p: number, ms: number, rename: <T>(value: T) => T): number {
    const prop = this.props[p]!;
    const state = this.states[p]![ms];
    return this.internState(p, prop.renameNodes !== undefined ? prop.renameNodes(state, rename) : rename(state));
  }

  /** Told every monitor step computed afresh (symmetry reduction checks it against the permuted step). */
  onStep: ((p: number, vec: Int32Array, ms: number, obsId: number, r: number) => void) | null = null;

  /** Steps monitor p from scratch, and caches the verdict as far as what it read allows. */
  private step(p: number, vec: Int32Array, ms: number, obsId: number): number {
    const r = this.evaluate(p, vec, ms, obsId);
    const probe = this.probe;
    if (this.onStep !== null) {
      const touched = probe.touched();
      const network = probe.touchedNetwork();
      this.onStep(p, vec, ms, obsId, r);
      // (the check evaluated other steps through the same probe: what this one read is restored)
      probe.restore(touched, network);
    }
    // A monitor that looked at the global view depends on more than its state: cached by the
    // node views when it read only those, not at all when it read the messages in flight.
    if (!probe.touched()) {
      this.cache[p]!.set(ms, obsId, r);
      return r;
    }
    if (!probe.touchedNetwork()) {
      let map = this.viewCache[p];
      if (map === undefined) {
        map = new FlatIntMap(3, 4096);
        this.viewCache[p] = map;
      }
      const key = this.viewKey;
      key[0] = ms;
      key[1] = obsId;
      key[2] = this.views.tupleOf(vec);
      map.set(key, r >= 0 ? 2 * r : -2 * r - 1);
    }
    this.viewReads++;
    return r;
  }

  private internState(p: number, state: unknown): number {
    const key = canonicalJson(state);
    const map = this.stateByKey[p]!;
    let id = map.get(key);
    if (id === undefined) {
      id = this.states[p]!.length;
      this.states[p]!.push(state);
      map.set(key, id);
    }
    return id;
  }
}

/** One remembered call of a `forget` hook: the texts it asked about, the answers (1: present), its result. */
interface ForgetRecord {
  queries: string[];
  answers: Uint8Array;
  result: number;
}

/** (exported for tests) Whether `prop` returns its state untouched for `obs` without reading the state or the view. */
export function neutralProbe(prop: HistoryProperty<unknown>, obs: Observation): boolean {
  let read = false;
  const trap: ProxyHandler<object> = {
    get: () => ((read = true), undefined),
    has: () => ((read = true), false),
    ownKeys: () => ((read = true), []),
    getOwnPropertyDescriptor: () => ((read = true), undefined),
    getPrototypeOf: () => ((read = true), null),
  };
  const state = new Proxy({}, trap);
  const view = new Proxy({}, trap) as GlobalView;
  try {
    const out = prop.observe(state, obs, view);
    return !read && 'state' in out && out.state === state;
  } catch {
    return false;
  }
}
