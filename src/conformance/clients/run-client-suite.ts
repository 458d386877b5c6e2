/**
 * Runs a client-side suite: for each case, a fresh IM server (the model's store), or the suite's
 * server command (./suite-server.ts, over QUIC when the adapter says so; link faults through
 * ./client-links.ts), and fresh client programs started through the adapter, driven as people and a nemesis would; each
 * case ends PASS, FAIL (expected vs observed, with the requests behind it), ERROR (the harness could
 * not do its part: a program that will not start, an adapter without a pattern the case needs, the
 * case's time bound) or SKIP. A timeout waiting for output while the program runs is a FAIL: the
 * program is what is under test, and it did not do what a correct client does.
 */
import { ProtosimError } from '../../errors.js';
import { LiveCase } from '../engine/live-case.js';
import { StepError, StepFailure as Failure, type CaseOutcome } from '../engine/verdicts.js';
import { models } from '../../models/index.js';
import type { ModelVariant } from '../../models/types.js';
import { makeSuiteReport, type CaseResult, type SuiteReport } from '../../report/case-result.js';
import type { TraceEvent } from '../../sim/trace.js';
import type { Adapter } from './adapter.js';
import type { PatternKind } from './adapter-schema.js';
import type { IoMode } from './client-process.js';
import { ClientSession } from './client-session.js';
import { ClientShadow } from './client-shadow.js';
import { describeStep, lineMatch, printKindOf, requestMessage, shownMessage, wantedLine } from './client-step-text.js';
import type { ClientCaseFile, ClientStepFile } from './client-suite-schema.js';
import { describeImRequest, ImServer, type ImRequestRecord } from './im-server.js';
import type { ClientSuite } from './load-client-suite.js';
import { analyzeStall, type StallAnalysis } from './stall-analysis.js';
import { describeExit } from '../managed-process.js';
import { serverActions, SuiteServer, suiteServerCommand } from './suite-server.js';
import { ClientLinks } from './client-links.js';
import { idleRequestsViolation } from './idle-requests.js';
import { protocolNamed } from '../../models/registry.js';

/** A step's verdict: FAIL (the program did something else) or ERROR (the harness could not do its part). */
function stepVerdict(verdict: 'FAIL' | 'ERROR', reason: string, expected?: string, observed?: string): Error {
  return verdict === 'FAIL' ? new Failure(reason, expected, observed) : new StepError('harness', reason, expected, observed);
}

import { adapterVarsFor, defaultClientCaseTimeoutMs, killAfterTimeoutMs, maxCaseTraceEvents, selectClientCases, togetherTimeoutMs, type RunClientSuiteOptions } from './client-suite-options.js';

export { adapterVarsFor, defaultClientCaseTimeoutMs, killAfterTimeoutMs, maxCaseTraceEvents, selectClientCases, togetherTimeoutMs, type RunClientSuiteOptions };

/** Runs the selected cases; an InputError (exit 2) first when the suite's server cannot be run as the adapter needs (QUIC). */
export async function runClientSuite(suite: ClientSuite, opts: RunClientSuiteOptions): Promise<SuiteReport> {
  suiteServerCommand(suite, opts.adapter);
  const started = performance.now();
  const results: CaseResult[] = [];
  for (const c of selectClientCases(suite, opts.caseIds, opts.tags, opts.strict === true)) {
    opts.onCaseStart?.(c);
    const result = await new ClientCaseRun(suite, c, opts).run();
    results.push(result);
    opts.onCaseEnd?.(result);
  }
  return makeSuiteReport(`client program ${opts.adapter.spec.adapter} (${opts.adapter.file || 'adapter'})`, results, Math.round(performance.now() - started), suite.spec.suite);
}

/** One case, from fresh server and programs to verdict. */
export class ClientCaseRun extends LiveCase<ClientStepFile> {
  /** protosim's IM server (the model's store), unless the suite runs a server command */
  readonly im: ImServer | undefined;
  private readonly links: ClientLinks | undefined; // the proxies of the clients whose links the case faults
  /** the server command of a whole live system */
  server: SuiteServer | undefined;
  readonly sessions = new Map<string, ClientSession>();
  readonly shadows = new Map<string, ClientShadow>();
  readonly trace: TraceEvent[] = [];
  private traceDropped = 0;
  private nextId = 1;
  private readonly variant: ModelVariant | undefined;
  private readonly vars: Record<string, string>;
  /** names bound by `expect: [..] as:` */
  private readonly aliases = new Map<string, string>();
  private stepStartedMs = 0;
  /** when each step that acts (all but expect and wait) began: what the idle-requests bound counts as a change */
  private readonly actedMs: number[] = [];
  /** the case failed on a named bound, not on a step */
  private boundBroken = false;

