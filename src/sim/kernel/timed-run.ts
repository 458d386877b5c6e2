/**
 * One timed run (one pass of `simulate`): the event loop over virtual time, stepping the nodes'
 * machines, carrying out their effects (sends, prints, closes, timers), and the node faults (crash,
 * restart, pause, resume; partitions and scripted rules are the network's). Virtual time is an
 * integer number of milliseconds; events wait in a queue ordered by (time, sequence).
 */
import type { NodeId, PrintParams } from '../../models/types.js';
import { canonicalJson } from '../canonical-json.js';
import type { FaultSpec, SimConfig } from '../config.js';
import type { Scheduled } from '../event-queue.js';
import type { StepResult } from '../role-runtime.js';
import type { EndReason } from '../trace.js';
import type { CompiledModel } from './compiled-model.js';
import type { MachineEvent } from './key-cache.js';
import { NetworkRun } from './run-network.js';
import type { PassResult, RunControl, SimEvent, SimNode } from './run-types.js';
import { carryOutEffects, type EffectHost } from './effects.js';
import { closeAll, closeConnection, crashConnections, restartConnections } from './world-rules.js';

/**
 * One run. Construct, then `run()`. Internal: use `simulate()`.
 */
export class Simulation extends NetworkRun implements EffectHost<SimNode> {
  /** pass 2 of a stall: the abstract state after each step from this step on */
  private readonly stateKeys: string[] = [];
  private readonly stateKeySeen = new Map<string, number>();

  constructor(
    model: CompiledModel,
    config: SimConfig,
    seed: number,
    record: boolean,
    stopAtFirstFinding: boolean,
    /** when set, record abstract state keys from this step on (pass 2 of stall classification) */
    private readonly recordKeysFrom: number | null,
    private readonly stopAtStep: number | null,
    control: RunControl,
  ) {
    super(model, config, seed, record, stopAtFirstFinding, control);
  }

  run(): PassResult {
    const { limits } = this.config;
    let endReason: EndReason = 'quiescent';
    let stall: { step: number; timeMs: number } | null = null;
    for (;;) {
      if (this.stopped) {
        endReason = 'finding';
        break;
      }
      if (this.stopAtStep !== null && this.step >= this.stopAtStep) {
        endReason = 'finding';
        break;
      }
      const next = this.queue.peek();
      if (next === undefined) {
        endReason = this.onQuiescent();
        break;
      }
      // Liveness: no progress within the bound while someone is unfinished.
      if (next.timeMs - this.lastProgressMs > this.config.checks.stallBoundMs && this.stopAtStep === null) {
        const verdict = this.stallVerdict(next.timeMs);
        if (verdict === 'settled') {
          endReason = 'settled';
          break;
        }
        if (verdict === 'stall') {
          stall = { step: this.step, timeMs: this.lastProgressMs + this.config.checks.stallBoundMs };
          endReason = 'finding';
          break;
        }
      }
      if (next.timeMs > limits.maxTimeMs) {
        endReason = 'limit:maxTimeMs';
        break;
      }
      if (this.step >= limits.maxSteps) {
        endReason = 'limit:maxSteps';
        break;
      }
      if (this.queue.size > limits.maxInFlight) {
        endReason = 'limit:maxInFlight';
        break;
      }
      this.queue.pop();
      this.now = next.timeMs;
      this.step++;
      this.process(next.item);
      if (this.recordKeysFrom !== null && this.step > this.recordKeysFrom && this.recordStateKey()) break;
    }
    return this.finish(endReason, stall);
  }

  /**
   * No progress within the stall bound before the event at `nextMs`: `settled` (the run ends, the
   * clock at the bound), `stall` (pass 2 will classify it), or `ignore` (nothing was stuck: nobody
   * unfinished, or a node still to start or a fault still to come may change everything; the stall
   * clock starts again from here).
   */
  private stallVerdict(nextMs: number): 'settled' | 'stall' | 'ignore' {
    const verdict = this.onStall();
    if (verdict === 'settled') this.now = this.lastProgressMs + this.config.checks.stallBoundMs;
    if (verdict === 'ignore') {
      this.lastProgressMs = nextMs;
      this.lastProgressStep = this.step;
    }
    return verdict;
  }

