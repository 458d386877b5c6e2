/**
 * The walk of the timed realisation (timed-realisation.ts): a path replayed through `UntimedSystem`
 * with a recorder, naming every event the timed simulator would queue (a start, a message copy, a
 * connection event, a timer, a person's line, a fault) with the step that created it and the step
 * that consumes it, and tying their times by difference constraints.
 */
import type { Effect, NodeId } from '../../models/types.js';
import type { FaultSpec, LinkConfig, SimConfig } from '../config.js';
import { distributionBounds, type ChoiceScript } from '../kernel/choice.js';
import type { CompiledModel } from '../simulator.js';
import type { DerivedOptions, TraceEvent } from '../trace.js';
import { DifferenceConstraints } from './difference-constraints.js';
import { arrivalBounds, SEQ_BUDGET, SEQ_HEAL, SEQ_LATER, SEQ_SCRIPTED, SEQ_START, shortTimer, type Draw, type Item, type ItemKind, type Label, type SendRec } from './realisation-items.js';
import { scriptFromTimes } from './realisation-script.js';
import { linkConfig } from './untimed-topology.js';
import { E_CRASH, E_DELIVER, E_DUP, E_HEAL, E_INPUT, E_LOSE, E_NET_DUP, E_NET_LOSE, E_PARTITION, E_PAUSE, E_RESTART, E_RESUME, E_SCRIPT, E_START, E_TIMER, UntimedSystem, VARIANT_BIT } from './untimed-system.js';

/** The replay of a path, naming every timed event and the constraints on their times. */
/** A step of the path whose timed event the walk's bookkeeping does not follow (kept restarts, pauses...). */
export class Unmodelled extends Error {}

export class Walk {
  readonly constraints = new DifferenceConstraints<Label>();
  readonly trace: TraceEvent[] = [];
  private readonly sys: UntimedSystem;
  private readonly n: number;
  readonly ids: readonly NodeId[];
  private readonly links: LinkConfig[] = [];
  private readonly linkIndex: Int32Array;
  /** per link: the untimed queue's items, in its order */
  private readonly linkItems: Item[][] = [];
  readonly starts: Item[] = [];
  readonly scripted: { item: Item; fault: FaultSpec; heal: boolean }[] = [];
  readonly budgetFaults: { item: Item; fault: FaultSpec }[] = [];
  /** per node: armed timers as the untimed system keeps them (by id; null once the timed run cancelled it at a crash) */
  private readonly timers: Map<string, Item | null>[] = [];
  private readonly input: (Item | null)[] = [];
  /** inputs left queued by a crash: they must pop before the node runs again */
  private readonly stale: (Item | null)[] = [];
  private readonly cursor: number[] = [];
  readonly draws: Draw[] = [];
  private readonly sends: SendRec[] = [];
  /** per step (1-based): the item it consumed, or null for a step the timed run makes at a send */
  readonly consumed: (Item | null)[] = [null];
  private created = 0;
  private scriptCursor = 0;
  private readonly notes = new Set<string>();
  private lastBroken: string | null = null;
  private vec: Int32Array = new Int32Array(0);