  constructor(
    readonly suite: ClientSuite,
    readonly c: ClientCaseFile,
    readonly opts: RunClientSuiteOptions,
  ) {
    super(c);
    this.variant = models[suite.spec.protocol]?.variants.faithful;
    this.vars = adapterVarsFor(suite, opts.adapter, opts.vars);
    this.im = suite.spec.server === undefined ? new ImServer() : undefined;
    this.links = ClientLinks.of(suite, c, opts.adapter.spec.transport);
    this.im?.onRequest((record, phase) => this.onRequest(record, phase));
  }

  /** ms since the case started. */
  nowMs(): number {
    return this.im?.nowMs() ?? Math.round(performance.now() - this.caseStartedMs);
  }

  /** Starts the suite's server command, when it has one; its address is what the clients get. */
  private async startServer(): Promise<void> {
    if (this.suite.spec.server === undefined) return;
    this.server = new SuiteServer(this.suite, this.opts.adapter, this.opts.protosimLauncher);
    await this.server.start();
    this.push({ k: 'start', t: this.nowMs(), node: 'server', role: 'server', state: 'started', fresh: true });
  }

  private push(e: TraceEvent): void {
    if (this.trace.length < maxCaseTraceEvents) this.trace.push(e);
    else this.traceDropped += 1;
  }

  private onRequest(record: ImRequestRecord, phase: 'arrived' | 'held' | 'replied'): void {
    const shadow = this.shadows.get(record.client);
    if (phase === 'arrived') {
      shadow?.request(record);
      const msg = requestMessage(record);
      const id = this.nextId++;
      (record as ImRequestRecord & { traceId?: number }).traceId = id;
      this.push({ k: 'send', t: record.atMs, id, from: record.client, to: 'store', msg });
      this.push({ k: 'deliver', t: record.atMs, id, from: record.client, to: 'store', msg });
    } else if (phase === 'replied') {
      shadow?.reply(record);
      const id = this.nextId++;
      const t = record.repliedAtMs ?? record.atMs;
      if (record.reply === 'reset') {
        this.push({ k: 'conn', t, node: record.client, peer: 'store', event: 'reset' });
        return;
      }
      if (typeof record.reply !== 'object') return;
      const msg = { type: record.reply.status === 200 ? 'REPLY' : `HTTP_${record.reply.status}`, body: record.reply.body };
      this.push({ k: 'send', t, id, from: 'store', to: record.client, msg });
      this.push({ k: 'deliver', t, id, from: 'store', to: record.client, msg });
    }
  }

  async run(): Promise<CaseResult> {
    const { outcome, durationMs } = await this.runCase(this.opts.caseTimeoutMs ?? defaultClientCaseTimeoutMs);
    if (this.traceDropped > 0) this.trace.push({ k: 'end', t: this.nowMs(), reason: 'limit:maxSteps' });
    else this.trace.push({ k: 'end', t: this.nowMs(), reason: outcome.verdict === 'PASS' ? 'quiescent' : 'finding' });
    return { ...this.resultOf(outcome, durationMs), trace: this.trace, cycleStart: this.cycleStart };
  }

  /** where the cycle of a stall begins in the trace (a FAIL's), else null */
  private cycleStart: number | null = null;

  protected override passReason(): string {
    return 'every step as expected';
  }

  protected describeStepAt(i: number): string {
    return `step ${i + 1}: ${describeStep(this.c.steps[i]!)}`;
  }

  protected override setup(): Promise<void> {
    return this.startServer();
  }

  protected runStep(step: ClientStepFile): Promise<void> {
    this.stepStartedMs = this.nowMs();
    if (step.expect === undefined && step.wait === undefined) this.actedMs.push(this.stepStartedMs);
    if (step.if !== undefined && !this.holds(step.if)) return Promise.resolve();
    return this.step(step);
  }

  /** A step's condition: the program is running, or has ended. */
  private holds(condition: NonNullable<ClientStepFile['if']>): boolean {
    const name = condition.running ?? condition.exited!;
    const s = this.sessions.get(this.aliases.get(name) ?? name);
    const running = s !== undefined && s.process.running;
    return condition.running !== undefined ? running : s !== undefined && !running;
  }

