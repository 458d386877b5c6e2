/**
 * Node locals of the untimed system: per node, its interned local states (status, interned machine
 * state, armed timers, workload cursor, whether the person has a line ready), and the outcome of
 * each node event from each local state, computed once (through the role runtime's own caches)
 * and kept in the local.
 */
import type { Effect, NodeId, PrintParams } from '../../models/types.js';
import { canonicalJson } from '../canonical-json.js';
import type { SimConfig } from '../config.js';
import { carryOutEffects, type EffectHost } from '../kernel/effects.js';
import { CRASHED, DONE, isIdleOnPerson, isServerRole, isUnfinished, isWaiting, PAUSED, RUNNING } from '../kernel/world-rules.js';
import type { RoleRuntime, StepResult } from '../role-runtime.js';
import type { CompiledModel } from '../simulator.js';
import type { ChannelStore } from './channel-store.js';
import type { Observations } from './observations.js';
import {
  N_CRASH,
  N_DELIVER,
  N_INPUT,
  N_PAUSE,
  N_QUIT,
  N_RESTART_FRESH,
  N_RESTART_KEPT,
  N_RESUME,
  N_START,
  N_TIMER,
  type Local,
  type NodeResult,
  type TimerRec,
} from './untimed-model.js';

/** What a local state is interned from. */
interface LocalFields {
  status: number;
  stateId: number;
  timers: TimerRec[];
  cursor: number;
  inputPending: boolean;
}

/** A node event's outcome while it is computed: the new local fields, and what the event did. */
interface Draft extends LocalFields {
  step: StepResult | null;
  text: string | null;
}

export class NodeLocals {
  private readonly model: CompiledModel;
  private readonly nodeIds: readonly NodeId[];
  readonly roles: string[];
  readonly runtimes: RoleRuntime[];
  private readonly inputs: Record<string, unknown>[];
  readonly isServer: boolean[];
  /** per node: its person's lines, whether they quit after them, whether it has a workload */
  readonly messages: string[][];
  private readonly quitAfter: boolean[];
  private readonly hasWorkload: boolean[];
  private readonly store: ChannelStore;
  private readonly observations: Observations;
  /** interned node locals, per node */
  readonly locals: Local[][] = [];
  private readonly localByKey: Map<string, number>[] = [];
  /** how many node transitions were computed (cache misses) */
  computed = 0;
  /**
   * Who has been seen to send to (or close) whom, at `from * n + to`: bit 1 in a step that is not
   * a delivery from `to` (spontaneously), bit 2 in a delivery from `to` (a reply). Learned from every
   * node step computed; partial-order reduction relies on it and starts over when it grows
   * (`talkVersion`).
   */
  readonly talks: Uint8Array;
  talkVersion = 0;

  constructor(model: CompiledModel, config: SimConfig, store: ChannelStore, observations: Observations) {
    const variant = model.variant;
    this.model = model;
    this.nodeIds = config.nodes.map((x) => x.id);
    this.roles = config.nodes.map((x) => x.role);
    const nodesByRole: Record<string, NodeId[]> = {};
    for (const x of config.nodes) (nodesByRole[x.role] ??= []).push(x.id);
    this.runtimes = config.nodes.map((x) => {
      const r = model.runtimes.get(x.role);
      if (!r) throw new Error(`node ${x.id}: role ${x.role} is not in ${model.protocol}/${variant.name}`);
      return r;
    });
    this.inputs = config.nodes.map((x) => variant.roles[x.role]!.input({ self: x.id, nodesByRole, params: x.params }));
    this.isServer = this.roles.map(isServerRole);
    const workload = config.nodes.map((x) => config.workload.find((w) => w.node === x.id));
    this.messages = workload.map((w) => w?.messages ?? []);
    this.quitAfter = workload.map((w) => w?.quitAfter ?? false);
    this.hasWorkload = workload.map((w) => w !== undefined);
    this.store = store;
    this.observations = observations;
    this.talks = new Uint8Array(config.nodes.length * config.nodes.length);
  }

  /** Node i's role input (what its machine starts from, again after a fresh restart). */
  inputOf(i: number): Record<string, unknown> {
    return this.inputs[i]!;
  }