  constructor(
    model: CompiledModel,
    private readonly config: SimConfig,
    faultBudget: number,
  ) {
    this.sys = new UntimedSystem(model, config, { faultBudget });
    this.ids = this.sys.nodeIds;
    this.n = this.ids.length;
    const n = this.n;
    this.linkIndex = new Int32Array(n * n).fill(-1);
    for (let a = 0; a < n; a++) {
      for (let b = 0; b < n; b++) {
        if (a === b) continue;
        this.linkIndex[a * n + b] = this.links.length;
        this.links.push(linkConfig(config, this.ids[a]!, this.ids[b]!));
        this.linkItems.push([]);
      }
    }
    const C = this.constraints;
    config.nodes.forEach((node, i) => {
      const item = this.item('start', 0, SEQ_START + i, `the start of ${node.id}`);
      const { minMs, maxMs } = distributionBounds(node.startAt);
      C.atLeast(0, item.v, minMs, { kind: 'bound', text: `${node.id} starts at ${minMs} ms at the earliest` });
      C.atMost(0, item.v, maxMs, { kind: 'bound', text: `${node.id} starts by ${maxMs} ms` });
      this.starts.push(item);
      this.timers.push(new Map());
      this.input.push(null);
      this.stale.push(null);
      this.cursor.push(0);
    });
    // scripted faults as the untimed system orders them (by time, the heal last among equals)
    const list: { f: FaultSpec; heal: boolean }[] = config.faults.map((f) => ({ f, heal: false }));
    if (config.healAtMs !== null) list.push({ f: { kind: 'heal', atMs: config.healAtMs }, heal: true });
    list.sort((a, b) => a.f.atMs - b.f.atMs);
    let j = 0;
    for (const { f, heal } of list) {
      const item = this.item('fault', 0, heal ? SEQ_HEAL : SEQ_SCRIPTED + j++, `the scripted ${f.kind}${'node' in f ? ` of ${f.node}` : ''} at ${f.atMs} ms`);
      C.exactly(0, item.v, f.atMs, { kind: 'bound', text: `${item.what} happens at ${f.atMs} ms exactly` });
      this.scripted.push({ item, fault: f, heal });
    }
  }

  private item(kind: ItemKind, cause: number, seq: number, what: string): Item {
    return { kind, v: this.constraints.unknown(), seq, cause, what };
  }

  private later(kind: ItemKind, cause: number, what: string): Item {
    return this.item(kind, cause, SEQ_LATER + this.created++, what);
  }

  /** The unknown of step k's time (1-based), or of the nearest earlier timed step. */
  stepVar(k: number): number {
    for (let s = Math.min(k, this.consumed.length - 1); s >= 1; s--) {
      const c = this.consumed[s];
      if (c) return c.v;
    }
    return 0;
  }

  stepTimes(x: number[], count: number): number[] {
    return Array.from({ length: count }, (_, k) => x[this.stepVar(k + 1)]!);
  }

  unmodelled(): string | null {
    return this.notes.size > 0 ? `not modelled exactly: ${[...this.notes].join(', ')}` : null;
  }

  findingId(): string {
    if (this.lastBroken !== null) return this.lastBroken;
    return this.sys.checkInvariants(this.vec)?.id ?? 'deadlock';
  }

  run(path: readonly number[]): void {
    const sys = this.sys;
    const vec = sys.initial();
    this.vec = vec;
    const events = new Int32Array(sys.maxEvents);
    const labels = new Int32Array(sys.maxEvents);
    const rec = sys.newRecorder();
    for (let i = 0; i < path.length; i++) {
      const count = sys.enumerate(vec, events, labels);
      const choice = path[i]!;
      if (choice >= count) throw new Error(`choice ${i} of the path is ${choice}, but only ${count} events are enabled there`);
      const ev = events[choice]!;
      const step = i + 1;
      const before = this.statuses(vec);
      const at = rec.trace.length;
      const item = this.consume(ev, step);
      this.consumed.push(item);
      rec.t = step;
      const broke = sys.apply(vec, ev, rec);
      const out = rec.trace.slice(at);
      this.trace.push(...out);
      if (item !== null) this.order(step, item);
      if (broke >= 0) {
        // A history property broke: both worlds stop here, before the rest of the step's effects.
        this.lastBroken = sys.violation(broke).id;
        break;
      }
      this.effects(step, ev, item, out, before, this.statuses(vec));
    }
    this.pendingAfter(path.length);
    this.fifoOrder();
  }

  private statuses(vec: Int32Array): string[] {
    const views = this.sys.nodesOf(vec);
    return this.ids.map((id) => views[id]!.status);
  }