  /** A FAIL says what the clients were doing (a stall, the model's prediction, their output); protosim's own errors are ERRORs. */
  protected override async refine(outcome: CaseOutcome | null, error: unknown): Promise<CaseOutcome | null> {
    const step = this.stepIndex >= 0 ? this.describeStepAt(this.stepIndex) : undefined;
    if (outcome === null) {
      const reason = error instanceof ProtosimError ? error.message : `internal error: ${(error as Error).stack ?? String(error)}`;
      return { verdict: 'ERROR', reason, kind: 'harness', ...(step !== undefined ? { step } : {}) };
    }
    if (outcome.verdict !== 'FAIL' || this.boundBroken) return outcome;
    let { reason, observed } = outcome;
    const stall = this.stall();
    if (stall.summary !== null) {
      reason = `${reason}: ${stall.summary}`;
      this.cycleStart = this.cycleIndex(stall);
      this.push({ k: 'finding', t: this.nowMs(), kind: 'deadlock', summary: stall.summary });
    }
    observed = [observed, ...stall.details].filter((x) => x !== undefined).join('\n');
    if (this.c.model !== undefined) observed = `${observed ?? ''}\nthe model predicts: ${this.c.model}`.trim();
    const tails = [...this.sessions.values()].map((s) => `--- ${s.name} (${s.status()}):\n${s.tail(10)}`).join('\n');
    observed = `${observed ?? ''}\nclient output:\n${tails}`.trim();
    return { ...outcome, reason, observed };
  }

  /** The protocol's named bounds, when the run checks them (`--bounds`): idle-requests, on what protosim's IM server saw. */
  protected override async beforePass(): Promise<void> {
    const bounds = this.opts.bounds === true ? protocolNamed(this.suite.spec.protocol)?.clients?.bounds : undefined;
    if (this.im === undefined || bounds?.idleRequestsPerSecond === undefined) return;
    const violation = idleRequestsViolation(this.im.requests, this.actedMs, this.nowMs(), { perSecond: bounds.idleRequestsPerSecond, windowMs: bounds.idleWindowMs ?? 250 });
    if (violation === null) return;
    this.boundBroken = true;
    throw new Failure(violation, `at most ${bounds.idleRequestsPerSecond} requests per second from each program while nothing changes`);
  }

  /** The stall behind a failure (clients polling, nothing changing), with the model's words when it has them. */
  stall(): StallAnalysis {
    if (this.im === undefined) {
      const details = [...this.sessions.values()].map((s) => `${s.name}: ${s.status()}`);
      const server = this.server?.process;
      if (server !== undefined) details.push(`server: ${server.running ? (server.paused ? 'paused' : 'running') : server.exit ? describeExit(server.exit) : 'not started'}`);
      return { summary: null, details, stuck: [], windowStartMs: this.stepStartedMs };
    }
    return analyzeStall({
      im: this.im,
      sinceMs: this.stepStartedMs,
      clients: [...this.sessions.values()].map((s) => ({ name: s.name, status: s.status(), running: s.process.running })),
      shadows: [...this.shadows.values()],
      variant: this.variant,
    });
  }

  private cycleIndex(stall: StallAnalysis): number | null {
    const i = this.trace.findIndex((e) => e.t >= stall.windowStartMs && e.k === 'send');
    return i >= 0 ? i : null;
  }

  /** `expect: [c1, c2]`: the first of them to show it; `as`/`otherAs` name who did and who did not. */
  private async expectAny(names: readonly string[], step: ClientStepFile, expectMs: number): Promise<void> {
    const kind = step.kind!;
    await this.needPattern(kind, expectMs);
    const sessions = names.map((n) => this.session(n));
    const winner = await new Promise<ClientSession | undefined>((resolveFirst) => {
      let pending = sessions.length;
      let decided = false; // only the first to show it consumes the line: the others' stays for their next expect
      for (const s of sessions) {
        void s.waitFor(kind, expectMs, { ...lineMatch(step), keepCursor: true }).then((r) => {
          if (r.ok && !decided) resolveFirst(s.consume(r.segment.index, kind));
          else if (--pending === 0) resolveFirst(undefined);
          decided ||= r.ok;
        });
      }
    });
    if (winner === undefined) {
      const want = wantedLine(step);
      throw stepVerdict('FAIL', `expected one of ${names.join(', ')} to show ${want}; none did within ${expectMs} ms`, want, `none (${sessions.map((s) => `${s.name} ${s.status()}`).join(', ')})`);
    }
    if (step.as !== undefined) this.aliases.set(step.as, winner.name);
    if (step.otherAs !== undefined) this.aliases.set(step.otherAs, sessions.find((s) => s !== winner)!.name);
  }

