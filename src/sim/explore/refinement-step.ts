/**
 * One step of the refinement check (refinement.ts): a candidate untimed step compared with the
 * timed trace, the model spy that logs the timed run's node states, and the helpers that show and
 * compare trace events.
 */
import type { NodeId, NodeStatus } from '../../models/types.js';
import { canonicalJson } from '../canonical-json.js';
import type { RoleRuntime } from '../role-runtime.js';
import type { CompiledModel } from '../simulator.js';
import type { TraceEvent } from '../trace.js';
import { E_DELIVER, E_INPUT, E_SCRIPT, E_START, E_TIMER, type Recorder } from './untimed-system.js';

/** A candidate untimed step: the state and recorder after it, and how far it matched the timed trace. */
export interface Trial {
  event: number;
  vec: Int32Array;
  rec: Recorder;
  broke: number;
  /** index of the first timed event after the step, or -1 when it did not match */
  next: number;
  why: string;
  /** how many recorded events matched (to pick the closest candidate for the report) */
  matched: number;
  /** untimed send id -> timed id, for the sends of this step */
  pairs: [number, number][];
  lost: number[];
  duplicated: number[];
  resetDropped: number[];
  /** the timed node statuses and state ids after the step */
  status: NodeStatus[];
  stateIds: number[];
  nextLog: number;
}

/** A model whose role runtimes log the state id of every start and step (for the timed run). */
export function spyModel(model: CompiledModel, log: (next: number) => void): CompiledModel {
  const runtimes = new Map<string, RoleRuntime>();
  for (const [role, rt] of model.runtimes) {
    runtimes.set(
      role,
      new Proxy(rt, {
        get(target, prop) {
          if (prop === 'start') {
            return (input: Record<string, unknown>) => {
              const r = target.start(input);
              log(r.next);
              return r;
            };
          }
          if (prop === 'step') {
            return (id: number, event: { type: string }, key: string) => {
              const r = target.step(id, event, key);
              log(r.next);
              return r;
            };
          }
          const v: unknown = Reflect.get(target, prop, target);
          return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
        },
      }),
    );
  }
  const spy = Object.create(model) as CompiledModel;
  Object.defineProperty(spy, 'runtimes', { value: runtimes });
  return spy;
}

/**
 * Compares the events `t` recorded with the timed trace from `at`: the same events in the same
 * order, up to what the two drivers decide at different moments (see refinement.ts's comment).
 * Fills `t` in: what matched, the losses, duplications and reset drops to take later, and `next`
 * (the first timed event after the step) or `why` it did not match. `u2t` maps the untimed send ids
 * of earlier steps to timed ids; `compareStates` checks the node states after the step.
 */
export function compareStep(
trace: readonly TraceEvent[],
u2t: ReadonlyMap<number, number>,
t: Trial,
at: number,
compareStates: (from: number, to: number) => string | null,
): void {
  const sent = new Map<number, number>(); // timed id -> untimed id, sends of this step
  let j = at;
  const sentThisStep = (untimedId: number): boolean => [...sent.values()].includes(untimedId);
  const skipNetwork = (r: TraceEvent | null): void => {
    for (;;) {
      const x = trace[j];
      if (x === undefined) return;
      if (x.k === 'drop' && x.reason === 'loss' && sent.has(x.id)) t.lost.push(x.id);
      else if (x.k === 'duplicate' && sent.has(x.id) && !(r?.k === 'duplicate' && sent.get(x.id) === r.id)) t.duplicated.push(x.id);
      else return;
      j++;
    }
  };
  for (const r of t.rec.trace) {
    // A reset drop of a message sent in this same step is a refused write (a server writing to a
    // client whose request was already answered): both drivers record it at once, compared below.
    if (r.k === 'drop' && r.reason === 'reset' && !sentThisStep(r.id)) {
      // discarded at the crash or restart by the untimed system; the timed drop comes at arrival
      const x = u2t.get(r.id) ?? [...sent].find(([, u]) => u === r.id)?.[0];
      if (x !== undefined) t.resetDropped.push(x);
      continue;
    }
    skipNetwork(r);
    // a scripted duplication of a message the timed network then lost (loss is drawn after the rules): both copies are lost
    const dupOf = r.k === 'duplicate' ? [...sent].find(([, u]) => u === r.id)?.[0] : undefined;
    if (dupOf !== undefined && t.lost.includes(dupOf)) {
      t.lost.push(dupOf);
      continue;
    }
    const x = trace[j];
    // the timed run stopped at a finding (a property that reads the time, say) in the middle of the step
    if (x?.k === 'finding' && t.matched > 0) break;
    if (x === undefined) {
      t.why = `the timed trace ends where the untimed step records ${show(r)}`;
      return;
    }
    const diff = differs(r, x);
    if (diff !== null) {
      t.why = `the untimed step records ${show(r)}, the timed trace has ${show(x)}${diff ? ` (${diff})` : ''}`;
      return;
    }
    if (r.k === 'send' && x.k === 'send') {
      sent.set(x.id, r.id);
      t.pairs.push([r.id, x.id]);
    }
    t.matched++;
    j++;
  }
  skipNetwork(null);
  const x = trace[j];
  if (t.matched === 0) {
    t.why = 'the untimed step records nothing';
    return;
  }
  // (a drop right after its send at the same time is decided at send time; a later one on delivery)
  const sameStep = x !== undefined && (x.k === 'send' || x.k === 'print' || x.k === 'state' || x.k === 'duplicate');
  if (x !== undefined && (sameStep || (x.k === 'drop' && sent.has(x.id) && x.t === trace[j - 1]?.t))) {
    t.why = `the timed step goes on with ${show(x)}, the untimed step ends`;
    return;
  }
  const bad = compareStates(at, j);
  if (bad !== null) {
    t.why = bad;
    return;
  }
  t.next = j;
}