  /** Adds node i's table, with its initial (not started) local as id 0. */
  addNode(i: number, initial: LocalFields): void {
    this.locals.push([]);
    this.localByKey.push(new Map());
    this.intern(i, initial);
  }

  /** The outcome of node event `code` in node i's local `localId`, computed on first use. */
  result(i: number, localId: number, code: number): NodeResult {
    const loc = this.locals[i]![localId]!;
    // Deliveries are keyed by message id on their own: codes of deliveries are large and sparse.
    const delivery = (code & 15) === N_DELIVER;
    const row = delivery ? loc.delivered : loc.other;
    const key = delivery ? code >>> 4 : code;
    let r = row[key];
    if (r === undefined) {
      r = this.compute(i, localId, code);
      row[key] = r;
      this.onComputed?.(i, localId, code, r);
    }
    return r;
  }

  /** Told every node event outcome computed (symmetry reduction checks it against the permuted one). */
  onComputed: ((i: number, localId: number, code: number, r: NodeResult) => void) | null = null;

  intern(i: number, l: LocalFields): number {
    const key = `${l.status}|${l.stateId}|${l.timers.map((t) => t.id).join(',')}|${l.cursor}|${l.inputPending ? 1 : 0}`;
    const map = this.localByKey[i]!;
    let id = map.get(key);
    if (id === undefined) {
      id = this.locals[i]!.length;
      const st = l.stateId >= 0 ? this.runtimes[i]!.state(l.stateId) : null;
      this.locals[i]!.push({
        ...l,
        key,
        unfinished: isUnfinished(l.status, st),
        idleOnPerson: isIdleOnPerson(l.status, st, l.inputPending),
        waiting: isWaiting(st),
        viewId: -1,
        delivered: [],
        other: [],
      });
      map.set(key, id);
    }
    return id;
  }

  /** Computes a node event's outcome from scratch (xstate through the role runtime's own caches). */
  private compute(i: number, localId: number, code: number): NodeResult {
    this.computed++;
    const loc = this.locals[i]![localId]!;
    const kind = code & 15;
    const d: Draft = { status: loc.status, stateId: loc.stateId, timers: loc.timers, cursor: loc.cursor, inputPending: loc.inputPending, step: null, text: null };
    this.react(i, d, kind, code >>> 4);
    const obs: number[] = [];
    const ops: number[] = [];
    const refs: number[] = [];
    let progress = false;
    let stateText: string | null = null;
    const step = d.step;
    const effects = step?.effects ?? [];
    if (step !== null) {
      const runtime = this.runtimes[i]!;
      const before = d.stateId;
      d.stateId = step.next;
      if (kind !== N_START && kind !== N_RESTART_FRESH && before >= 0) {
        const now = runtime.state(d.stateId).valueText;
        if (d.stateId !== before && now !== runtime.state(before).valueText) stateText = now;
      }
      if (this.effects(i, d, effects, obs, ops, refs)) progress = true;
    }
    let becameDone = false;
    if (d.status === RUNNING && d.stateId >= 0 && this.runtimes[i]!.state(d.stateId).done) {
      d.status = DONE;
      d.timers = [];
      d.inputPending = false;
      becameDone = true;
    }
    const next = this.intern(i, { status: d.status, stateId: d.stateId, timers: d.timers, cursor: d.cursor, inputPending: d.inputPending });
    this.learnTalks(i, kind === N_DELIVER ? this.store.msgs[code >>> 4]!.from : -1, ops, becameDone);
    return {
      next,
      obs: Int32Array.from(obs),
      ops: Int32Array.from(ops),
      progress,
      becameDone,
      effects,
      refs: Int32Array.from(refs),
      stateText,
      text: d.text,
      started: kind === N_START || kind === N_RESTART_FRESH ? 1 : kind === N_RESTART_KEPT ? 2 : 0,
    };
  }

  /** Notes whom a step of node i sent to or closed (`replyTo`: the sender of the message it got, or -1). */
  private learnTalks(i: number, replyTo: number, ops: readonly number[], becameDone: boolean): void {
    const n = this.nodeIds.length;
    const note = (to: number): void => {
      const bit = to === replyTo ? 2 : 1;
      const at = i * n + to;
      if ((this.talks[at]! & bit) === 0) {
        this.talks[at] = this.talks[at]! | bit;
        this.talkVersion++;
      }
    };
    for (let k = 0; k < ops.length; k += 2) note(ops[k] === 0 ? this.store.msgs[ops[k + 1]!]!.to : ops[k + 1]!);
    // a TCP node that finishes closes every connection it has (and may notify every peer)
    if (becameDone) for (let to = 0; to < n; to++) if (to !== i) note(to);
  }