  /** Pass 2: records the untimed state after this step; true at the first repeat (the rest is not needed). */
  private recordStateKey(): boolean {
    const key = this.abstractKey();
    if (this.stateKeySeen.has(key)) {
      this.stateKeys.push(key);
      return true;
    }
    this.stateKeySeen.set(key, this.stateKeys.length);
    this.stateKeys.push(key);
    return false;
  }

  private finish(endReason: EndReason, stall: PassResult['stall']): PassResult {
    this.stats.steps = this.step;
    this.stats.eventsSimulated = this.step;
    this.stats.timeMs = this.now;
    if (this.record) this.trace.push({ k: 'end', t: this.now, reason: endReason });
    return { endReason, findings: this.findings, trace: this.trace, stats: this.stats, stall, keys: this.stateKeys };
  }

  // ---- events -------------------------------------------------------------------------------

  private process(ev: SimEvent): void {
    switch (ev.kind) {
      case 'start':
        this.startNode(this.node(ev.node), true);
        return;
      case 'deliver':
        this.deliver(ev);
        return;
      case 'conn': {
        if (this.heldByPartition(ev)) return;
        const node = this.node(ev.node);
        if (node.status === 'paused') {
          node.inbox.push(ev);
          return;
        }
        if (node.status !== 'running') return;
        if (this.record) this.trace.push({ k: 'conn', t: this.now, node: ev.node, peer: ev.peer, event: ev.event });
        const connEvent = { type: `conn.${ev.event}`, peer: ev.peer };
        this.stepNode(node, connEvent, canonicalJson(connEvent));
        return;
      }
      case 'timer': {
        const node = this.node(ev.node);
        node.timers.set(ev.id, null);
        if (node.status === 'paused') {
          node.inbox.push(ev);
          return;
        }
        if (node.status !== 'running') return;
        if (this.record) this.trace.push({ k: 'timer', t: this.now, node: ev.node, event: ev.event.type });
        this.stepNode(node, ev.event);
        return;
      }
      case 'input':
        this.typed(ev);
        return;
      case 'quit': {
        const node = this.node(ev.node);
        if (ev.life !== node.life) return;
        node.inputPending = false;
        if (node.status !== 'running') return;
        if (this.record) this.trace.push({ k: 'quit', t: this.now, node: node.id });
        this.stepNode(node, { type: 'user.quit' }, '{"type":"user.quit"}');
        return;
      }
      case 'fault':
        this.applyFault(ev.fault);
        return;
    }
  }

  /** A person types the node's next line. */
  private typed(ev: Extract<SimEvent, { kind: 'input' }>): void {
    const node = this.node(ev.node);
    // A line the person was about to type into a program that has since crashed is not typed into
    // the next one (a restart shows its own prompt); as in the untimed system, where a crash clears it.
    if (ev.life !== node.life) return;
    node.inputPending = false;
    if (node.status === 'paused') {
      // The person types into a frozen terminal: the line is read when the program resumes.
      node.inbox.push(ev);
      node.inputPending = true;
      return;
    }
    if (node.status !== 'running') return; // the program is gone; the line is not consumed
    const text = node.messages[node.nextMessage];
    if (text === undefined) return;
    node.nextMessage++;
    if (this.record) this.trace.push({ k: 'input', t: this.now, node: node.id, text });
    this.stepNode(node, { type: 'user.input', text }, this.keys.input(text));
  }