  private session(alias: string): ClientSession {
    const name = this.aliases.get(alias) ?? alias;
    const s = this.sessions.get(name);
    if (s === undefined) throw stepVerdict('ERROR', `client ${name} was not started`);
    return s;
  }

  /**
   * A case that needs the program to show a kind of line the adapter has no pattern for: the
   * program has no such line (FAIL), unless the check is that it does not show one (ERROR: the
   * harness cannot tell).
   */
  private async needPattern(kind: PatternKind, expectMs: number, absent = false): Promise<void> {
    if (this.opts.adapter.patterns[kind]) return;
    const text = `the adapter ${this.opts.adapter.spec.adapter} has no \`${kind}\` pattern`;
    if (absent) throw stepVerdict('ERROR', `${text}, so the harness cannot check that no such line is shown (add patterns.${kind})`);
    // Watch for the usual time anyway, so the verdict shows what the clients did meanwhile.
    await sleep(expectMs);
    throw stepVerdict('FAIL', `${text}: the program never shows a ${kind} line (if it does, add patterns.${kind} to the adapter)`, `a ${kind} line`, 'no way to show one');
  }

  /**
   * The program's lease (how long it takes to decide a silent peer is gone): the adapter's
   * `leaseMs`, else its `leaseMs` variable (as the suite or --var set it), else the suite's.
   */
  leaseMs(): number {
    return this.adapterLeaseMs() ?? this.suite.spec.leaseMs;
  }

  /** The lease the adapter (or --var) gives the program, if any. */
  private adapterLeaseMs(): number | undefined {
    const adapter = this.opts.adapter.spec;
    if (adapter.leaseMs !== undefined) return adapter.leaseMs;
    const v = Number(this.vars.leaseMs ?? adapter.vars?.leaseMs);
    return Number.isFinite(v) && (this.vars.leaseMs !== undefined || adapter.vars?.leaseMs !== undefined) ? v : undefined;
  }

  /** ms left of the case's time bound. */
  private remainingMs(): number {
    return (this.c.timeoutMs ?? this.opts.caseTimeoutMs ?? defaultClientCaseTimeoutMs) - (performance.now() - this.caseStartedMs);
  }

  /** The lease plus half of it: heartbeats come once in a while and clocks tick in seconds. */
  private leaseWaitMs(): number {
    return Math.ceil(this.leaseMs() * 1.5);
  }

  /**
   * An expect of a kind the adapter says the program never shows: give it settleMs, then go on if it
   * still runs (the verdict comes from what it does on the wire).
   */
  private async settle(s: ClientSession, kind: PatternKind): Promise<void> {
    const ms = this.opts.adapter.spec.settleMs;
    const exit = await Promise.race([s.process.waitForExit(), sleep(ms).then(() => undefined)]);
    if (exit !== undefined || !s.process.running) throw stepVerdict('FAIL', `expected ${s.name} to keep running (it shows no ${kind} line, the adapter says); ${s.name} ended (${s.status()})`, `${s.name} running`, s.status());
  }

  private newShadow(name: string): void {
    if (this.variant === undefined) return;
    const clients = [...this.sessions.keys()];
    const pollMs = Number(this.vars.pollMs ?? this.opts.adapter.spec.vars?.pollMs ?? 500);
    this.shadows.set(name, new ClientShadow(this.variant, name, clients, { pollMs }));
  }