  /** The item the step's event pops from the timed queue (null: decided at a send, no event of its own). */
  private consume(ev: number, step: number): Item | null {
    const type = ev & 15;
    const arg = ev >>> 4;
    switch (type) {
      case E_START:
        return this.starts[arg]!;
      case E_DELIVER: {
        const l = arg >>> 6;
        const [item] = this.linkItems[l]!.splice(arg & 63, 1);
        if (item === undefined) throw new Unmodelled(`the message or connection event step ${step} delivers`);
        return item;
      }
      case E_TIMER: {
        const i = arg >>> 6;
        const timers = this.timers[i]!;
        const id = [...timers.keys()].sort()[arg & 63];
        const item = id === undefined ? undefined : timers.get(id);
        if (item === undefined || item === null) throw new Unmodelled(`the timer of ${this.ids[i]} that fires at step ${step}`);
        timers.delete(id!);
        return item;
      }
      case E_INPUT: {
        const item = this.input[arg]!;
        this.input[arg] = null;
        this.cursor[arg]!++;
        return item;
      }
      case E_SCRIPT:
        return this.scripted[this.scriptCursor++]!.item;
      case E_CRASH:
      case E_RESTART:
      case E_PAUSE:
      case E_RESUME:
      case E_PARTITION:
      case E_HEAL: {
        // the fault as the untimed system applied it (a silent crash and a kept restart are variants)
        const fault = this.sys.budgetFault(type, arg);
        const whom = 'node' in fault ? fault.node : fault.kind === 'partition' ? `${fault.from.join(',')} from ${fault.to.join(',')}` : 'the partitions';
        const item = this.item('fault', 0, SEQ_BUDGET + this.budgetFaults.length, `the injected ${fault.kind} of ${whom}`);
        this.budgetFaults.push({ item, fault });
        return item;
      }
      case E_LOSE:
      case E_DUP:
      case E_NET_LOSE:
      case E_NET_DUP:
        this.networkFault(type, arg >>> 6, arg & 63);
        return null;
      default:
        throw new Error(`unknown event type ${type}`);
    }
  }

  /** A loss or duplication of the message at position `pos` of link l: in the timed run, decided at its send. */
  private networkFault(type: number, l: number, pos: number): void {
    const items = this.linkItems[l]!;
    const head = items[pos]!;
    const send = head.send!;
    if (type === E_LOSE || type === E_NET_LOSE) {
      items.splice(pos, 1);
      send.copies = send.copies.filter((c) => c !== head);
      if (type === E_LOSE) send.ruleDropped = true;
      else if (send.copies.length === 0) send.lost = true;
      else this.notes.add('the loss of one copy of a duplicated message');
    } else {
      const copy = this.later('msg', send.step, `the copy of ${head.what}`);
      Object.assign(copy, { link: head.link, from: head.from, to: head.to, send, sendId: head.sendId });
      const sendItem = this.consumed[send.step];
      if (sendItem) this.bounded(sendItem, copy, head.link!, true);
      send.copies.push(copy);
      items.splice(pos + 1, 0, copy);
      if (type === E_DUP) send.ruleDuplicated = true;
      else send.duplicated = true;
    }
    if (type === E_LOSE || type === E_DUP) {
      // an injected drop/duplicate is a scripted rule in the timed run, in force from before the send
      const fault: FaultSpec = { kind: type === E_LOSE ? 'drop' : 'duplicate', atMs: 0, from: this.ids[send.from]!, to: this.ids[send.to]!, msgType: send.msgType, count: 1 };
      const item = this.item('fault', 0, SEQ_BUDGET + this.budgetFaults.length, `the injected ${fault.kind} of ${send.msgType} ${this.ids[send.from]}→${this.ids[send.to]}`);
      this.budgetFaults.push({ item, fault });
      const sendItem = this.consumed[send.step];
      if (sendItem) this.before(item, sendItem, `${item.what} is in force before its send at step ${send.step}`);
      const prev = this.sends.filter((s) => s !== send && s.step < send.step && s.from === send.from && s.to === send.to && s.msgType === send.msgType).pop();
      const prevItem = prev ? this.consumed[prev.step] : null;
      if (prevItem) this.before(prevItem, item, `${item.what} comes after the same message's send at step ${prev!.step}`);
    }
  }

  /** a pops before b in the timed queue: earlier, or at the same time and queued first. */
  private before(a: Item, b: Item, text: string): void {
    this.constraints.atLeast(a.v, b.v, a.seq < b.seq ? 0 : 1, { kind: 'order', text });
  }

  private lastTimed: { step: number; item: Item } | null = null;

  private order(step: number, item: Item): void {
    const prev = this.lastTimed;
    if (prev !== null) this.before(prev.item, item, `step ${step} (${item.what}) after step ${prev.step}`);
    this.lastTimed = { step, item };
  }

