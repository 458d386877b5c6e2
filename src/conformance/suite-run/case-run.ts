/**
 * The driver of one case of a server suite against a live target (a LiveCase): protosim plays the
 * clients over connections to the target, step by step (./connect-and-send.ts, ./link-faults.ts,
 * ./expect-messages.ts, ./expect-kv.ts, ./expect-stream-model.ts, on the case's CaseContext), and
 * adds to the verdict what the target did meanwhile: a crash, no exchange at all, unreachable.
 */
import type { CaseResult } from '../../report/case-result.js';
import type { Suite } from '../../scenario/load-suite.js';
import type { CaseFile, StepFile } from '../../scenario/suite-schema.js';
import { describeStepFields } from '../../scenario/step-language.js';
import { LiveCase } from '../engine/live-case.js';
import { StepError, type CaseOutcome, type ErrorKind } from '../engine/verdicts.js';
import { OracleLimitError } from '../server-model-oracle.js';
import { EncodeError, type LiveCodec } from '../live-codec.js';
import type { ConnectionLimits, HarnessConnection } from '../live-connection.js';
import type { ResolvedTarget } from '../live-target.js';
import { describeExit, type ManagedProcess } from '../managed-process.js';
import { PatternError } from '../message-pattern.js';
import { CaseContext, sleep } from './case-context.js';
import { connectClient, sendMessages } from './connect-and-send.js';
import { teardownCloseMs } from './constants.js';
import { expectModel } from './expect-kv.js';
import { expect } from './expect-messages.js';
import { expectStreamModel } from './expect-stream-model.js';
import { fault, setupProxies } from './link-faults.js';
import { ConnectionsReleased, memoryBoundFor, serverBoundsFor } from './server-bounds.js';
import { Soak } from './soak.js';
import { addressProblem } from './target-checks.js';

/** One case's run: its clients, proxies, captures and the kv model (in its CaseContext). */
export class CaseRun extends LiveCase<StepFile> {
  private readonly cx: CaseContext;
  /** `connections-released`, when the run checks the named bounds (started in setup) */
  private released: ConnectionsReleased | undefined;
  /** a named bound the target broke (found in teardown) */
  private boundViolation: string | null = null;
  /** a soak (`rounds:`): its steps run over, `${round}` each round's number */
  private readonly soak: Soak | undefined;

  constructor(
    suite: Suite,
    private readonly c: CaseFile,
    target: ResolvedTarget,
    codec: LiveCodec | null,
    vars: Record<string, string | number>,
    limits: ConnectionLimits,
    private readonly process: ManagedProcess | undefined,
    address: string,
    /** called once something arrived from the target in this case */
    private readonly onHeard: () => void = () => undefined,
  ) {
    super(c.rounds === undefined ? c : { ...c, steps: Array.from({ length: c.rounds }, () => c.steps).flat() });
    this.cx = new CaseContext(suite, c, target, codec, vars, limits, process, address);
    if (c.rounds !== undefined) this.soak = new Soak(c.rounds, c.steps.length, this.cx, memoryBoundFor(suite.spec.protocol, this.cx.vars));
  }