  private async step(step: ClientStepFile): Promise<void> {
    if (step.preload !== undefined) return this.im!.preload(step.preload);
    if (step.start !== undefined) return this.startClients(step);
    if (step.expect !== undefined) return this.expectStep(step);
    const serverAction = serverActions.find((k) => step[k] === 'server');
    if (serverAction !== undefined && this.server !== undefined) return this.server.act(serverAction, this.nowMs(), (e) => this.push(e));
    if (step.kill !== undefined) return this.killClient(step);
    if (step.fault !== undefined) return ClientLinks.handles(step) ? this.links!.apply(step) : this.imFault(step);
    if (step.wait !== undefined) return sleep(step.wait === 'lease' ? this.leaseWaitMs() : step.wait);
    if (step.restart !== undefined) {
      const s = this.session(step.restart);
      this.push({ k: 'fault', t: this.nowMs(), fault: { kind: 'restart', atMs: this.nowMs(), node: s.name, state: 'fresh' } });
      this.newShadow(s.name);
      return s.restart();
    }
    this.clientInput(step);
  }

  /** Steps that act on a running program at once: type, check, quit, pause, resume. */
  private clientInput(step: ClientStepFile): void {
    if (step.type !== undefined) {
      const s = this.session(step.type);
      if (step.keys !== undefined) s.process.type(step.keys);
      else {
        s.typeMessage(step.text!, step.to ?? '');
        this.shadows.get(s.name)?.typedLine(step.text!);
        this.push({ k: 'input', t: this.nowMs(), node: s.name, text: step.text! });
      }
    } else if (step.check !== undefined) {
      const s = this.session(step.check);
      const typed = s.check();
      this.push({ k: 'input', t: this.nowMs(), node: s.name, text: typed ? '(asks for queued messages)' : '(shows queued messages by itself)' });
    } else if (step.quit !== undefined) {
      const s = this.session(step.quit);
      s.quit();
      this.push({ k: 'quit', t: this.nowMs(), node: s.name });
    } else if (step.pause !== undefined) {
      const s = this.session(step.pause);
      s.pause();
      this.push({ k: 'fault', t: this.nowMs(), fault: { kind: 'pause', atMs: this.nowMs(), node: s.name } });
    } else if (step.resume !== undefined) {
      const s = this.session(step.resume);
      s.resume();
      this.push({ k: 'fault', t: this.nowMs(), fault: { kind: 'resume', atMs: this.nowMs(), node: s.name } });
    }
  }

  /** `start: c1` / `start: [c1, c2]`: fresh sessions, pointed at the IM server or the server command. */
  private async startClients(step: ClientStepFile): Promise<void> {
    const names = Array.isArray(step.start) ? step.start : [step.start!];
    if (step.together) this.im?.startTogether(names, togetherTimeoutMs);
    const fresh: ClientSession[] = [];
    for (const name of names) {
      if (this.sessions.has(name)) throw stepVerdict('ERROR', `client ${name} is already started (use restart)`);
      const s = new ClientSession({
        adapter: this.opts.adapter,
        name,
        address: this.im !== undefined ? await this.im.urlFor(name) : ((await this.links?.addressFor(name, this.server!.address)) ?? this.server!.address),
        vars: this.vars,
        protosimLauncher: this.opts.protosimLauncher,
        ...(this.opts.io ? { io: this.opts.io } : {}),
      });
      this.sessions.set(name, s);
      this.watch(s);
      fresh.push(s);
    }
    for (const s of fresh) this.newShadow(s.name);
    for (const s of fresh) this.push({ k: 'start', t: this.nowMs(), node: s.name, role: 'client', state: 'started', fresh: true });
    await Promise.all(fresh.map((s) => s.start()));
  }