/**
 * The enabled untimed events (`enabled`) that could be the timed trace event `ev`: of its kind, on
 * its node or link. On a non-FIFO link, the copy of the same message (by id) is tried first.
 */
export function candidateEvents(
  enabled: Int32Array,
  ev: TraceEvent,
  rec: Recorder,
  idx: (node: NodeId) => number,
  linkOf: (a: number, b: number) => number,
  u2t: ReadonlyMap<number, number>,
): number[] {
  const out: number[] = [];
  const node = 'node' in ev ? idx(ev.node) : -1;
  for (const e of enabled) {
    const type = e & 15;
    const arg = e >>> 4;
    switch (ev.k) {
      case 'start':
        if (type === E_START && arg === node) out.push(e);
        break;
      case 'deliver':
      case 'drop': {
        if (type !== E_DELIVER || (arg >>> 6) !== linkOf(idx(ev.from), idx(ev.to))) break;
        // the same message (by id) first: identical messages on a non-FIFO link are one choice
        const ids = rec.linkIds[arg >>> 6]!;
        const pos = ids.findIndex((u) => u !== 0 && u2t.get(u) === ev.id);
        if (pos > 0 && !out.includes(E_DELIVER | ((((arg >>> 6) << 6) | pos) << 4))) out.unshift(E_DELIVER | ((((arg >>> 6) << 6) | pos) << 4));
        out.push(e);
        break;
      }
      case 'conn':
        if (type === E_DELIVER && (arg >>> 6) === linkOf(idx(ev.peer), node)) out.push(e);
        break;
      case 'timer':
        if (type === E_TIMER && (arg >>> 6) === node) out.push(e);
        break;
      case 'input':
      case 'quit':
        if (type === E_INPUT && arg === node) out.push(e);
        break;
      case 'fault':
        if (type === E_SCRIPT) out.push(e);
        break;
      default:
        break;
    }
  }
  return [...new Set(out)];
}

export function notLive(status: NodeStatus): boolean {
  return status === 'crashed' || status === 'done' || status === 'not-started';
}

const eventNames: Record<number, string> = { 1: 'start', 2: 'deliver', 3: 'timer', 4: 'input', 5: 'script', 6: 'crash', 7: 'restart', 8: 'lose', 9: 'dup', 10: 'net-lose', 11: 'net-dup' };

export function eventName(e: number): string {
  return `${eventNames[e & 15] ?? `event ${e & 15}`}(${e >>> 4})`;
}

/** A trace event without its time and message id, as text. */
export function show(e: TraceEvent): string {
  const { t: _t, ...rest } = e;
  if ('id' in rest) delete (rest as { id?: number }).id;
  return canonicalJson(rest);
}

/** Null when the two events are the same up to times and message ids, else what differs ('' when the kinds differ). */
function differs(a: TraceEvent, b: TraceEvent): string | null {
  if (a.k !== b.k) return '';
  const x = a as unknown as Record<string, unknown>;
  const y = b as unknown as Record<string, unknown>;
  for (const key in x) {
    if (key === 't' || key === 'id') continue;
    const u = x[key];
    const v = y[key];
    if (u === v) continue;
    if (typeof u !== 'object' || typeof v !== 'object' || u === null || v === null || canonicalJson(u) !== canonicalJson(v)) return `${key} differs`;
  }
  for (const key in y) if (!(key in x)) return `${key} differs`;
  return null;
}