  async execute(caseTimeoutMs: number): Promise<{ result: CaseResult; kind: ErrorKind | null }> {
    const cx = this.cx;
    if (this.process !== undefined) this.process.onUnexpectedExit = (info) => (cx.crash = info);
    const ran = await this.runCase(caseTimeoutMs);
    let outcome = { result: this.resultOf(ran.outcome, ran.durationMs), kind: ran.outcome.kind };
    const started = performance.now() - ran.durationMs;
    const finish = (verdict: CaseResult['verdict'], reason: string, extra: Partial<CaseOutcome> = {}, kind: ErrorKind | null = null) => ({
      result: this.resultOf({ verdict, reason, kind, ...extra }, performance.now() - started),
      kind,
    });
    // A target that dies when the case's clients leave has crashed in this case too.
    if ((outcome.result.verdict === 'PASS' || outcome.result.verdict === 'SKIP') && this.process !== undefined) {
      await sleep(20);
      const p = this.process;
      if (!p.running && p.exit !== undefined && !p.exit.expected) cx.crash = p.exit;
      if (cx.crash !== undefined) {
        outcome = finish('ERROR', `the target crashed when the case's clients disconnected (${describeExit(cx.crash)})`, { step: 'after the last step (the clients disconnected)', observed: this.process!.tails() }, 'crash');
      }
    }
    // A named bound broken by a case that passed otherwise (the protocol's bounds: src/models/live-bounds.ts).
    if (outcome.result.verdict === 'PASS' && this.boundViolation !== null) {
      outcome = finish('FAIL', this.boundViolation, { step: 'after the last step (the clients disconnected)' });
    }
    // No case passes without an exchange with the target; one that met nothing there says why.
    const judged = outcome.result.verdict === 'PASS' || outcome.result.verdict === 'FAIL' || outcome.kind === 'timeout';
    if (judged && cx.crash === undefined && !this.exchanged()) {
      const problem = await addressProblem(cx.host, cx.port, cx.target.transport);
      const said = outcome.result.verdict === 'PASS' ? '' : ` (the case said: ${outcome.result.reason})`;
      if (problem !== null) {
        outcome = finish('ERROR', `the target is unreachable: ${problem}; nothing in the case reached it${said}`, outcome.result.step !== undefined ? { step: outcome.result.step } : {}, 'unreachable');
      } else if (outcome.result.verdict === 'PASS') {
        outcome = finish('ERROR', 'no exchange with the target: every step held, but nothing came from the target (no connection it accepted, no reply); a case never passes on silence', {}, 'no-exchange');
      }
    }
    return outcome;
  }

  /** Something came from the target in this case: a connection it accepted, bytes, a reply. */
  /** Something the target sent arrived in this case (bytes, a reply): it was alive and serving. */
  get heardFromTarget(): boolean {
    if (this.cx.replied) return true;
    for (const c of this.cx.clients.values()) if ((c.connection?.bytesReceived ?? 0) > 0) return true;
    return false;
  }

  private exchanged(): boolean {
    const cx = this.cx;
    if (cx.reachedTarget) return true;
    for (const proxy of cx.proxies.values()) if (proxy.upstreamConnected > 0) return true;
    for (const proxy of cx.udpProxies.values()) if (proxy.upstreamConnected > 0) return true;
    for (const c of cx.clients.values()) if ((c.connection?.bytesReceived ?? 0) > 0) return true;
    return false;
  }

  private async checkCrash(): Promise<void> {
    const p = this.process;
    if (p !== undefined && this.cx.crash === undefined && !p.running && p.exit !== undefined && !p.exit.expected) this.cx.crash = p.exit;
    if (this.cx.crash !== undefined) throw new StepError('crash', 'crashed');
  }

  protected async teardown(): Promise<void> {
    const cx = this.cx;
    // Close every client and give the target a moment to see it (it ends sessions on close), so
    // the next case does not meet this one's sessions.
    const connections = [...cx.clients.values()].map((c) => c.connection).filter((c): c is HarnessConnection => c !== undefined);
    const open = connections.filter((c) => !c.isClosed);
    // QUIC: the links are made whole first, so that the CONNECTION_CLOSE of a partitioned client
    // reaches the target (else its session outlives the case, until the server's own timeout)
    if (cx.target.transport === 'quic') {
      for (const p of cx.udpProxies.values()) {
        p.heal();
        p.clearMessageOps();
      }
    }
    // QUIC has no half-close of a connection: CONNECTION_CLOSE, which the target sees at once.
    for (const connection of open) connection.disconnect(cx.target.transport === 'quic' ? 'close' : 'half-close');
    await Promise.all(open.map((c) => c.closedWithin(teardownCloseMs)));
    // Before the resets (a reset frees what the target kept); not while the case left it paused.
    if (this.released !== undefined && this.process?.paused !== true) this.boundViolation = await this.released.violation();
    for (const connection of open) connection.disconnect('reset');
    await Promise.all([...cx.proxies.values(), ...cx.udpProxies.values()].map((p) => p.close()));
    // A QUIC client that vanished left its session on the target until the server's own timeout
    // (nothing tells it): on an address target the next case would meet it, so the case waits out
    // the suite's `lockoutBoundMs` when it sets one (the bound the protocol gives that timeout).
    const bound = cx.vars.lockoutBoundMs;
    if (connections.some((c) => c.vanished === true) && typeof bound === 'number') await new Promise((r) => setTimeout(r, bound));
    if (this.process?.paused) this.process.resume();
    if (this.process !== undefined) this.process.onUnexpectedExit = undefined;
  }