  private startNode(node: SimNode, fresh: boolean): void {
    node.status = 'running';
    node.inputPending = false;
    if (fresh) {
      const result = node.runtime.start(node.input);
      node.stateId = result.next;
      this.updateView(node);
      if (this.record) {
        const st = node.runtime.state(node.stateId);
        this.trace.push({ k: 'start', t: this.now, node: node.id, role: node.role, state: st.valueText, fresh: true });
      }
      this.applyEffects(node, result);
    } else {
      this.updateView(node);
      if (this.record) {
        const st = node.runtime.state(node.stateId);
        this.trace.push({ k: 'start', t: this.now, node: node.id, role: node.role, state: st.valueText, fresh: false });
      }
      for (const t of node.savedTimers) {
        this.armTimerAt(node, t.id, this.now + t.remainingMs, t.event);
      }
      node.savedTimers = [];
      // A person at a restarted program with kept state still sees its prompt.
      if (node.runtime.state(node.stateId).tags.includes('awaitingUser')) this.scheduleInput(node);
    }
    this.checkInvariants();
  }

  // ---- stepping and effects -------------------------------------------------------------------

  protected override stepNode(node: SimNode, event: MachineEvent, key?: string): void {
    const before = node.stateId;
    const result = node.runtime.step(before, event, key ?? this.keys.event(event));
    node.stateId = result.next;
    if (result.next !== before) {
      this.updateView(node);
      if (this.record) {
        const text = node.runtime.state(result.next).valueText;
        // Only changes of the state value are events; context-only changes (store data) are not.
        if (text !== node.runtime.state(before).valueText) this.trace.push({ k: 'state', t: this.now, node: node.id, state: text });
      }
    }
    this.applyEffects(node, result);
    if (result.next !== before) this.checkInvariants();
  }

  private applyEffects(node: SimNode, result: StepResult): void {
    if (!carryOutEffects(this, node, node.id, this.model.variant, result.effects)) return;
    const st = node.runtime.state(node.stateId);
    if (st.done && node.status === 'running') {
      node.status = 'done';
      this.cancelTimers(node);
      this.updateView(node);
      // A program that exits closes its connections.
      if (this.model.variant.transport === 'tcp') closeAll(this, this.indexOf(node.id));
    }
  }

  // ---- the timed driver's side of the kernel's effect rules (kernel/effects.ts) ----------------

  isStopped(): boolean {
    return this.stopped;
  }

  print(node: SimNode, p: PrintParams, progress: boolean): void {
    if (this.record) this.trace.push({ k: 'print', t: this.now, node: node.id, kind: p.kind, text: p.text });
    if (progress) {
      this.lastProgressMs = this.now;
      this.lastProgressStep = this.step;
    }
    this.observe({ kind: 'print', node: node.id, params: p });
  }

  promptShown(node: SimNode): void {
    this.scheduleInput(node);
  }

  close(node: SimNode, peer: NodeId): void {
    closeConnection(this, this.indexOf(node.id), this.indexOf(peer));
  }

  armTimer(node: SimNode, id: string, delayMs: number, event: MachineEvent): void {
    const existing = node.timers.get(id);
    if (existing) this.queue.cancel(existing);
    else this.dropDueTimer(node, id);
    this.armTimerAt(node, id, this.now + delayMs, event);
  }

  cancelTimer(node: SimNode, id: string): void {
    const existing = node.timers.get(id);
    if (existing) {
      this.queue.cancel(existing);
      node.timers.set(id, null);
    } else this.dropDueTimer(node, id);
  }

  /**
   * A timer that came due while its node was paused waits in the inbox; cancelled or re-armed before
   * the node reads it (an earlier line or message made it leave the state), it never fires, as a
   * cleared timeout whose callback has not run yet (and as in the untimed system, where a cancelled
   * timer is no longer enabled).
   */
  private dropDueTimer(node: SimNode, id: string): void {
    if (node.inbox.length === 0) return;
    const at = node.inbox.findIndex((e) => e.kind === 'timer' && e.id === id);
    if (at >= 0) node.inbox.splice(at, 1);
  }