  /** New timed events of a step: messages, connection events, timers, the people's lines; and what the step cancels. */
  private effects(step: number, ev: number, item: Item | null, out: TraceEvent[], before: string[], after: string[]): void {
    if (item === null) return;
    const type = ev & 15;
    const stepped = out.some((e) => e.k === 'start' || e.k === 'deliver' || e.k === 'conn' || e.k === 'timer' || e.k === 'input' || e.k === 'quit');
    const node = this.steppedNode(type, ev >>> 4, out);
    const effects: readonly Effect[] = stepped ? (this.sys.lastNodeEffects() ?? []) : [];
    // what the events of the step said about sends: dropped by a rule or refused, duplicated
    const sendEvents = out.filter((e) => e.k === 'send');
    let s = 0;
    for (const e of effects) {
      if (e.type === 'send') this.send(step, item, node, sendEvents[s++]!, out);
      else if (e.type === 'close') this.conn('closed', step, item, node, this.ids.indexOf(e.peer));
      else if (e.type === 'print' && e.params.kind === 'prompt') this.prompt(step, item, node);
      else if (e.type === 'timer.start') this.arm(step, item, node, e.id, e.delayMs);
      else if (e.type === 'timer.cancel') this.cancelTimer(item, node, e.id, step);
    }
    for (let i = 0; i < this.n; i++) {
      if (before[i] === after[i]) continue;
      if (after[i] === 'done') {
        for (const [id] of this.timers[i]!) this.cancelTimer(item, i, id, step);
        this.orphanInput(i, item, step);
        for (let p = 0; p < this.n; p++) if (p !== i) this.conn('closed', step, item, i, p);
      } else if (after[i] === 'crashed') {
        for (const [id, t] of this.timers[i]!) {
          if (t) this.after(item, t, `the timer ${shortTimer(id)} of ${this.ids[i]} (cancelled by the crash at step ${step}) is not due before it`);
          this.timers[i]!.set(id, null);
        }
        if (this.input[i]) {
          this.stale[i] = this.input[i]!;
          this.after(item, this.input[i]!, `the line ${this.ids[i]}'s person had ready comes after the crash at step ${step}`);
          this.input[i] = null;
        }
        for (let p = 0; p < this.n; p++) if (p !== i) this.conn('reset', step, item, i, p);
      } else if (after[i] === 'running' && (before[i] === 'crashed' || before[i] === 'not-started')) {
        const fresh = out.find((e) => e.k === 'start' && e.node === this.ids[i]);
        if (fresh && fresh.k === 'start' && !fresh.fresh) {
          this.notes.add('a restart with kept state');
          for (const [id] of this.timers[i]!) {
            const t = this.later('timer', step, `the timer ${shortTimer(id)} of ${this.ids[i]}, re-armed`);
            this.after(item, t, `${t.what} after the restart`);
            this.timers[i]!.set(id, t);
          }
        } else if (before[i] === 'crashed') {
          // a fresh process: the old timers are gone (the effects of the start armed the new ones)
          for (const [id, t] of [...this.timers[i]!]) if (t === null) this.timers[i]!.delete(id);
        }
        const stale = this.stale[i];
        if (stale) this.before(stale, item, `the line typed at ${this.ids[i]} before its crash is read while it is down, before the restart at step ${step}`);
        this.stale[i] = null;
      }
    }
    // discarded data (a reset): those messages still arrive in the timed run, after the crash, and are dropped
    for (const e of out) {
      if (e.k !== 'drop' || e.reason !== 'reset' || sendEvents.some((x) => x.k === 'send' && x.id === e.id)) continue;
      for (const items of this.linkItems) {
        const at = items.findIndex((x) => x.kind === 'msg' && x.sendId === e.id);
        if (at < 0) continue;
        const [gone] = items.splice(at, 1);
        this.after(item, gone!, `${gone!.what} arrives after the crash at step ${step} ends its connection`);
        break;
      }
    }
  }

