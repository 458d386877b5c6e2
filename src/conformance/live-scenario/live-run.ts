/**
 * A live scenario run as its live-case driver (live-scenario-case.ts) carries it out: setting up
 * (the target started or reached, the store prepared, the shadow models started), waiting for each
 * timed step's time and striking it (a client start, a fault), settling (watching for the end: a
 * finding, quiescence, a stall, the model time limit), concluding (what the server still owes) and
 * tearing down. Everything between the steps is event-driven (client-nodes.ts).
 */
import type { KvRequest } from '../../models/kv-store/messages.js';
import { TargetError } from '../../errors.js';
import { kvQuery, kvRequest } from '../im-http-client.js';
import { ManagedProcess } from '../managed-process.js';
import { show } from '../message-pattern.js';
import { StepError, StepFailure } from '../engine/verdicts.js';
import { LiveFaults } from './faults.js';
import type { TimedStep } from './schedule-steps.js';
import { sleep, tickMs, type LiveScenarioResult } from './types.js';

export class LiveRun extends LiveFaults {
  /** Starts (or reaches) the target and the shadow models; the run's clock starts then. */
  async setUp(): Promise<void> {
    await this.startTarget();
    this.startOracles();
    this.t0 = performance.now();
    this.touch();
  }

  /**
   * Waits for model time `atMs` (scaled to the real clock), watching meanwhile as the run watches
   * while something is still to come from outside: the stall clock starts again, and the run ends
   * at a finding or the model time limit. True when the time has come, false if the run ended first.
   */
  async until(atMs: number): Promise<boolean> {
    for (;;) {
      const left = atMs * this.o.timeScale - (performance.now() - this.t0);
      const due = left <= tickMs;
      await sleep(Math.max(0, Math.min(tickMs, left)));
      if (this.stopped) return false;
      if (due) return true;
      if (this.now() > this.o.config.limits.maxTimeMs) {
        this.stop('limit:maxTimeMs');
        return false;
      }
      this.lastProgressMs = this.now();
    }
  }

  /**
   * Strikes a timed step: a client starts, a fault strikes. Not awaited: a step that takes time (a
   * connection, a server restart) does not hold back the next, which strikes at its own time; the
   * settle step counts it as still to come until it is done.
   */
  fire(step: TimedStep): void {
    this.externalPending++;
    const done = step.do === 'start' ? this.startClient(step.node, true) : this.applyFault(step.fault);
    void done.finally(() => this.externalPending--);
  }

  /** The settle step: watches the run to its end. */
  settle(): Promise<void> {
    return this.watch();
  }

  /** Why the run ended before its steps did, as a verdict: a finding (FAIL), the model time limit (ERROR). */
  endedEarly(): StepFailure | StepError | null {
    if (!this.stopped) return null;
    if (this.endReason === 'finding') return new StepFailure(this.runFindings[this.runFindings.length - 1]?.summary ?? 'a finding ended the run');
    if (this.endReason === 'limit:maxTimeMs') return new StepError('case-timeout', `the run reached its time limit (maxTimeMs=${this.o.config.limits.maxTimeMs} model ms, or maxRunMs=${this.o.maxRunMs} real ms)`);
    return null;
  }

  /** The case's bound (maxRunMs) struck: the run ends at its time limit. */
  endAtBound(): void {
    this.stop('limit:maxTimeMs');
  }

  /** Once the run has ended, however: what the server still owes is a finding. */
  conclude(): void {
    if (!this.stopped) this.stop(this.endReason);
    // The server owes what the oracle still expects: a reply that never came.
    if (this.endReason !== 'finding' && this.judging && this.oracle !== undefined && !this.oracle.satisfied()) {
      this.stopped = false;
      this.conformanceFinding(`conformance: timeout: the live server never sent what the ${this.oracle.name} sends: ${this.oracle.outstanding()}`);
      this.stopped = true;
    }
  }

  /** The run's result, after teardown; `started`: when the run began (real ms). */
  result(started: number): LiveScenarioResult {
    this.trace.push({ k: 'end', t: this.now(), reason: this.endReason });
    const { findings, trace } = this.finish();
    return {
      findings,
      trace,
      endReason: this.endReason,
      notes: this.notes,
      target: this.targetText,
      unexplained: this.explain === undefined ? null : this.unexplained,
      durationMs: Math.round(performance.now() - started),
    };
  }