  protected override async afterStep(index: number): Promise<void> {
    if (this.cx.crash === undefined && this.heardFromTarget) this.onHeard();
    if (this.cx.crash !== undefined) throw new StepError('crash', 'crashed');
    await this.soak?.stepHeld(index);
  }

  protected override async beforePass(): Promise<void> {
    await this.checkCrash();
    await this.soak?.judge();
  }

  protected override passReason(): string {
    return this.soak?.passNote() ?? super.passReason();
  }

  protected override async refine(outcome: CaseOutcome | null, error: unknown): Promise<CaseOutcome | null> {
    await this.cx.checkCrashQuietly();
    const step = outcome?.step ?? (this.stepIndex >= 0 ? this.describeStepAt(this.stepIndex) : undefined);
    const at = step !== undefined ? { step } : {};
    if (this.cx.crash !== undefined) return { verdict: 'ERROR', reason: `the target crashed during ${step ?? 'the case'} (${describeExit(this.cx.crash)})`, kind: 'crash', ...at, observed: this.process!.tails() };
    if (outcome !== null) return outcome;
    if (error instanceof OracleLimitError) return { verdict: 'ERROR', reason: `the model oracle cannot judge the case: ${error.message}`, kind: 'suite', ...at };
    if (error instanceof EncodeError || error instanceof PatternError) return { verdict: 'ERROR', reason: `the case cannot run: ${error.message}`, kind: 'suite', ...at };
    return null;
  }

  protected describeStepAt(i: number): string {
    if (this.soak === undefined) return describeStepFields(this.c.steps[i]!, i);
    const k = i % this.c.steps.length;
    return `round ${this.soak.roundOf(i)} of ${this.soak.rounds}, ${describeStepFields(this.c.steps[k]!, k)}`;
  }

  protected runStep(s: StepFile, index: number): Promise<void> {
    this.soak?.beginStep(index);
    return this.step(s);
  }

  protected override setup(): Promise<void> {
    const cx = this.cx;
    const bounds = serverBoundsFor(cx.suite.spec.protocol, cx.vars, cx.target.transport);
    if (bounds?.connectionsReleasedMs !== undefined) this.released = new ConnectionsReleased(cx.port, bounds.connectionsReleasedMs);
    this.soak?.start();
    return setupProxies(cx);
  }

  private async step(s: StepFile): Promise<void> {
    const cx = this.cx;
    if (s.connect !== undefined) {
      for (const name of typeof s.connect === 'string' ? [s.connect] : s.connect) await connectClient(cx, name, s.store);
    } else if (s.send !== undefined) await sendMessages(cx, s.send, s);
    else if (s.expect === 'model') await (cx.codec === null ? expectModel(cx) : expectStreamModel(cx, cx.ms(s.withinMs, cx.replyTimeoutMs)));
    else if (s.expect !== undefined) await expect(cx, s.expect, s);
    else if (s.disconnect !== undefined) {
      const c = cx.client(s.disconnect);
      c.connection?.disconnect(s.mode ?? 'close');
      // a reset passes a partition at once (what it held is lost); a close waits behind what it holds
      if (s.mode === 'reset') cx.partitionEnds(c.name, 'lost', true);
      if (!cx.closedSeen.has(c.name)) cx.toServer(c.name, () => cx.streamOracle?.disconnect(c.name, s.mode === 'reset' ? 'reset' : 'closed'), true);
      c.left = true;
    } else if (s.fault !== undefined) await fault(cx, s);
    else if (s.wait !== undefined) await sleep(cx.ms(s.wait, 0));
  }
}