  /** Arms (or re-arms) a node's timer; the caller has cancelled an armed one with the same id. */
  private armTimerAt(node: SimNode, id: string, atMs: number, event: MachineEvent): void {
    if ((node.timers.get(id) ?? null) === null) node.timerArmedAt.set(id, node.timerClock++);
    node.timers.set(id, this.queue.push(atMs, { kind: 'timer', node: node.id, id, event }));
  }

  private scheduleInput(node: SimNode): void {
    if (node.inputPending || node.think === null) return;
    if (node.nextMessage < node.messages.length) {
      node.inputPending = true;
      this.queue.push(this.now + this.choices.sample('think', node.think), { kind: 'input', node: node.id, life: node.life });
    } else if (node.quitAfter) {
      node.inputPending = true;
      this.queue.push(this.now + this.choices.sample('think', node.think), { kind: 'quit', node: node.id, life: node.life });
    }
  }

  // ---- faults ---------------------------------------------------------------------------------

  private applyFault(fault: FaultSpec): void {
    if (this.record) this.trace.push({ k: 'fault', t: this.now, fault });
    switch (fault.kind) {
      case 'crash':
        this.crash(fault);
        return;
      case 'restart': {
        const node = this.node(fault.node);
        if (node.status !== 'crashed') return;
        this.silentlyCrashed.delete(node.id);
        restartConnections(this, this.indexOf(node.id));
        this.observe({ kind: 'restart', node: node.id, fresh: fault.state === 'fresh' });
        if (fault.state === 'fresh') node.savedTimers = [];
        this.startNode(node, fault.state === 'fresh');
        return;
      }
      case 'pause': {
        const node = this.node(fault.node);
        if (node.status !== 'running') return;
        node.status = 'paused';
        this.updateView(node);
        return;
      }
      case 'resume':
        this.resume(fault.node);
        return;
      case 'partition':
        this.partition(fault);
        return;
      case 'heal':
        this.heal();
        return;
      case 'drop':
      case 'duplicate':
        this.addRule(fault);
        return;
    }
  }

  /** A crash: pending timers are saved (a restart that keeps state re-arms them), connections reset or vanish. */
  private crash(fault: Extract<FaultSpec, { kind: 'crash' }>): void {
    const node = this.node(fault.node);
    if (node.status !== 'running' && node.status !== 'paused') return;
    node.savedTimers = [...node.timers]
      .filter((e): e is [string, Scheduled<SimEvent>] => e[1] !== null && !e[1].cancelled)
      .sort((a, b) => node.timerArmedAt.get(a[0])! - node.timerArmedAt.get(b[0])!)
      .map(([id, t]) => ({ id, remainingMs: Math.max(0, t.timeMs - this.now), event: (t.item as { event: MachineEvent }).event }));
    this.cancelTimers(node);
    node.status = 'crashed';
    node.inbox = [];
    node.inputPending = false;
    node.life++;
    this.updateView(node);
    if (fault.mode === 'silent') this.silentlyCrashed.add(node.id);
    else this.silentlyCrashed.delete(node.id);
    this.observe({ kind: 'crash', node: node.id });
    crashConnections(this, this.indexOf(node.id), fault.mode);
    this.checkInvariants();
  }

  /** A paused node runs again and reads, in order, what arrived while it was paused. */
  private resume(id: NodeId): void {
    const node = this.node(id);
    if (node.status !== 'paused') return;
    node.status = 'running';
    this.updateView(node);
    // Read one at a time from the inbox itself: what the node does with one may cancel a timer that
    // came due while it was paused and waits further down (see `cancelTimer`).
    while (node.inbox.length > 0 && !this.stopped && node.status === 'running') this.process(node.inbox.shift()!);
    node.inbox = [];
  }

  private heal(): void {
    this.healPartitions();
    // The heal phase also resumes paused nodes (VOPR: after the safety phase, liveness must hold).
    if (this.config.healAtMs !== null && this.now >= this.config.healAtMs) {
      for (const id of this.nodeOrder) {
        if (this.node(id).status === 'paused') this.applyFault({ kind: 'resume', atMs: this.now, node: id });
      }
    }
  }
}