  /** `expect:` on one program or the first of several: a line of a kind, its absence, or an exit. */
  private async expectStep(step: ClientStepFile): Promise<void> {
    let expectMs = (step.withinMs ?? this.suite.spec.expectTimeoutMs) + (step.afterLease === true ? this.leaseWaitMs() : 0);
    if (this.server?.silent === true && step.absent !== true) expectMs = this.server.silentWaitMs(expectMs, this.adapterLeaseMs(), this.remainingMs());
    const notShown = step.kind !== undefined && this.opts.adapter.spec.notShown.includes(step.kind);
    if (Array.isArray(step.expect)) {
      if (!notShown) return this.expectAny(step.expect, step, expectMs);
      const sessions = step.expect.map((n) => this.session(n));
      await Promise.all(sessions.map((s) => this.settle(s, step.kind!)));
      if (step.as !== undefined) this.aliases.set(step.as, sessions[0]!.name);
      if (step.otherAs !== undefined) this.aliases.set(step.otherAs, sessions[1]!.name);
      return;
    }
    const s = this.session(step.expect!);
    if (step.exit === true) {
      const exit = await Promise.race([s.process.waitForExit(), sleep(expectMs).then(() => undefined)]);
      if (exit === undefined) throw stepVerdict('FAIL', `expected ${s.name} to exit within ${expectMs} ms; it is still ${s.status()}`, 'the program exits', s.status());
      return;
    }
    const kind = step.kind!;
    if (notShown) {
      // A line the program never prints: there is none to wait for, and none can be shown.
      if (step.absent !== true) await this.settle(s, kind);
      return;
    }
    await this.needPattern(kind, expectMs, step.absent === true);
    const want = wantedLine(step);
    if (step.absent === true) {
      const r = await s.waitFor(kind, expectMs, { ...lineMatch(step), keepCursor: true });
      if (r.ok) throw stepVerdict('FAIL', `expected no ${kind === 'message' ? 'message' : `${kind} line`} on ${s.name} for ${expectMs} ms, got ${JSON.stringify(r.segment.text)}`, `no ${want}`, r.segment.text);
      return;
    }
    const r = await s.waitFor(kind, expectMs, lineMatch(step));
    // orExit: the program ending instead is one of the right outcomes
    if (r.ok || (step.orExit === true && r.reason === 'exited')) return;
    const shown = s.messages(s.cursor).map(shownMessage);
    const detail = r.reason === 'exited' ? `${s.name} ended (${s.status()})` : `none within ${expectMs} ms`;
    const observed = kind === 'message' && shown.length > 0 ? `messages shown: ${shown.join(', ')}` : detail;
    throw stepVerdict('FAIL', `expected ${s.name} to show ${want}; ${detail}`, want, observed);
  }

  /** `kill: c1`, with `after`: right after the IM server applied that request, before its reply. */
  private async killClient(step: ClientStepFile): Promise<void> {
    const s = this.session(step.kill!);
    const after = step.after;
    if (after !== undefined) {
      const im = this.im!;
      const held = new Promise<ImRequestRecord | undefined>((resolveHeld) => {
        const off = im.onRequest((record, phase) => {
          if (phase === 'held' && record.client === s.name && (after.value === undefined || record.value === after.value)) {
            off();
            clearTimeout(timer);
            resolveHeld(record);
          }
        });
        const timer = setTimeout(() => {
          off();
          resolveHeld(undefined);
        }, killAfterTimeoutMs);
      });
      im.addFault({ kind: 'hold', client: s.name, action: after.action, ...(after.key !== undefined ? { key: after.key } : {}), count: 1 });
      if ((await held) === undefined) {
        const wanted = describeImRequest({ action: after.action, ...(after.key !== undefined ? { key: after.key } : {}), ...(after.value !== undefined ? { value: after.value } : {}) });
        throw stepVerdict('FAIL', `${s.name} never made the request ${wanted} it was to be killed after (within ${killAfterTimeoutMs} ms)`, wanted, 'no such request');
      }
    }
    this.push({ k: 'fault', t: this.nowMs(), fault: { kind: 'crash', atMs: this.nowMs(), node: s.name, mode: 'reset' } });
    await s.kill();
  }

  /** `fault:` on protosim's IM server, for matching requests. */
  private imFault(step: ClientStepFile): void {
    const filter = { ...(step.client !== undefined ? { client: step.client } : {}), ...(step.action !== undefined ? { action: step.action } : {}), ...(step.key !== undefined ? { key: step.key } : {}), ...(step.count !== undefined ? { count: step.count } : {}) };
    const im = this.im!;
    if (step.fault === 'clear') im.clearFaults();
    else if (step.fault === 'slow') im.addFault({ kind: 'slow', ms: step.ms!, ...filter });
    else im.addFault({ kind: step.fault as 'reset' | 'http-500', ...filter });
  }

  /** Output lines become `print` trace events; an exit nobody asked for becomes a crash. */
  private watch(s: ClientSession): void {
    let seen = 0;
    s.process.onSegment(() => {
      for (; seen < s.events.length; seen++) {
        const e = s.events[seen]!;
        this.push({ k: 'print', t: this.nowMs(), node: s.name, kind: printKindOf[e.kind], text: e.kind === 'message' ? (e.text ?? e.line) : e.line });
      }
    });
  }

  protected async teardown(): Promise<void> {
    await Promise.all([...this.sessions.values()].map((s) => s.stop().catch(() => undefined)));
    await this.im?.close();
    await this.server?.process.stop().catch(() => undefined);
    await this.links?.close();
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
