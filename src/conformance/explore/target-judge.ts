/**
 * The oracle of one `explore --target` schedule: the protocol's server model (ServerModelOracle,
 * possible worlds, fresh per schedule) told every message in the order the explorer released it,
 * every kill and leave, and every arrival, judged as the suite engine's `expect: model` judges
 * them: a message no possible world sends (an unsolicited or duplicate message, a wrong reply), a
 * reply that never comes (a timeout), bytes that are not a message, a connection closed the model
 * keeps open, or a command target that exits by itself (a crash).
 */
import type { ManagedProcess } from '../managed-process.js';
import { describeExit } from '../managed-process.js';
import type { Captures } from '../message-pattern.js';
import { show } from '../message-pattern.js';
import { ServerModelOracle, type WireMapping } from '../server-model-oracle.js';
import type { ExploredClient } from './target-clients.js';

/** Why a schedule failed: what the model expected and what came. */
export interface ScheduleFailure {
  reason: string;
  expected?: string;
  observed?: string;
}

/** A message shown on one line, cut at `max` characters. */
export const clip = (text: string, max: number): string => (text.length > max ? `${text.slice(0, max)}… (${text.length} characters)` : text).replace(/[\u0000-\u001f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The model oracle of one schedule, and what it bound (session ids...) as captures for later messages. */
export class ScheduleJudge {
  readonly oracle: ServerModelOracle;
  readonly captures: Captures = new Map();
  /** released messages, kills and what arrived, in order, for the report */
  readonly trace: string[] = [];
  private readonly closedSeen = new Set<string>();
  private readonly started = performance.now();

  constructor(
    mapping: WireMapping,
    private readonly process: ManagedProcess | undefined,
  ) {
    // deferText: a message the model does not send at all is judged before a text that differs
    this.oracle = new ServerModelOracle(mapping, () => performance.now() - this.started, undefined, undefined, { deferText: true });
  }

  /** A client's message reached the server (the explorer released it). */
  sent(client: string, wire: unknown): void {
    this.oracle.send(client, wire);
  }

  /** A client went away: it left, or the explorer killed it (reset). */
  disconnected(client: string, how: 'closed' | 'reset'): void {
    if (this.closedSeen.has(client)) return;
    this.closedSeen.add(client);
    this.oracle.disconnect(client, how);
  }

  /** The target exited without being asked to: how, with its output's tails. */
  crash(): ScheduleFailure | null {
    const p = this.process;
    if (p === undefined || p.running || p.exit === undefined || p.exit.expected) return null;
    return { reason: `crash: the target exited (${describeExit(p.exit)})`, expected: 'the target keeps running', observed: p.tails() };
  }

  /** Gives an exit that is on its way a moment to arrive, then says whether the target crashed. */
  async crashQuietly(): Promise<ScheduleFailure | null> {
    if (this.process !== undefined && this.process.running) await sleep(100);
    return this.crash();
  }

  /** Reads what arrived for every client still connected and judges it; a failure, or null. */
  private async drain(clients: readonly ExploredClient[]): Promise<{ failure: ScheduleFailure | null; arrivals: number }> {
    let arrivals = 0;
    for (const c of [...clients].sort((a, b) => a.name.localeCompare(b.name))) {
      if (this.closedSeen.has(c.name)) continue;
      for (;;) {
        const got = await c.conn.next(0);
        if (got.kind === 'timeout') break;
        arrivals++;
        if (got.kind === 'invalid') return { failure: { reason: `${c.name} got bytes that are not a message of the protocol: ${got.reason}`, expected: this.oracle.outstanding(), observed: got.reason }, arrivals };
        if (got.kind === 'closed') {
          this.closedSeen.add(c.name);
          c.gone ??= 'the target closed its connection';
          this.trace.push(`      ${c.name} <- the connection closed (${got.detail})`);
          const failure = this.oracle.arrival(c.name, { kind: 'closed' });
          return { failure: failure === null ? null : { ...failure, observed: `${failure.observed} (${got.detail})` }, arrivals };
        }
        this.trace.push(`      ${c.name} <- ${clip(show(got.msg), 160)}`);
        const failure = this.oracle.arrival(c.name, { kind: 'message', msg: got.msg });
        if (failure !== null) return { failure, arrivals };
      }
    }
    return { failure: null, arrivals };
  }

  /**
   * Waits for the server's replies to settle: every arrival judged; done once some possible world
   * expects nothing more and nothing came for `quietMs` (and `quietMs` passed since the release);
   * a timeout when the model still expects something after `withinMs`. What the model bound
   * becomes captures (`$s1`).
   */
  async settle(clients: readonly ExploredClient[], quietMs: number, withinMs: number): Promise<ScheduleFailure | null> {
    const started = performance.now();
    let lastArrival = started;
    let arrivals = 0;
    for (;;) {
      const drained = await this.drain(clients);
      if (drained.failure !== null) return (await this.crashQuietly()) ?? drained.failure;
      if (drained.arrivals > 0) lastArrival = performance.now();
      arrivals += drained.arrivals;
      const crash = this.crash();
      if (crash !== null) return crash;
      const now = performance.now();
      const inFlight = this.oracle.inFlightAgeMs();
      const quiet = now - lastArrival >= quietMs && now - started >= quietMs && (inFlight === null || inFlight >= quietMs);
      if ((quiet && this.oracle.satisfied()) || (now - started >= withinMs && this.oracle.satisfied())) return this.commit();
      if (now - started >= withinMs) {
        return (
          (await this.crashQuietly()) ?? {
            reason: `timeout: the ${this.oracle.name} sends ${arrivals === 0 ? 'a message' : 'more'} here; nothing ${arrivals === 0 ? '' : 'more '}arrived within ${withinMs} ms`,
            expected: this.oracle.outstanding(),
            observed: arrivals === 0 ? 'nothing' : 'nothing more',
          }
        );
      }
      await sleep(5);
    }
  }

  /** The arrivals so far were all the model sends: text faults are judged, bindings become captures. */
  private commit(): ScheduleFailure | null {
    const textFault = this.oracle.settle();
    if (textFault !== null) return textFault;
    this.oracle.commitSatisfied();
    for (const [modelValue, wire] of Object.entries(this.oracle.bindings())) {
      if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(modelValue) && !this.captures.has(modelValue)) this.captures.set(modelValue, JSON.parse(wire) as unknown);
    }
    return null;
  }
}