  private steppedNode(type: number, arg: number, out: TraceEvent[]): number {
    if (type === E_START || type === E_INPUT) return arg;
    if (type === E_CRASH || type === E_RESTART || type === E_PAUSE || type === E_RESUME) return arg & (VARIANT_BIT - 1);
    if (type === E_PARTITION || type === E_HEAL) return -1;
    if (type === E_TIMER) return arg >>> 6;
    const e = out.find((x) => x.k === 'deliver' || x.k === 'conn' || x.k === 'start' || x.k === 'fault');
    if (e?.k === 'deliver') return this.ids.indexOf(e.to);
    if (e?.k === 'conn' || e?.k === 'start') return this.ids.indexOf(e.node);
    if (e?.k === 'fault' && 'node' in e.fault) return this.ids.indexOf(e.fault.node);
    return -1;
  }

  private linkOfPair(a: number, b: number): number {
    return this.linkIndex[a * this.n + b]!;
  }

  private send(step: number, cause: Item, i: number, e: TraceEvent, out: TraceEvent[]): void {
    if (e.k !== 'send') return;
    const t = this.ids.indexOf(e.to);
    const l = this.linkOfPair(i, t);
    const link = this.links[l]!;
    const rec: SendRec = { copies: [], lost: false, duplicated: false, ruleDropped: false, ruleDuplicated: false, link, step, msgType: e.msg.type, from: i, to: t };
    const drop = out.find((x) => x.k === 'drop' && x.id === e.id);
    const dup = out.some((x) => x.k === 'duplicate' && x.id === e.id);
    this.sends.push(rec);
    if (drop && drop.k === 'drop' && drop.reason === 'fault') {
      rec.ruleDropped = true;
      return;
    }
    if (drop && drop.k === 'drop' && drop.reason !== 'reset') {
      // refused: the writer learns of it after the network's delay (unless the peer vanished silently)
      if (this.connAdded(this.linkOfPair(t, i), 'refused')) {
        const item = this.later('refused', step, `the refusal of ${e.msg.type} ${e.from}→${e.to} (sent at step ${step})`);
        Object.assign(item, { link, from: t, to: i });
        this.bounded(cause, item, link, false);
        this.linkItems[this.linkOfPair(t, i)]!.push(item);
        this.draws.push({ kind: 'conn', item });
      }
      return;
    }
    if (drop) return;
    const copies = dup ? 2 : 1;
    if (dup) rec.ruleDuplicated = true;
    this.draws.push({ kind: 'send', rec });
    for (let c = 0; c < copies; c++) {
      const item = this.later('msg', step, `${e.msg.type} ${e.from}→${e.to} sent at step ${step}`);
      Object.assign(item, { link, from: i, to: t, send: rec, sendId: e.id });
      this.bounded(cause, item, link, true);
      rec.copies.push(item);
      this.linkItems[l]!.push(item);
    }
  }

  /** A connection event from `from` to `to` (closed or reset), if the connection was open: mirrors the kernel's rules. */
  private conn(kind: 'closed' | 'reset', step: number, cause: Item, from: number, to: number): void {
    const l = this.linkOfPair(from, to);
    if (!this.connAdded(l, kind)) return;
    const link = this.links[l]!;
    const item = this.later(kind, step, `the ${kind === 'closed' ? 'close' : 'reset'} of ${this.ids[from]}→${this.ids[to]} (step ${step})`);
    Object.assign(item, { link, from, to });
    this.bounded(cause, item, link, kind === 'closed');
    this.linkItems[l]!.push(item);
    this.draws.push({ kind: 'conn', item });
  }

  /** Whether the step put one more connection event of this kind on link l than the walk has: read from the untimed state's link queue. */
  private connAdded(l: number, kind: 'closed' | 'reset' | 'refused'): boolean {
    const mine = this.linkItems[l]!.filter((x) => x.kind === kind).length;
    return this.sys.queuedConnEvents(this.vec, l, kind) > mine;
  }

  /**
   * `item` arrives within its link's delay after `cause`. Scheduled on the link (a message, a
   * close), a non-FIFO link that reorders may hold it back by a second draw + 1 ms.
   */
  private bounded(cause: Item, item: Item, link: LinkConfig, onLink: boolean): void {
    const { lo, hi } = arrivalBounds(link, onLink);
    const C = this.constraints;
    C.atLeast(cause.v, item.v, lo, { kind: 'bound', text: `${item.what} takes at least ${lo} ms` });
    C.atMost(cause.v, item.v, hi, { kind: 'bound', text: `${item.what} takes at most ${hi} ms` });
  }

