/**
 * A timed run's checks: the model's invariants after every change of state, its properties' monitors
 * on every observation, findings with their per-node diagnosis, and what a quiescent or stalled run
 * means (deadlock, livelock, liveness; the verdicts' words are in world-rules.ts). Pass 2 of a stall
 * reads the run's untimed state (`abstractKey`) after every step.
 */
import type { Observation } from '../../models/types.js';
import { canonicalJson } from '../canonical-json.js';
import type { NodeDiagnosis } from '../finding.js';
import type { EndReason, FindingKind } from '../trace.js';
import { RunState } from './run-state.js';
import type { SimNode } from './run-types.js';
import { findingText, isIdleOnPerson, isUnfinished, isWaiting, statusCodes } from './world-rules.js';

export abstract class RunChecks extends RunState {
  /** canonical JSON of the monitor states, kept until one of them changes */
  private monitorsKey: string | null = null;

  private enabled(id: string): boolean {
    const list = this.config.checks.invariants;
    return list === null || list.includes(id);
  }

  protected checkInvariants(): void {
    if (this.stopped) return;
    const invariants = this.model.variant.invariants;
    if (invariants.length === 0) return;
    const view = this.view();
    for (const inv of invariants) {
      if (!this.enabled(inv.id)) continue;
      const reason = inv.check(view);
      if (reason !== null) {
        this.addFinding('invariant', `invariant:${inv.id}`, findingText.invariant(inv.id, inv.description, reason), null);
        return;
      }
    }
  }

  protected observe(obs: Observation): void {
    const props = this.model.variant.properties;
    if (props.length === 0 || this.stopped) return;
    const view = this.view();
    for (let i = 0; i < props.length; i++) {
      const prop = props[i]!;
      if (!this.enabled(prop.id)) continue;
      const out = prop.observe(this.monitors[i], obs, view);
      if ('violation' in out) {
        this.addFinding('invariant', `invariant:${prop.id}`, findingText.invariant(prop.id, prop.description, out.violation), null);
        return;
      }
      if (this.monitors[i] !== out.state) this.monitorsKey = null;
      this.monitors[i] = out.state;
    }
  }

  /** A node is unfinished when it is running (or paused) and not waiting for its person. */
  private unfinished(): SimNode[] {
    const out: SimNode[] = [];
    for (const id of this.nodeOrder) {
      const n = this.node(id);
      if (n.stateId >= 0 && isUnfinished(statusCodes[n.status], n.runtime.state(n.stateId))) out.push(n);
    }
    return out;
  }

  /** Some live node waits for its person with nothing more to type: the system waits on a human. */
  private waitingOnPerson(): boolean {
    for (const id of this.nodeOrder) {
      const n = this.node(id);
      if (n.stateId >= 0 && isIdleOnPerson(statusCodes[n.status], n.runtime.state(n.stateId), n.inputPending)) return true;
    }
    return false;
  }

  protected onQuiescent(): EndReason {
    if (!this.config.checks.deadlock) return 'quiescent';
    const stuck = this.unfinished();
    if (stuck.length === 0 || this.waitingOnPerson()) return 'quiescent';
    this.addFinding('deadlock', 'deadlock', findingText.quiescentDeadlock(stuck.map((n) => n.id)), null);
    return 'finding';
  }

  /** Returns `settled` (waiting on a person), `stall` (pass 2 will classify), or `ignore`. */
  protected onStall(): 'settled' | 'stall' | 'ignore' {
    if (this.externalPending()) return 'ignore';
    const stuck = this.unfinished();
    if (stuck.length === 0) return 'ignore';
    if (this.waitingOnPerson()) return 'settled';
    if (!this.config.checks.livelock) return 'settled';
    return 'stall';
  }