  protected async startTarget(): Promise<void> {
    if (this.o.command !== undefined) {
      this.process = new ManagedProcess(this.o.command);
      this.process.onUnexpectedExit = (info) => {
        if (this.serverStatus === 'crashed' || this.serverStatus === 'done') return;
        // The program ended by itself (not killed by a fault): to the checks, a server that is done.
        this.serverStatus = 'done';
        this.serverExit = info.code !== null ? `the live server process exited with code ${info.code}` : `the live server process died of ${info.signal}`;
        this.notes.push(this.serverExit);
        this.record({ k: 'print', t: this.now(), node: this.serverId, kind: 'error', text: this.serverExit });
        this.checkInvariants();
      };
      const address = await this.process.start();
      const parsed = new URL(address);
      this.host = parsed.hostname.replace(/^\[|\]$/g, '');
      this.port = Number(parsed.port);
      this.path = parsed.pathname || '/';
      this.targetText = `${address} (started: ${this.o.command.command.map((a) => (a === '{protosim}' ? 'protosim' : a.replaceAll('{port}', parsed.port))).join(' ')})`;
    } else {
      const a = this.o.address!;
      this.host = a.host;
      this.port = a.port;
      this.path = a.path;
      this.targetText = a.text;
    }
    if (this.o.codec === null) await this.prepareStore();
  }

  /** kv: the store starts empty but for the scenario's keys (a run owns its IM server). */
  protected async prepareStore(): Promise<void> {
    const node = this.o.config.nodes.find((n) => n.id === this.serverId)!;
    const data = (node.params.initial ?? {}) as Record<string, string>;
    const requests: KvRequest[] = [{ type: 'CLEAR' }, ...Object.entries(data).map(([key, value]): KvRequest => ({ type: 'SET', key, value }))];
    for (const r of requests) {
      const outcome = await kvRequest(this.host, this.port, this.path, kvQuery(r, undefined), this.o.replyTimeoutMs);
      if (outcome.kind !== 'reply') throw new TargetError(`the IM server at ${this.targetText} did not answer ${show(r)}: ${outcome.reason}`, 'unreachable');
    }
  }

  /** Watches for the end: a finding, quiescence, a stall, or the model time limit (the real one, maxRunMs, is the case's bound). */
  protected async watch(): Promise<void> {
    const stallBoundMs = this.o.config.checks.stallBoundMs;
    const settleMs = this.o.settleMs ?? Math.max(200, this.o.replyTimeoutMs / 4);
    const maxTimeMs = this.o.config.limits.maxTimeMs;
    let settledSince: number | undefined;
    for (;;) {
      await sleep(tickMs);
      if (this.stopped) return;
      if (this.now() > maxTimeMs) return this.stop('limit:maxTimeMs');
      const notStarted = this.o.config.nodes.some((n) => n.id !== this.serverId && !this.clients.has(n.id));
      if (this.externalPending > 0 || notStarted) {
        // Something is still to come from outside (a start, a fault, a person typing): as in the
        // simulator, the stall clock starts again once it has come.
        this.lastProgressMs = this.now();
        continue;
      }
      const unfinished = [...this.clients.values()].filter((n) => (n.status === 'running' || n.status === 'paused') && !n.runtime.state(n.stateId).done);
      const waitingOnPerson = unfinished.some((n) => n.status === 'running' && n.runtime.state(n.stateId).tags.includes('awaitingUser') && !n.inputPending);
      if (unfinished.length === 0 || waitingOnPerson) {
        // Settled (as the simulator's run ends): watch a little longer for late replies; a program
        // that polls keeps running, so quiet is not required, only time.
        settledSince ??= performance.now();
        const quiet = performance.now() - this.lastActivityReal > settleMs;
        if (quiet || performance.now() - settledSince > 2 * settleMs) return this.stop(unfinished.length === 0 ? 'quiescent' : 'settled');
        continue;
      }
      settledSince = undefined;
      if (this.now() - this.lastProgressMs > stallBoundMs) {
        const names = unfinished.map((n) => n.id).join(', ');
        const allWaiting = unfinished.every((n) => n.runtime.state(n.stateId).tags.includes('waiting'));
        if (allWaiting) {
          this.addFinding('deadlock', 'deadlock', `deadlock: ${names} ${unfinished.length === 1 ? 'waits' : 'wait'} for ever: no progress for ${stallBoundMs} ms (stallBoundMs) of the live run while ${unfinished.length === 1 ? 'it waits' : 'they wait'} for the server`);
        } else {
          this.addFinding('liveness', 'liveness', `liveness: no progress for ${stallBoundMs} ms (stallBoundMs) of the live run while ${names} had not finished`);
        }
        return;
      }
    }
  }

  /** Releases everything the run started (the teardown of the case). */
  async tearDown(): Promise<void> {
    this.stopped = true;
    for (const t of this.pendingTimers) clearTimeout(t);
    this.pendingTimers.clear();
    for (const n of this.clients.values()) {
      this.cancelTimers(n);
      n.epoch++;
      if (n.connection !== undefined && !n.connection.isClosed) n.connection.disconnect('reset');
    }
    await Promise.all([...this.clients.values()].map((n) => n.proxy?.close()));
    if (this.process !== undefined) {
      if (this.process.paused) this.process.resume();
      this.process.onUnexpectedExit = undefined;
      await this.process.stop();
    }
  }
}