  /** FIFO links deliver in the order the timed run schedules on them (its `lastDeliveryMs`). */
  fifoOrder(): void {
    const last = new Map<number, Item>();
    const onLink = (item: Item): void => {
      if (!item.link!.fifo) return;
      const l = this.linkOfPair(item.from!, item.to!);
      const prev = last.get(l);
      if (prev) this.before(prev, item, `${item.what} comes after ${prev.what} on the FIFO link`);
      last.set(l, item);
    };
    for (const d of this.draws) {
      if (d.kind === 'send' && !d.rec.ruleDropped && !d.rec.lost) d.rec.copies.forEach(onLink);
      else if (d.kind === 'conn' && d.item.kind === 'closed') onLink(d.item);
    }
  }

  private prompt(step: number, cause: Item, i: number): void {
    const w = this.config.workload.find((x) => x.node === this.ids[i]);
    if (!w || this.input[i] !== null) return;
    const quitting = this.cursor[i]! >= w.messages.length;
    if (quitting && !w.quitAfter) return;
    const what = quitting ? `${this.ids[i]}'s person quitting` : `${this.ids[i]}'s person typing "${w.messages[this.cursor[i]!]}"`;
    const item = this.later('input', step, `${what} (prompted at step ${step})`);
    const { minMs, maxMs } = distributionBounds(w.think);
    this.constraints.atLeast(cause.v, item.v, minMs, { kind: 'bound', text: `${what} takes at least ${minMs} ms of thought after the prompt at step ${step}` });
    this.constraints.atMost(cause.v, item.v, maxMs, { kind: 'bound', text: `${what} takes at most ${maxMs} ms of thought after the prompt at step ${step}` });
    this.input[i] = item;
    this.draws.push({ kind: 'think', item, prompt: cause.v });
  }

  private arm(step: number, cause: Item, i: number, id: string, delayMs: number): void {
    const old = this.timers[i]!.get(id);
    if (old) this.after(cause, old, `the timer ${shortTimer(id)} of ${this.ids[i]} re-armed at step ${step} is not due before it`);
    const item = this.later('timer', step, `the timer ${shortTimer(id)} of ${this.ids[i]} (${delayMs} ms, armed at step ${step})`);
    this.constraints.exactly(cause.v, item.v, delayMs, { kind: 'bound', text: `${item.what} fires exactly ${delayMs} ms after step ${step}` });
    this.timers[i]!.set(id, item);
  }

  private cancelTimer(cause: Item, i: number, id: string, step: number): void {
    const t = this.timers[i]!.get(id);
    this.timers[i]!.delete(id);
    if (t) this.after(cause, t, `${t.what} is not due before it is cancelled at step ${step}`);
  }

  private orphanInput(i: number, cause: Item, step: number): void {
    const t = this.input[i];
    if (t) this.after(cause, t, `${t.what} comes after ${this.ids[i]} ends at step ${step}`);
    this.input[i] = null;
  }

  /** `b` pops after `a` (a is a step's item). */
  private after(a: Item, b: Item, text: string): void {
    this.before(a, b, text);
  }

  /** Whatever is still queued when the path ends comes after its last step (or the stall would differ). */
  private pendingAfter(steps: number): void {
    const last = this.lastTimed;
    if (last === null) return;
    const pending: Item[] = [...this.linkItems.flat(), ...this.input.filter((x): x is Item => x !== null)];
    for (const t of this.timers) for (const x of t.values()) if (x) pending.push(x);
    for (let i = 0; i < this.n; i++) if (!this.consumed.includes(this.starts[i]!)) pending.push(this.starts[i]!);
    for (const s of this.scripted.slice(this.scriptCursor)) pending.push(s.item);
    for (const p of pending) this.before(last.item, p, `${p.what} is not due before the path's last step (${steps})`);
  }

  /** The timed run's answers and its start times and fault plan, from the solved times. */
  script(x: number[]): { script: ChoiceScript; derived: DerivedOptions } {
    return scriptFromTimes(this, x);
  }
}