  /** The event itself: the new status, timers, cursor, and the machine's step if it took one. */
  private react(i: number, d: Draft, kind: number, arg: number): void {
    const runtime = this.runtimes[i]!;
    switch (kind) {
      case N_START:
      case N_RESTART_FRESH:
        d.step = runtime.start(this.inputs[i]!);
        d.status = RUNNING;
        d.timers = [];
        d.inputPending = false;
        break;
      case N_RESTART_KEPT:
        d.status = RUNNING;
        d.inputPending = false;
        if (runtime.state(d.stateId).tags.includes('awaitingUser')) this.scheduleInput(i, d);
        break;
      case N_CRASH:
        // Timers stay with the local state: they are the ones a restart with kept state re-arms.
        d.status = CRASHED;
        d.inputPending = false;
        break;
      case N_PAUSE:
        d.status = PAUSED;
        break;
      case N_RESUME:
        d.status = RUNNING;
        break;
      case N_INPUT: {
        d.inputPending = false;
        const text = this.messages[i]![d.cursor]!;
        d.text = text;
        d.cursor++;
        d.step = runtime.step(d.stateId, { type: 'user.input', text } as { type: string }, canonicalJson({ type: 'user.input', text }));
        break;
      }
      case N_QUIT:
        d.inputPending = false;
        d.step = runtime.step(d.stateId, { type: 'user.quit' }, '{"type":"user.quit"}');
        break;
      case N_TIMER: {
        const timer = d.timers[arg]!;
        d.timers = d.timers.filter((_, k) => k !== arg);
        d.step = runtime.step(d.stateId, timer.event, timer.eventKey);
        break;
      }
      case N_DELIVER: {
        const m = this.store.msgs[arg]!;
        d.step = runtime.step(d.stateId, m.event, m.eventKey);
        break;
      }
      default:
        throw new Error(`unknown node event ${kind}`);
    }
  }

  /** The person gets a line ready, if they have one (or will quit). */
  private scheduleInput(i: number, d: Draft): void {
    if (d.inputPending || !this.hasWorkload[i]) return;
    if (d.cursor < this.messages[i]!.length || this.quitAfter[i]) d.inputPending = true;
  }

  /** One effect of a step: its network op, observation and ref; returns whether it is progress. */
  /** Collects a step's effects as the untimed system keeps them (through the kernel's effect rules). */
  private effects(i: number, d: Draft, effects: readonly Effect[], obs: number[], ops: number[], refs: number[]): boolean {
    const locals = this;
    let progress = false;
    const host: EffectHost<number> = {
      // observations are judged when the step is applied, not while it is computed
      isStopped: () => false,
      send(_i, toId, msg) {
        const to = locals.nodeIds.indexOf(toId);
        if (to < 0) throw new Error(`node ${locals.nodeIds[i]} sent to unknown node ${toId}`);
        const id = locals.store.internMsg(i, to, msg);
        ops.push(0, id);
        refs.push(id);
      },
      print(_i, params, isProgress) {
        const id = locals.observations.intern({ kind: 'print', node: locals.nodeIds[i]!, params: params as PrintParams });
        obs.push(id);
        refs.push(id);
        if (isProgress) progress = true;
      },
      promptShown: () => locals.scheduleInput(i, d),
      close(_i, peerId) {
        const peer = locals.nodeIds.indexOf(peerId);
        ops.push(1, peer);
        refs.push(peer);
      },
      armTimer(_i, id, _delayMs, event) {
        const eventKey = canonicalJson(event);
        d.timers = [...d.timers.filter((t) => t.id !== id), { id, event, eventKey }].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
        refs.push(-1);
      },
      cancelTimer(_i, id) {
        d.timers = d.timers.filter((t) => t.id !== id);
        refs.push(-1);
      },
    };
    carryOutEffects(host, i, this.nodeIds[i]!, this.model.variant, effects);
    return progress;
  }
}