  /** A node still to start, a person still to type, or a scheduled fault (or heal) is in the queue. */
  private externalPending(): boolean {
    for (const e of this.queue.entries()) {
      const k = e.item.kind;
      if (k === 'start' || k === 'fault' || k === 'input' || k === 'quit') return true;
    }
    return false;
  }

  /** The blocked links, sorted (the network's part of the untimed state). */
  protected abstract blockedLinks(): string[];

  /** The state without time: node states, timers, in-flight messages, monitors, network. */
  protected abstractKey(): string {
    const parts: string[] = [];
    for (const id of this.nodeOrder) {
      const n = this.node(id);
      parts.push(`${id}:${n.status}:${n.stateId}:${[...n.timers].filter(([, t]) => t !== null).map(([k]) => k).sort().join(',')}:${n.nextMessage}:${n.inputPending ? 1 : 0}:${n.inbox.length}`);
    }
    const flight: string[] = [];
    for (const e of this.queue.entries()) {
      const item = e.item;
      if (item.kind === 'deliver') flight.push(`${item.from}>${item.to}:${this.keys.message(item.msg)}`);
      else if (item.kind === 'conn') flight.push(`${item.peer}>${item.node}:conn.${item.event}`);
      // Something from outside is still to come (a scheduled start or fault, a person typing): the
      // untimed state cannot be a cycle that lasts for ever, so the key is made unique.
      else if (item.kind === 'fault' || item.kind === 'start' || item.kind === 'input' || item.kind === 'quit') return `pending-schedule@${this.step}`;
    }
    flight.sort();
    parts.push(flight.join(';'));
    this.monitorsKey ??= canonicalJson(this.monitors);
    parts.push(this.monitorsKey);
    parts.push(this.blockedLinks().join(','));
    return parts.join('\n');
  }

  /** Each node's status, state, what it waits for and its last message each way. */
  private diagnoseNodes(): NodeDiagnosis[] {
    return this.nodeOrder.map((nid) => {
      const n = this.node(nid);
      const st = n.stateId >= 0 ? n.runtime.state(n.stateId) : null;
      return {
        id: n.id,
        role: n.role,
        status: n.status,
        state: st ? st.valueText : '(not started)',
        waitsFor: st && (n.status === 'running' || n.status === 'paused') && !st.done ? st.waitsFor : null,
        lastSent: n.lastSent && { ...n.lastSent },
        lastReceived: n.lastReceived && { ...n.lastReceived },
      };
    });
  }

  addFinding(kind: FindingKind, id: string, summary: string, cycleStart: number | null): void {
    const view = this.view();
    const nodes = this.diagnoseNodes();
    const diagnosis = this.model.variant.diagnose?.(view, { kind, id }) ?? null;
    if (this.record) this.trace.push({ k: 'finding', t: this.now, kind, summary });
    this.findings.push({
      kind,
      id,
      summary,
      diagnosis,
      nodes,
      seed: this.seed,
      timeMs: this.now,
      step: this.step,
      trace: this.record ? [...this.trace] : [],
      cycleStart,
      path: null,
    });
    if (this.stopAtFirstFinding) this.stopped = true;
  }

  /** Used by pass 2: records the classification of a stall as a finding at the current step. */
  classifyStall(cycleStartStep: number | null, stallTimeMs: number): void {
    // cycleStartStep only decides the kind; the caller maps it to a trace index.
    const stuck = this.unfinished();
    const ids = stuck.map((n) => n.id);
    if (cycleStartStep === null) {
      this.addFinding('liveness', 'liveness', findingText.liveness(ids, this.config.checks.stallBoundMs, stallTimeMs), null);
      return;
    }
    if (stuck.every((n) => isWaiting(n.runtime.state(n.stateId)))) this.addFinding('deadlock', 'deadlock', findingText.pollingDeadlock(ids), null);
    else this.addFinding('livelock', 'livelock', findingText.livelock(ids), null);
  }

  /** The step of the last progress event so far. */
  get progressStep(): number {
    return this.lastProgressStep;
  }
}
