/**
 * Steps one role's machine through xstate's pure `initialTransition`/`transition` (STYLE 1) and
 * turns the returned actions into host effects. Snapshots are interned (one integer id per distinct
 * state value + context + status) and transitions are cached by (state id, event key), so a host
 * that revisits states — the random simulator over many seeds, the exhaustive explorer — calls
 * xstate once per distinct transition, not once per step.
 */
import { initialTransition, transition, type AnyMachineSnapshot, type AnyStateMachine } from 'xstate';
import type { Effect, PrintParams, SendParams } from '../models/types.js';
import { canonicalJson } from './canonical-json.js';

/** What the host needs to know about an interned state without touching xstate again. */
export interface InternedState {
  id: number;
  snapshot: AnyMachineSnapshot;
  /** canonical text of value + context + status */
  key: string;
  /** state value rendered as `a.b` */
  valueText: string;
  tags: readonly string[];
  done: boolean;
  /** `meta.waitsFor` of the deepest active state that has one */
  waitsFor: string | null;
  context: Record<string, unknown>;
}

export interface StepResult {
  next: number;
  effects: readonly Effect[];
}

/** Renders a state value as dotted text: `waitingForPeer.asking`. */
export function stateValueText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object') {
    const parts: string[] = [];
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      const inner = stateValueText(v);
      parts.push(inner ? `${k}.${inner}` : k);
    }
    return parts.join('|');
  }
  return '';
}

export class RoleRuntime {
  readonly role: string;
  readonly machine: AnyStateMachine;
  private readonly states: InternedState[] = [];
  private readonly byKey = new Map<string, number>();
  /** per state id: event key -> result */
  private readonly cache: Map<string, StepResult>[] = [];
  private readonly initialCache = new Map<string, StepResult>();
  /** counts for benchmarks: how often xstate itself was called */
  xstateCalls = 0;

  constructor(role: string, machine: AnyStateMachine) {
    this.role = role;
    this.machine = machine;
  }

  get stateCount(): number {
    return this.states.length;
  }

  state(id: number): InternedState {
    const s = this.states[id];
    if (s === undefined) throw new Error(`role ${this.role}: no interned state ${id}`);
    return s;
  }

  /** Starts a node: the initial state for this input, and its entry effects. */
  start(input: Record<string, unknown>): StepResult {
    const inputKey = canonicalJson(input);
    const cached = this.initialCache.get(inputKey);
    if (cached) return cached;
    this.xstateCalls++;
    const [snapshot, actions] = initialTransition(this.machine, input);
    const result: StepResult = { next: this.intern(snapshot), effects: toEffects(this.role, actions) };
    this.initialCache.set(inputKey, result);
    return result;
  }

  /** Steps state `id` with `event`; `eventKey` must be the canonical text of the event. */
  step(id: number, event: { type: string }, eventKey: string): StepResult {
    let perState = this.cache[id];
    if (perState === undefined) {
      perState = new Map();
      this.cache[id] = perState;
    }
    const hit = perState.get(eventKey);
    if (hit) return hit;
    this.xstateCalls++;
    const current = this.state(id);
    const [snapshot, actions] = transition(this.machine, current.snapshot, event as never);
    const result: StepResult = { next: this.intern(snapshot), effects: toEffects(this.role, actions) };
    perState.set(eventKey, result);
    return result;
  }

  /**
   * The id of state `id` with its context passed through `rename` (symmetry reduction: the same
   * state as another node of this role would have it, node names swapped). The state value, tags and
   * status are the original's; only the context differs.
   */
  renamed(id: number, rename: (context: Record<string, unknown>) => Record<string, unknown>): number {
    const s = this.state(id);
    return this.intern({ ...s.snapshot, context: rename(s.context) } as AnyMachineSnapshot);
  }

  private intern(snapshot: AnyMachineSnapshot): number {
    const key = `${snapshot.status}|${canonicalJson(snapshot.value)}|${canonicalJson(snapshot.context)}`;
    const existing = this.byKey.get(key);
    if (existing !== undefined) return existing;
    const id = this.states.length;
    const meta = snapshot.getMeta() as Record<string, { waitsFor?: string } | undefined>;
    let waitsFor: string | null = null;
    let depth = -1;
    for (const [stateId, m] of Object.entries(meta)) {
      const d = stateId.split('.').length;
      if (m && typeof m.waitsFor === 'string' && d > depth) {
        waitsFor = m.waitsFor;
        depth = d;
      }
    }
    this.states.push({
      id,
      snapshot,
      key,
      valueText: stateValueText(snapshot.value),
      tags: [...snapshot.tags].sort(),
      done: snapshot.status === 'done',
      waitsFor,
      context: snapshot.context as Record<string, unknown>,
    });
    this.byKey.set(key, id);
    return id;
  }
}

interface ActionLike {
  type: string;
  params?: unknown;
}

function toEffects(role: string, actions: readonly ActionLike[]): Effect[] {
  const effects: Effect[] = [];
  for (const action of actions) {
    switch (action.type) {
      case 'send': {
        const p = action.params as SendParams;
        effects.push({ type: 'send', to: p.to, msg: p.msg });
        break;
      }
      case 'print':
        effects.push({ type: 'print', params: action.params as PrintParams });
        break;
      case 'close':
        effects.push({ type: 'close', peer: (action.params as { peer: string }).peer });
        break;
      case 'xstate.raise': {
        const p = action.params as { event: { type: string }; id?: string; delay?: number };
        if (typeof p.delay !== 'number') {
          throw new Error(`role ${role}: an immediate raise reached the host; xstate should have handled it`);
        }
        effects.push({ type: 'timer.start', id: p.id ?? p.event.type, delayMs: p.delay, event: p.event });
        break;
      }
      case 'xstate.cancel':
        effects.push({ type: 'timer.cancel', id: String((action.params as { sendId: string }).sendId) });
        break;
      default:
        throw new Error(
          `role ${role}: action ${JSON.stringify(action.type)} is not one the host interprets (send, print, close, timers); ` +
            'models must express effects as these named actions',
        );
    }
  }
  return effects;
}
