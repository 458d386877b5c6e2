/**
 * The possible worlds of the server model oracle (server-model-oracle.ts): what one world holds,
 * when two are the same, and the forks over them that need no more of the oracle than a way to
 * step a world: model timers near their due time (fired or not yet), and every order of the
 * requests in flight together on different connections. The named limits on both are here.
 */
import type { Expectation, ModelEvent } from '../models/live-types.js';
import type { PrintParams } from '../models/types.js';
import { canonicalJson } from '../sim/canonical-json.js';

/** How far from its due time a model timer may fire live. */
export interface TimerTolerance {
  earlyMs: number;
  lateMs: number;
}

/** Why an arrival is not one the model allows: the reason, what the model expected and what came. */
export interface OracleFailure {
  reason: string;
  expected: string;
  observed: string;
}

/** A console line of a world, placed in the host's trace. */
export interface PlacedPrint {
  pos: number;
  atMs: number;
  params: PrintParams;
}

/** The server node of one world, as checks see it. */
export interface ServerNodeState {
  value: unknown;
  context: Record<string, unknown>;
  tags: readonly string[];
}

/**
 * What a host follows in every world besides the model (the live driver: the scenario's property
 * monitors and the violations found, which differ between worlds because the server's console
 * lines do). `ext` must be JSON data; it is part of what tells worlds apart.
 */
export interface WorldHooks {
  initial: unknown;
  /** the server printed `prints` in a world now in `server` state */
  onPrints(ext: unknown, prints: readonly PrintParams[], server: ServerNodeState): unknown;
  /** where the host's trace is now, to place the world's console lines in it */
  position(): number;
}

/** Most worlds kept possible at once. */
export const maxPossibleWorlds = 4096;
/**
 * Most orders tried for the requests in flight together on different connections (sent with no
 * arrival in between); beyond it the oracle cannot judge the case (an ERROR that says so).
 */
export const maxRequestOrders = 5040;
/** Most timer firings one advance may carry out in one world (a runaway periodic timer). */
export const maxTimerFiringsPerAdvance = 1000;

/** A model timer of one world: when it is due, and the event it steps. */
export interface Timer {
  dueMs: number;
  event: ModelEvent;
}

/** One possible world: the model's state, its timers, what each client must still receive, the bindings. */
export interface World {
  /** what the server printed (its console) since the last `takeLog` */
  log: PrintParams[];
  /** everything it printed, placed in the host's trace (with hooks) */
  history: PlacedPrint[];
  /** the host's data (with hooks) */
  ext: unknown;
  state: number;
  timers: Record<string, Timer>;
  expected: Record<string, Expectation[]>;
  bind: Record<string, string>;
  notes: Record<string, unknown>;
  /** arrivals of the expected kind whose text differs (judged after what arrived at all: `settle`) */
  textFaults?: OracleFailure[];
}

/** A request sent while others were in flight on other connections: applied in any order. */
export interface InFlight {
  client: string;
  wire: unknown;
  indefinite: boolean;
  atMs: number;
}

/** The oracle ran out of a named limit: the case must be made more definite. */
export class OracleLimitError extends Error {}

/** Steps a world by one model event taken at model time `atMs`. */
export type WorldStep = (w: World, event: ModelEvent, atMs: number) => World;

/** What tells a world apart from another (its console log aside). */
function worldKey(w: World): string {
  const expected: Record<string, unknown[]> = {};
  for (const [c, q] of Object.entries(w.expected)) {
    if (q.length > 0) expected[c] = q.map((e) => (e.kind === 'wire' ? { wire: e.description, optional: e.optional === true } : e));
  }
  return `${w.state}|${canonicalJson(w.timers)}|${canonicalJson(expected)}|${canonicalJson(w.bind)}|${canonicalJson(w.notes)}|${canonicalJson(w.ext)}|${canonicalJson(w.textFaults ?? [])}`;
}

/** The worlds without repeats, first of each kept; throws OracleLimitError past maxPossibleWorlds. */
export function distinctWorlds(worlds: World[]): World[] {
  const seen = new Map<string, World>();
  for (const w of worlds) {
    const k = worldKey(w);
    if (!seen.has(k)) seen.set(k, w);
  }
  if (seen.size > maxPossibleWorlds) {
    throw new OracleLimitError(`limit maxPossibleWorlds=${maxPossibleWorlds} reached: too many possible model worlds (timers near their due time, indefinite outcomes, requests in flight together); make the case more definite`);
  }
  return [...seen.values()];
}

/** Fires the timers that must have fired by `now`, and forks on those that may have; whether any fired. */
export function fireDueTimers(worlds: readonly World[], now: number, tolerance: TimerTolerance, step: WorldStep): { worlds: World[]; fired: boolean } {
  const out: World[] = [];
  let fired = false;
  const expand = (w: World, budget: number): void => {
    let soonest: [string, Timer] | undefined;
    for (const entry of Object.entries(w.timers)) {
      if (entry[1].dueMs - tolerance.earlyMs <= now && (soonest === undefined || entry[1].dueMs < soonest[1].dueMs)) soonest = entry;
    }
    if (soonest === undefined) {
      out.push(w);
      return;
    }
    fired = true;
    if (budget <= 0) throw new OracleLimitError(`limit maxTimerFiringsPerAdvance=${maxTimerFiringsPerAdvance} reached: a model timer keeps firing`);
    const [id, timer] = soonest;
    const { [id]: _fired, ...rest } = w.timers;
    const next = step({ ...w, timers: rest }, timer.event, timer.dueMs);
    if (timer.dueMs + tolerance.lateMs <= now) {
      expand(next, budget - 1);
      return;
    }
    // Inside the window: it may or may not have fired yet live. The timely world comes first:
    // it is the one that stands for the server in views and console lines.
    expand(next, budget - 1);
    out.push(w);
  };
  for (const w of worlds) expand(w, maxTimerFiringsPerAdvance);
  return { worlds: out, fired };
}

/** Every order of the requests in flight (each connection's in order) applied to `base`, each request by `receive`. */
export function requestOrders(base: World[], batch: readonly InFlight[], receive: (w: World, r: InFlight) => World[]): World[] {
  const clients = [...new Set(batch.map((r) => r.client))];
  const queues = clients.map((c) => batch.filter((r) => r.client === c));
  let count = 0;
  const out: World[] = [];
  const walk = (w: World, heads: number[]): void => {
    let progressed = false;
    for (let i = 0; i < queues.length; i++) {
      if (heads[i]! >= queues[i]!.length) continue;
      progressed = true;
      const nextHeads = heads.slice();
      nextHeads[i]! += 1;
      for (const n of receive(w, queues[i]![heads[i]!]!)) walk(n, nextHeads);
    }
    if (!progressed) {
      if (++count > maxRequestOrders) {
        throw new OracleLimitError(`limit maxRequestOrders=${maxRequestOrders} reached: too many requests in flight together on different connections (${batch.length} on ${clients.length}); wait for replies in between`);
      }
      out.push(w);
    }
  };
  for (const w of base) walk(w, queues.map(() => 0));
  return out;
}

/** True when `w` expects nothing more (but optional parts) for any client (of `clients`, when given). */
export function worldDone(w: World, clients?: readonly string[]): boolean {
  return Object.entries(w.expected).every(([c, q]) => q.every((e) => e.optional === true) || (clients !== undefined && !clients.includes(c)));
}
