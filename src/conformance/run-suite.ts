/**
 * Runs a conformance suite against a live target: each case's steps in order, a verdict per case.
 *
 *  - PASS: every step held.
 *  - FAIL: the target did something else; the result names the step, what was expected and what
 *    arrived.
 *  - ERROR: nothing to judge: a timeout (never a pass), the target crashed (with the tails of its
 *    stdout and stderr; a command target is restarted for the next case), it could not be reached
 *    or started, or the case itself cannot run.
 *  - SKIP: the case needs what this target cannot do (a process fault on an address target).
 *
 * Indefinite outcomes are not failures: `maybe: true` and `$oneOf` accept either outcome of a
 * message that may or may not have been processed, and the kv model keeps both branches of a
 * request that got no reply under a fault.
 */
import type { CaseResult, SuiteReport } from '../report/case-result.js';
import { makeSuiteReport } from '../report/case-result.js';
import type { KvRequest } from '../models/kv-store/messages.js';
import type { Suite } from '../scenario/load-suite.js';
import { linkFaultKinds, type CaseFile, type StepFile } from '../scenario/suite-schema.js';
import { InputError, TargetError } from '../errors.js';
import { describeStepFields, selectCases as selectSuiteCases } from '../scenario/step-language.js';
import { LiveCase } from './engine/live-case.js';
import { StepError, StepFailure, StepSkip, targetTrouble, type CaseOutcome, type ErrorKind } from './engine/verdicts.js';
import { FaultProxy, type ProxyDirection } from './fault-proxy.js';
import { kvQuery, kvRequest, type KvOutcome, type KvWireReply } from './im-http-client.js';
import { isModelRequest, KvHistory, KvStoreOracle } from './kv-store-oracle.js';
import { OracleLimitError, ServerModelOracle } from './server-model-oracle.js';
import { isStrict, serverMappingFor } from './server-mapping-for.js';
import { liveProtocolNamed } from '../models/registry.js';
import { EncodeError, liveCodecFor, preview, quicObjectCodec, type LiveCodec } from './live-codec.js';
import { ConnectError, defaultConnectionLimits, LiveConnection, QuicLiveConnection, type Arrival, type ConnectionLimits, type HarnessConnection } from './live-connection.js';
import { UdpFaultProxy } from './proxy/udp-proxy.js';
import { readFileSync } from 'node:fs';
import { resolveTarget, type LiveTargetOverrides, type ResolvedTarget } from './live-target.js';
import { connect } from 'node:net';
import { describeExit, ManagedProcess, portListening, type ExitInfo } from './managed-process.js';
import { describePattern, fillTemplate, matchPattern, PatternError, show, type Captures } from './message-pattern.js';

export interface RunSuiteOptions extends LiveTargetOverrides {
  /** run only these case ids */
  caseIds?: readonly string[];
  /** run only cases with one of these tags */
  tags?: readonly string[];
  /** `--var name=value` over the suite's vars */
  vars?: Readonly<Record<string, string | number>>;
  /** working directory for a command target */
  cwd?: string;
  limits?: Partial<ConnectionLimits>;
  /** each case's result as soon as it has one (progress) */
  onCase?: (result: CaseResult) => void;
  /** overall bound of one case when it sets none */
  caseTimeoutMs?: number;
  /**
   * The `{run}` token of a case (names unique to it); default: random per run of a case. Grading
   * gives one derived from the case id, so grading the same submission twice gives the same reasons.
   */
  runToken?: (caseId: string) => string;
}

export interface SuiteRun {
  report: SuiteReport;
  /** no case got to talk to the target at all (exit 3) */
  unreachable: boolean;
}

/** How long a case may run when it sets no timeoutMs. */
export const defaultCaseTimeoutMs = 30_000;
/** Raw framing: a gap between two writes on one connection so the seed's reads keep them apart. */
export const rawWriteGapMs = 30;
/** After `expect: model`, how long each client must stay quiet (nothing the model did not send). */
export const modelQuietMs = 50;
/**
 * How long `expect: model` gives the server to read requests that get no reply (a registration)
 * before it takes them as read: under load, 50 ms of quiet was not enough, and a message sent next
 * overtook a registration on another connection (a false FAIL of re/route).
 */
export const modelSettleMs = 300;
/**
 * The least time a QUIC connection is given to be made: a TLS handshake costs more than a TCP
 * connect, and a loaded machine took over a second for it (an unreachable ERROR, not the target's).
 */
export const quicConnectTimeoutMsMin = 5000;
/** How long teardown waits for the target to close a connection after the harness's FIN. */
export const teardownCloseMs = 300;
/** A command that failed to start this many times in a row is not tried again in this run. */
export const maxStartAttempts = 2;

/** Selects cases by id and tag; an unknown id is an input error naming the valid ones. */
export function selectCases(suite: Suite, caseIds: readonly string[] = [], tags: readonly string[] = []): CaseFile[] {
  return selectSuiteCases(suite.spec.cases, suite.file, caseIds, tags, isStrict(suite.spec.vars ?? {}));
}

export async function runSuite(suite: Suite, options: RunSuiteOptions = {}): Promise<SuiteRun> {
  const target = resolveTarget(suite, options, options.cwd ?? process.cwd());
  const protocol = suite.spec.protocol;
  const http = liveProtocolNamed(protocol)?.transport === 'http';
  const lineCodec = http ? null : liveCodecFor(protocol, target.codec, target.framing);
  if (!http && lineCodec === null) throw new InputError(`${protocol} has no codec ${target.codec}`);
  const codec = lineCodec !== null && target.transport === 'quic' ? quicObjectCodec(lineCodec) : lineCodec;
  const vars: Record<string, string | number> = { ...(suite.spec.vars ?? {}), ...(options.vars ?? {}) };
  const cases = selectSuiteCases(suite.spec.cases, suite.file, options.caseIds, options.tags, isStrict(vars));
  const limits: ConnectionLimits = { ...defaultConnectionLimits, ...options.limits };
  const managed = target.command !== undefined ? new ManagedProcess(target.command) : undefined;
  const started = performance.now();
  const results: CaseResult[] = [];
  const kinds: (ErrorKind | null)[] = [];
  let startFailures = 0;
  let lastAddress: string | undefined;
  let startFailure: string | undefined;
  /** an address target found unreachable: since which case, and why */
  let unreachableSince: { caseId: string; reason: string } | undefined;
  /** the exit of the target already charged to a case */
  let chargedExit: ExitInfo | undefined;
  /**
   * A case's result is handed on when the next case starts (or the run ends), afterCaseSettleMs
   * later: a target that dies after the case's clients left is charged to that case ("after case
   * X ended"), not the next.
   */
  let held: number | undefined;
  const release = (): void => {
    if (held !== undefined) options.onCase?.(results[held]!);
    held = undefined;
  };
  const chargeLateCrash = (): void => {
    const exit = managed?.exit;
    if (held === undefined || managed === undefined || exit === undefined || exit.expected || exit === chargedExit) return;
    chargedExit = exit;
    const r = results[held]!;
    const what = `the target crashed after case ${r.id} ended (${describeExit(exit)})`;
    results[held] =
      r.verdict === 'PASS' || r.verdict === 'SKIP'
        ? { ...r, verdict: 'ERROR', points: 0, reason: what, step: `after case ${r.id} ended`, observed: managed.tails() }
        : { ...r, reason: `${r.reason}; then ${what}` };
    if (r.verdict === 'PASS' || r.verdict === 'SKIP') kinds[held] = 'crash';
  };
  const record = (result: CaseResult, kind: ErrorKind | null): void => {
    chargeLateCrash();
    release();
    results.push(result);
    kinds.push(kind);
    held = results.length - 1;
  };
  try {
    for (const c of cases) {
      const caseStarted = performance.now();
      // A target that died between cases is charged to the case before.
      if (managed !== undefined && held !== undefined) {
        await sleep(afterCaseSettleMs);
        chargeLateCrash();
      }
      // Against a command target the case before is handed on once this one has heard from the
      // target (it survived the case before), or at this one's end.
      if (managed === undefined) release();
      let result: CaseResult;
      let kind: ErrorKind | null = null;
      let address: string | undefined = target.address?.text;
      if (managed === undefined && unreachableSince !== undefined) {
        // Still unreachable? Then the case is not tried; reachable again, it runs.
        const problem = await addressProblem(target.address!.host, target.address!.port, target.transport);
        if (problem !== null) {
          record(errorResult(c, `not run: the target is unreachable since case ${unreachableSince.caseId} (${unreachableSince.reason}); still ${problem}`, caseStarted), 'unreachable');
          continue;
        }
        unreachableSince = undefined;
      }
      if (managed !== undefined && !managed.running) {
        if (startFailures >= maxStartAttempts) {
          record(errorResult(c, `not run: the target could not be started (${startFailures} attempts): ${startFailure}`, caseStarted), 'start');
          continue;
        }
        try {
          address = await managed.start();
          startFailures = 0;
        } catch (error) {
          if (!(error instanceof TargetError)) throw error;
          startFailures++;
          startFailure = error.message.split('\n')[0];
          record({ ...errorResult(c, `the target could not be started: ${error.message.split('\n')[0]}`, caseStarted), observed: error.message }, 'start');
          continue;
        }
      } else if (managed !== undefined) address = managed.address;
      lastAddress = address;
      const caseVars = options.runToken !== undefined ? { run: options.runToken(c.id), ...vars } : vars;
      let run = new CaseRun(suite, c, target, codec, caseVars, limits, managed, address!, release);
      // A case that never hears from its target (a server that hangs) must not hold the case
      // before for ever: past maxHeldResultMs it is handed on (a crash later than that is this case's).
      const holdTimer = held === undefined ? undefined : setTimeout(() => {
        chargeLateCrash();
        release();
      }, maxHeldResultMs);
      try {
        ({ result, kind } = await run.execute(options.caseTimeoutMs ?? defaultCaseTimeoutMs));
      } finally {
        if (holdTimer !== undefined) clearTimeout(holdTimer);
      }
      // A target that crashed before this case got anything from it died of the case before (its
      // exit came late): charged to that case, and this one runs again on a fresh start.
      if (managed !== undefined && kind === 'crash' && !run.heardFromTarget && held !== undefined && managed.exit !== undefined && managed.exit !== chargedExit) {
        chargeLateCrash();
        release();
        try {
          address = await managed.start();
          lastAddress = address;
          run = new CaseRun(suite, c, target, codec, caseVars, limits, managed, address, release);
          ({ result, kind } = await run.execute(options.caseTimeoutMs ?? defaultCaseTimeoutMs));
        } catch (error) {
          if (!(error instanceof TargetError)) throw error;
          startFailures++;
          startFailure = error.message.split('\n')[0];
          result = { ...errorResult(c, `the target could not be started: ${startFailure}`, caseStarted), observed: error.message };
          kind = 'start';
        }
      }
      if (managed?.exit !== undefined && kind === 'crash') chargedExit = managed.exit;
      if (managed === undefined && kind === 'unreachable' && unreachableSince === undefined) unreachableSince = { caseId: c.id, reason: result.reason.replace(/^the target is unreachable: /, '') };
      record(result, kind);
    }
    if (managed !== undefined && held !== undefined) {
      await sleep(afterCaseSettleMs);
      chargeLateCrash();
    }
    release();
  } finally {
    release();
    await managed?.stop();
  }
  // A started command is named by where it listened, and how it was started.
  const shownTarget =
    managed !== undefined && lastAddress !== undefined
      ? `${lastAddress} (started: ${target.command!.command.map((a) => (a === '{protosim}' ? 'protosim' : a.replaceAll('{port}', String(new URL(lastAddress).port)))).join(' ')}; ${managed.isolation})`
      : target.description;
  const report = makeSuiteReport(shownTarget, results, Math.round(performance.now() - started), suite.spec.suite);
  // Exit 3 when the target could not be started or reached, unless a required case failed (a
  // verdict on the target, exit 1) or every required case passed (exit 0).
  return { report, unreachable: targetTrouble(results, kinds, report.ok) };
}

/** How long the harness waits after a case before the next, so a target dying of the case's end is charged to it. */
export const afterCaseSettleMs = 50;
/** The longest a case's result waits for the next case to hear from the target (see `held`). */
export const maxHeldResultMs = 500;

/** Null when something listens at host:port (seen in /proc/net/tcp, or by connecting); else what is wrong. */
async function addressProblem(host: string, port: number, transport: 'tcp' | 'quic' = 'tcp'): Promise<string | null> {
  if (transport === 'quic') {
    const bound = udpPortBound(port);
    return bound === false ? `nothing is bound to UDP port ${port}` : null;
  }
  if (host === '127.0.0.1' || host === 'localhost' || host === '::1') {
    const seen = portListening(port);
    if (seen === true) return null;
    if (seen === false) return `nothing listens on port ${port}`;
  }
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(`no connection within 1000 ms`);
    }, 1000);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(null);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(`connect ${error.code ?? error.message}`);
    });
  });
}

/** Whether a UDP socket is bound to `port` (/proc/net/udp and udp6); undefined when they cannot be read. */
function udpPortBound(port: number): boolean | undefined {
  let readable = false;
  for (const file of ['/proc/net/udp', '/proc/net/udp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    readable = true;
    for (const line of text.split('\n').slice(1)) {
      const local = line.trim().split(/\s+/)[1];
      if (local !== undefined && parseInt(local.slice(local.lastIndexOf(':') + 1), 16) === port) return true;
    }
  }
  return readable ? false : undefined;
}

/**
 * Why a link fault is skipped over QUIC. The UDP proxy sees encrypted datagrams, not messages, and
 * QUIC recovers whatever happens to a datagram (sent again, put back in order, a copy discarded):
 * faults that change which messages arrive have no QUIC link equivalent.
 */
const quicSkips: Readonly<Record<string, string>> = {
  drop: 'a message cannot be lost on a QUIC link: the UDP proxy drops datagrams and QUIC sends them again (a message is lost only with its stream reset); the case needs a link that loses messages',
  duplicate: 'a message cannot be duplicated on a QUIC link: QUIC discards a duplicated datagram; the case needs a link that duplicates messages',
  reorder: 'the UDP proxy reorders datagrams, which QUIC puts back in order; messages on different streams have no order to swap',
  hold: 'the UDP proxy cannot tell one message from another in encrypted datagrams; holding one message needs a TCP link',
  release: 'the UDP proxy cannot tell one message from another in encrypted datagrams; holding one message needs a TCP link',
  delay: 'the UDP proxy cannot tell one message from another in encrypted datagrams; use fault: latency to delay the whole link',
  merge: 'over QUIC several messages go in one stream write with msgs: in a send step; the UDP proxy cannot merge encrypted datagrams',
  reset: 'a QUIC connection cannot be reset from outside (its packets are authenticated); disconnect: mode: reset makes the client vanish instead',
  cut: 'a QUIC connection cannot be cut after N bytes from outside (its packets are authenticated and counted in datagrams)',
  'slow-close': 'slow close is a TCP notion (FIN after a delay); a QUIC connection closes with one CONNECTION_CLOSE',
  bandwidth: 'the UDP proxy does not pace datagrams (a bandwidth limit needs a TCP link)',
};

function errorResult(c: CaseFile, reason: string, startedMs: number): CaseResult {
  return { id: c.id, title: c.title, level: c.level, points: 0, maxPoints: c.points, verdict: 'ERROR', reason, durationMs: Math.round(performance.now() - startedMs) };
}

/** A harness client: a stream connection, or kv requests in flight. */
interface ClientState {
  name: string;
  connection?: HarnessConnection;
  lastWriteMs: number;
  store?: string;
  /** the case disconnected it itself */
  left?: boolean;
  /** kv: requests sent and not yet checked, oldest first */
  pending: { request: unknown; outcome: Promise<KvOutcome>; handle?: number }[];
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** One case's run: its clients, proxies, captures and the kv model. */
class CaseRun extends LiveCase<StepFile> {
  private readonly clients = new Map<string, ClientState>();
  private readonly proxies = new Map<string, FaultProxy>();
  /** QUIC targets: each faulted client's UDP proxy */
  private readonly udpProxies = new Map<string, UdpFaultProxy>();
  /** QUIC targets: messages split across stream writes (fault: split), per client */
  private readonly quicSplits = new Map<string, { parts: number; remaining: number }>();
  private readonly captures: Captures = new Map();
  /** the key-value requests and replies of the case, as the kv-store oracle takes them */
  private readonly kvHistory = new KvHistory(new KvStoreOracle());
  /** the server model stepped alongside a stream protocol's cases, where there is one */
  private readonly streamOracle: ServerModelOracle | undefined;
  /** clients whose closed connection has been seen (by a step or the model check) */
  private readonly closedSeen = new Set<string>();
  /** clients whose link has a fault that may lose what they send */
  private readonly lossy = new Set<string>();
  private readonly vars: Record<string, string | number>;
  private crash: ExitInfo | undefined;
  /** a direct connection the target accepted, or a kv reply */
  private reachedTarget = false;
  /** a kv reply arrived */
  private replied = false;
  private host: string;
  private port: number;
  private readonly path: string;
  private readonly replyTimeoutMs: number;

  constructor(
    private readonly suite: Suite,
    private readonly c: CaseFile,
    private readonly target: ResolvedTarget,
    private readonly codec: LiveCodec | null,
    vars: Record<string, string | number>,
    private readonly limits: ConnectionLimits,
    private readonly process: ManagedProcess | undefined,
    address: string,
    /** called once something arrived from the target in this case */
    private readonly onHeard: () => void = () => undefined,
  ) {
    super(c);
    // A token unique to this run of this case, so names on a long-lived target never collide.
    this.vars = { run: Math.random().toString(36).slice(2, 8), ...vars };
    const parsed = new URL(address);
    this.host = parsed.hostname.replace(/^\[|\]$/g, '');
    this.port = Number(parsed.port);
    this.path = target.address?.path ?? '/';
    this.replyTimeoutMs = target.replyTimeoutMs;
    const mapping = serverMappingFor(suite.spec.protocol, this.vars);
    const caseStarted = performance.now();
    // deferText: after an exchange, a message the model does not send at all is judged before any
    // text that differs (a text mismatch on one reply must not hide a second reply or a push)
    this.streamOracle = mapping === undefined ? undefined : new ServerModelOracle(mapping, () => performance.now() - caseStarted, undefined, undefined, { deferText: true });
  }

  async execute(caseTimeoutMs: number): Promise<{ result: CaseResult; kind: ErrorKind | null }> {
    if (this.process !== undefined) this.process.onUnexpectedExit = (info) => (this.crash = info);
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
      if (!p.running && p.exit !== undefined && !p.exit.expected) this.crash = p.exit;
      if (this.crash !== undefined) {
        outcome = finish('ERROR', `the target crashed when the case's clients disconnected (${describeExit(this.crash)})`, { step: 'after the last step (the clients disconnected)', observed: this.process!.tails() }, 'crash');
      }
    }
    // No case passes without an exchange with the target; one that met nothing there says why.
    const judged = outcome.result.verdict === 'PASS' || outcome.result.verdict === 'FAIL' || outcome.kind === 'timeout';
    if (judged && this.crash === undefined && !this.exchanged()) {
      const problem = await addressProblem(this.host, this.port, this.target.transport);
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
    if (this.replied) return true;
    for (const c of this.clients.values()) if ((c.connection?.bytesReceived ?? 0) > 0) return true;
    return false;
  }

  private exchanged(): boolean {
    if (this.reachedTarget) return true;
    for (const proxy of this.proxies.values()) if (proxy.upstreamConnected > 0) return true;
    for (const proxy of this.udpProxies.values()) if (proxy.upstreamConnected > 0) return true;
    for (const c of this.clients.values()) if ((c.connection?.bytesReceived ?? 0) > 0) return true;
    return false;
  }

  /** Gives the exit event of a target that just died a moment to arrive, so a crash is not taken for a failure. */
  private async checkCrashQuietly(): Promise<void> {
    if (this.process !== undefined && this.crash === undefined && this.process.running) await sleep(150);
    if (this.process !== undefined && !this.process.running && this.process.exit !== undefined && !this.process.exit.expected) this.crash = this.process.exit;
  }

  private async checkCrash(): Promise<void> {
    const p = this.process;
    if (p !== undefined && this.crash === undefined && !p.running && p.exit !== undefined && !p.exit.expected) this.crash = p.exit;
    if (this.crash !== undefined) throw new StepError('crash', 'crashed');
  }

  private async setupProxies(): Promise<void> {
    const names = new Set<string>();
    for (const s of this.c.steps) if (s.fault !== undefined && s.client !== undefined && (linkFaultKinds as readonly string[]).includes(s.fault)) names.add(s.client);
    for (const name of names) {
      if (this.target.transport === 'quic') {
        this.udpProxies.set(name, await UdpFaultProxy.start({ targetHost: this.host, targetPort: this.port }));
        continue;
      }
      const codec = this.codec;
      const proxy = await FaultProxy.start({
        targetHost: this.host,
        targetPort: this.port,
        splitter: codec === null ? undefined : (direction) => codec.splitter(direction, this.limits.maxFrameBytes),
      });
      this.proxies.set(name, proxy);
    }
  }

  protected async teardown(): Promise<void> {
    // Close every client and give the target a moment to see it (it ends sessions on close), so
    // the next case does not meet this one's sessions.
    const open = [...this.clients.values()].map((c) => c.connection).filter((c): c is HarnessConnection => c !== undefined && !c.isClosed);
    // QUIC has no half-close of a connection: CONNECTION_CLOSE, which the target sees at once.
    for (const connection of open) connection.disconnect(this.target.transport === 'quic' ? 'close' : 'half-close');
    await Promise.all(open.map((c) => c.closedWithin(teardownCloseMs)));
    for (const connection of open) connection.disconnect('reset');
    await Promise.all([...this.proxies.values(), ...this.udpProxies.values()].map((p) => p.close()));
    if (this.process?.paused) this.process.resume();
    if (this.process !== undefined) this.process.onUnexpectedExit = undefined;
  }

  protected override async afterStep(): Promise<void> {
    if (this.crash === undefined && this.heardFromTarget) this.onHeard();
    if (this.crash !== undefined) throw new StepError('crash', 'crashed');
  }

  protected override async beforePass(): Promise<void> {
    await this.checkCrash();
  }

  protected override async refine(outcome: CaseOutcome | null, error: unknown): Promise<CaseOutcome | null> {
    await this.checkCrashQuietly();
    const step = outcome?.step ?? (this.stepIndex >= 0 ? this.describeStepAt(this.stepIndex) : undefined);
    const at = step !== undefined ? { step } : {};
    if (this.crash !== undefined) return { verdict: 'ERROR', reason: `the target crashed during ${step ?? 'the case'} (${describeExit(this.crash)})`, kind: 'crash', ...at, observed: this.process!.tails() };
    if (outcome !== null) return outcome;
    if (error instanceof OracleLimitError) return { verdict: 'ERROR', reason: `the model oracle cannot judge the case: ${error.message}`, kind: 'suite', ...at };
    if (error instanceof EncodeError || error instanceof PatternError) return { verdict: 'ERROR', reason: `the case cannot run: ${error.message}`, kind: 'suite', ...at };
    return null;
  }

  protected describeStepAt(i: number): string {
    return describeStepFields(this.c.steps[i]!, i);
  }

  protected runStep(s: StepFile): Promise<void> {
    return this.step(s);
  }

  protected override setup(): Promise<void> {
    return this.setupProxies();
  }

  private ms(value: number | string | undefined, fallback: number): number {
    if (value === undefined) return fallback;
    if (typeof value === 'number') return value;
    const v = this.vars[value.slice(1)];
    if (typeof v !== 'number') throw new PatternError(`${value} is not a numeric suite variable`);
    return v;
  }

  private client(name: string): ClientState {
    const c = this.clients.get(name);
    if (c === undefined) throw new PatternError(`client ${name} has not connected`);
    return c;
  }

  /** Host and port a client talks to: its proxy when it has faults, else the target. */
  private endpoint(name: string): { host: string; port: number } {
    const proxy = this.proxies.get(name) ?? this.udpProxies.get(name);
    return proxy !== undefined ? { host: proxy.host, port: proxy.port } : { host: this.host, port: this.port };
  }

  private async step(s: StepFile): Promise<void> {
    if (s.connect !== undefined) {
      for (const name of typeof s.connect === 'string' ? [s.connect] : s.connect) await this.connect(name, s.store);
    } else if (s.send !== undefined) await this.send(s.send, s);
    else if (s.expect === 'model') await (this.codec === null ? this.expectModel() : this.expectStreamModel(this.ms(s.withinMs, this.replyTimeoutMs)));
    else if (s.expect !== undefined) await this.expect(s.expect, s);
    else if (s.disconnect !== undefined) {
      const c = this.client(s.disconnect);
      c.connection?.disconnect(s.mode ?? 'close');
      if (!this.closedSeen.has(c.name)) this.streamOracle?.disconnect(c.name, s.mode === 'reset' ? 'reset' : 'closed');
      c.left = true;
    } else if (s.fault !== undefined) await this.fault(s);
    else if (s.wait !== undefined) await sleep(this.ms(s.wait, 0));
  }

  private async connect(name: string, store: string | undefined): Promise<void> {
    const state: ClientState = { name, lastWriteMs: 0, pending: [], store: store === undefined ? undefined : fillTemplate(store, this.captures, this.vars) as string };
    if (this.codec !== null) {
      const { host, port } = this.endpoint(name);
      const previous = this.clients.get(name)?.connection;
      if (previous !== undefined) {
        if (!previous.isClosed) previous.disconnect('close');
        if (!this.closedSeen.has(name) && this.clients.get(name)?.left !== true) this.streamOracle?.disconnect(name, 'closed');
      }
      this.closedSeen.delete(name);
      this.lossy.delete(name);
      try {
        state.connection =
          this.target.transport === 'quic'
            ? await QuicLiveConnection.open(name, host, port, this.target.quic ?? {}, this.limits, Math.max(this.replyTimeoutMs, quicConnectTimeoutMsMin))
            : await LiveConnection.open(name, host, port, this.codec, this.limits, this.replyTimeoutMs);
        if (!this.faulted(name)) this.reachedTarget = true;
      } catch (error) {
        if (!(error instanceof ConnectError)) throw error;
        await this.checkCrashQuietly();
        throw new StepError('unreachable', `the target is unreachable: ${error.message}`);
      }
    }
    this.clients.set(name, state);
  }

  private async send(name: string, s: StepFile): Promise<void> {
    const c = this.client(name);
    if (this.codec === null) {
      const msgs = s.msgs ?? [s.msg];
      for (const m of msgs) {
        const request = fillTemplate(m, this.captures, this.vars);
        const query = kvQuery(request, c.store);
        const { host, port } = this.endpoint(name);
        const handle = isModelRequest(request) ? this.kvHistory.send(name, c.store ?? '', request) : undefined;
        const outcome = kvRequest(host, port, this.path, query, this.replyTimeoutMs);
        void outcome.then((o) => {
          if (o.kind === 'reply') this.reachedTarget = this.replied = true;
          if (handle !== undefined) this.kvHistory.arrived(handle, o.kind === 'reply' ? o.reply : undefined);
        });
        c.pending.push({ request, outcome, ...(handle !== undefined ? { handle } : {}) });
      }
      return;
    }
    const conn = c.connection!;
    let bytes: Buffer;
    if (s.raw !== undefined) {
      const unit = s.raw.hex !== undefined ? Buffer.from(s.raw.hex.replace(/\s+/g, ''), 'hex') : Buffer.from(fillTemplate(s.raw.text ?? '', this.captures, this.vars) as string);
      bytes = Buffer.alloc(unit.length * (s.raw.repeat ?? 1));
      for (let i = 0; i < (s.raw.repeat ?? 1); i++) unit.copy(bytes, i * unit.length);
      this.streamOracle?.sendUnreadable(name);
    } else {
      const msgs = (s.msgs ?? [s.msg]).map((m) => fillTemplate(m, this.captures, this.vars));
      // Several messages go out in one write: back to back, as a hostile or hasty client sends them.
      bytes = Buffer.concat(msgs.map((m) => this.codec!.encode(m)));
      for (const m of msgs) this.streamOracle?.send(name, m, this.lossy.has(name));
    }
    if (this.codec.oneInFlight) {
      const gap = c.lastWriteMs + rawWriteGapMs - performance.now();
      if (gap > 0) await sleep(gap);
    }
    try {
      await conn.write(bytes, this.quicSplit(name));
    } catch (error) {
      await this.checkCrashQuietly();
      throw new StepFailure(`could not write to the target: ${(error as Error).message}`, 'an open connection', 'the connection was closed');
    }
    c.lastWriteMs = performance.now();
  }

  private faulted(name: string): boolean {
    return this.proxies.has(name) || this.udpProxies.has(name);
  }

  /** QUIC: how the next write of `name` goes out, counting it against its split fault. */
  private quicSplit(name: string): { parts?: number } {
    const split = this.quicSplits.get(name);
    if (split === undefined) return {};
    if (--split.remaining <= 0) this.quicSplits.delete(name);
    return { parts: split.parts };
  }

  /**
   * A link fault on a QUIC target: latency, jitter, partition, heal and timeout on the client's UDP
   * proxy (datagrams); split on the client's own stream writes (one message across writes); the
   * rest SKIP, saying why (quicSkips).
   */
  private quicFault(s: StepFile): void {
    const kind = s.fault!;
    const name = s.client!;
    const proxy = this.udpProxies.get(name)!;
    switch (kind) {
      case 'latency':
        return proxy.set({ latencyMs: this.ms(s.ms, 0) });
      case 'jitter':
        return proxy.set({ jitterMs: this.ms(s.ms, 0) });
      case 'partition':
      case 'timeout':
        this.lossy.add(name);
        return proxy.set(kind === 'partition' ? { partitioned: true } : { blackhole: true });
      case 'heal':
        this.lossy.delete(name);
        return proxy.heal();
      case 'clear':
        this.quicSplits.delete(name);
        return proxy.clearMessageOps();
      case 'split':
        if (s.direction === 'from-target' || s.direction === 'both') throw new StepSkip(`fault split ${s.direction}: over QUIC the target's stream writes are its own; the harness can split only what it sends (direction: to-target)`);
        this.quicSplits.set(name, { parts: Math.max(2, s.parts ?? 2), remaining: s.count ?? Infinity });
        return;
    }
    throw new StepSkip(`fault ${kind} over QUIC: ${quicSkips[kind] ?? 'no QUIC link equivalent'}`);
  }

  private async expect(name: string, s: StepFile): Promise<void> {
    const c = this.client(name);
    const withinMs = this.ms(s.withinMs, this.replyTimeoutMs);
    if (this.codec === null) return this.expectKv(c, s, withinMs);
    const conn = c.connection!;
    if (s.nothing !== undefined) {
      const ms = this.ms(s.nothing, 0);
      const got = await conn.next(ms);
      if (got.kind === 'timeout') return;
      throw new StepFailure(`expected nothing from the target for ${ms} ms`, 'nothing', this.describeArrival(got));
    }
    const patterns = s.msgs ?? (s.msg !== undefined ? [s.msg] : []);
    if (s.anyOrder === true) {
      const arrivals: unknown[] = [];
      for (let i = 0; i < patterns.length; i++) arrivals.push(await this.nextMessage(conn, patterns, withinMs, s.maybe === true, i));
      this.matchAnyOrder(patterns, arrivals);
      for (const a of arrivals) if (a !== undefined) this.streamOracle?.skip(name, a);
    } else {
      for (let i = 0; i < patterns.length; i++) {
        const msg = await this.nextMessage(conn, patterns, withinMs, s.maybe === true, i);
        if (msg === undefined) return; // maybe: nothing came, which is one of the allowed outcomes
        const outcome = matchPattern(patterns[i], msg, this.captures, this.vars);
        if (!outcome.ok) {
          throw new StepFailure(
            `${name} got a message that does not match${outcome.path ? ` at ${outcome.path}` : ''}: ${outcome.reason}`,
            describePattern(patterns[i], this.vars),
            show(msg),
          );
        }
        for (const [k, v] of outcome.bound) this.captures.set(k, v);
        this.streamOracle?.skip(name, msg);
      }
    }
    if (s.closed === true) {
      const got = await conn.next(withinMs);
      if (got.kind === 'closed') {
        this.sawClosed(name, got.how);
        return;
      }
      if (got.kind === 'timeout') throw new StepError('timeout', `timeout: expected the target to close ${name}'s connection within ${withinMs} ms; it stayed open`, 'the connection closed', 'still open');
      throw new StepFailure(`expected the target to close ${name}'s connection`, 'the connection closed', this.describeArrival(got));
    }
  }

  /** The next message, or a FAIL/ERROR saying what came instead; undefined when `maybe` and nothing came. */
  private async nextMessage(conn: HarnessConnection, patterns: unknown[], withinMs: number, maybe: boolean, index: number): Promise<unknown> {
    const got = await conn.next(withinMs);
    const expected = describePattern(patterns[index], this.vars);
    const which = patterns.length > 1 ? ` (message ${index + 1} of ${patterns.length})` : '';
    switch (got.kind) {
      case 'message':
        return got.msg;
      case 'timeout':
        if (maybe) return undefined;
        throw new StepError('timeout', `timeout: expected a message${which} within ${withinMs} ms; nothing arrived`, expected, 'nothing');
      case 'closed':
        if (maybe && this.faulted(conn.name)) return undefined;
        await this.checkCrashQuietly();
        throw new StepFailure(`the connection closed before the expected message${which} arrived (${got.detail})`, expected, `connection ${got.how === 'reset' ? 'reset' : 'closed'}`);
      case 'invalid':
        throw new StepFailure(`the target sent bytes that are not a message of the protocol${which}: ${got.reason}`, expected, got.reason);
    }
  }

  private matchAnyOrder(patterns: unknown[], arrivals: unknown[]): void {
    // Small lists: try every assignment, keeping captures only from the one that matches.
    const used = new Set<number>();
    const tryFrom = (i: number, captures: Captures): Captures | null => {
      if (i === patterns.length) return captures;
      for (let j = 0; j < arrivals.length; j++) {
        if (used.has(j)) continue;
        const outcome = matchPattern(patterns[i], arrivals[j], captures, this.vars);
        if (!outcome.ok) continue;
        used.add(j);
        const next = new Map(captures);
        for (const [k, v] of outcome.bound) next.set(k, v);
        const done = tryFrom(i + 1, next);
        if (done !== null) return done;
        used.delete(j);
      }
      return null;
    };
    const result = tryFrom(0, new Map(this.captures));
    if (result === null) {
      throw new StepFailure(
        `the ${arrivals.length} messages that arrived do not match the ${patterns.length} expected ones in any order`,
        patterns.map((p) => describePattern(p, this.vars)).join('; '),
        arrivals.map(show).join('; '),
      );
    }
    for (const [k, v] of result) this.captures.set(k, v);
  }

  private describeArrival(got: Arrival): string {
    switch (got.kind) {
      case 'message':
        return show(got.msg);
      case 'invalid':
        return `undecodable: ${got.reason}`;
      case 'closed':
        return `connection ${got.how === 'reset' ? 'reset' : 'closed'} (${got.detail})`;
      case 'timeout':
        return 'nothing';
    }
  }

  /** kv: the reply to c's oldest request must match the pattern; a model request also advances the model. */
  private async expectKv(c: ClientState, s: StepFile, withinMs: number): Promise<void> {
    const next = c.pending.shift();
    if (next === undefined) throw new PatternError(`expect ${c.name}: ${c.name} has no request waiting for a reply (send one first)`);
    const outcome = await next.outcome;
    const reply = await this.kvReplyOrThrow(c.name, next.request, outcome, s.maybe === true, withinMs);
    if (reply === undefined) {
      // indefinite: it may or may not take effect; both stay possible
      if (next.handle !== undefined) this.kvHistory.take(next.handle, 'follow');
      return;
    }
    const pattern = s.msg ?? (s.msgs ? s.msgs[0] : undefined);
    const outcomeMatch = matchPattern(pattern, reply, this.captures, this.vars);
    if (!outcomeMatch.ok) {
      throw new StepFailure(`the reply to ${show(next.request)} does not match${outcomeMatch.path ? ` at ${outcomeMatch.path}` : ''}: ${outcomeMatch.reason}`, describePattern(pattern, this.vars), show(reply));
    }
    for (const [k, v] of outcomeMatch.bound) this.captures.set(k, v);
    // The case judged this reply by its own pattern: the model follows it.
    if (next.handle !== undefined) this.kvHistory.take(next.handle, 'follow');
  }

  private async kvReplyOrThrow(client: string, request: unknown, outcome: KvOutcome, maybe: boolean, withinMs: number): Promise<KvWireReply | undefined> {
    if (outcome.kind === 'reply') return outcome.reply;
    if (this.faulted(client) || maybe) return undefined; // indefinite: the request may or may not have been applied
    await this.checkCrashQuietly();
    if (outcome.timedOut) throw new StepError('timeout', `timeout: no reply to ${show(request)} from ${client} within ${withinMs} ms`, 'a reply', 'nothing');
    if (/ECONNREFUSED/.test(outcome.reason)) throw new StepError('unreachable', `the target is unreachable: ${outcome.reason}`);
    throw new StepFailure(`the request ${show(request)} got no proper reply: ${outcome.reason}`, 'a complete HTTP reply', outcome.reason);
  }

  /**
   * kv: every request in flight, of every client, judged by the kv-store model: each reply must be
   * one the model gives in some order of the requests in flight when it arrived (real time).
   */
  private async expectModel(): Promise<void> {
    const taken: { name: string; handle: number; reply: KvWireReply | undefined }[] = [];
    for (const c of this.clients.values()) {
      for (const p of c.pending.splice(0)) {
        if (p.handle === undefined) throw new PatternError(`expect: model: ${show(p.request)} is not a request of the kv-store model (GET, SET, UNSET, CLEAR, KEYS); check it with expect: ${c.name}, msg:`);
        const outcome = await p.outcome;
        taken.push({ name: c.name, handle: p.handle, reply: await this.kvReplyOrThrow(c.name, p.request, outcome, false, this.replyTimeoutMs) });
      }
    }
    if (taken.length === 0) throw new PatternError('expect: model with no request in flight (send one first)');
    const mismatches = taken.flatMap((t) => this.kvHistory.take(t.handle, 'judge'));
    const first = mismatches[0];
    if (first !== undefined) throw new StepFailure(first.reason, first.expected, first.observed);
  }

  /**
   * The arrivals so far were all the model sends: only the worlds that expect nothing more stay.
   * What the model bound becomes a capture named after the model's value (`$s1`: the wire id of
   * the model's first session), so later steps can use it.
   */
  private commitModel(): void {
    const oracle = this.streamOracle!;
    const textFault = oracle.settle();
    if (textFault !== null) throw new StepFailure(textFault.reason, textFault.expected, textFault.observed);
    oracle.commitSatisfied();
    for (const [modelValue, wire] of Object.entries(oracle.bindings())) {
      if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(modelValue) && !this.captures.has(modelValue)) this.captures.set(modelValue, JSON.parse(wire) as unknown);
    }
  }

  /** A client's connection was seen closed: the model learns it too (once). */
  private sawClosed(name: string, how: 'end' | 'reset'): void {
    if (this.closedSeen.has(name)) return;
    this.closedSeen.add(name);
    const c = this.clients.get(name);
    if (c !== undefined && c.left !== true) this.streamOracle?.disconnect(name, how === 'reset' ? 'reset' : 'closed');
  }

  /**
   * Stream protocols: every client receives what the server model sends it, in order, and nothing
   * more. Arrivals are read as they come and judged against every world the model may be in;
   * the step ends once some world expects nothing more and every client has been quiet for
   * `modelQuietMs`, and times out when the model still expects something after `withinMs`.
   */
  private async expectStreamModel(withinMs: number): Promise<void> {
    const oracle = this.streamOracle!;
    const started = performance.now();
    let lastArrival = started;
    let arrivals = 0;
    for (;;) {
      for (const [name, c] of [...this.clients].sort(([a], [b]) => a.localeCompare(b))) {
        const conn = c.connection;
        if (conn === undefined || c.left === true || this.closedSeen.has(name)) continue;
        for (;;) {
          const got = await conn.next(0);
          if (got.kind === 'timeout') break;
          lastArrival = performance.now();
          arrivals++;
          if (got.kind === 'invalid') throw new StepFailure(`${name} got bytes that are not a message of the protocol: ${got.reason}`, oracle.outstanding(), got.reason);
          if (got.kind === 'closed') {
            this.closedSeen.add(name);
            const failure = oracle.arrival(name, { kind: 'closed' });
            if (failure !== null) {
              await this.checkCrashQuietly();
              throw new StepFailure(failure.reason, failure.expected, `${failure.observed} (${got.detail})`);
            }
            break;
          }
          const failure = oracle.arrival(name, { kind: 'message', msg: got.msg });
          if (failure !== null) throw new StepFailure(failure.reason, failure.expected, failure.observed);
        }
      }
      const now = performance.now();
      // Requests still in flight (no reply: a registration) are taken as read once the server has
      // had modelSettleMs for them; before, a request sent next could still overtake them.
      const inFlight = oracle.inFlightAgeMs();
      if (oracle.satisfied() && now - lastArrival >= modelQuietMs && now - started >= modelQuietMs && (inFlight === null || inFlight >= modelSettleMs)) {
        this.commitModel();
        return;
      }
      if (now - started >= withinMs) {
        if (oracle.satisfied()) {
          this.commitModel();
          return;
        }
        await this.checkCrashQuietly();
        throw new StepError(
          'timeout',
          `timeout: the ${oracle.name} sends ${arrivals === 0 ? 'a message' : 'more'} here; nothing ${arrivals === 0 ? '' : 'more '}arrived within ${withinMs} ms`,
          oracle.outstanding(),
          arrivals === 0 ? 'nothing' : 'nothing more',
        );
      }
      await sleep(5);
    }
  }

  /** `fault: release`: the held messages, oldest first, or in the step's order (indices into what is held). */
  private proxyRelease(proxy: FaultProxy, s: StepFile): void {
    const filter = s.direction !== undefined && s.direction !== 'both' ? { direction: s.direction } : {};
    const held = proxy.held(filter);
    if (held.length === 0) throw new StepFailure(`fault release on ${s.client}'s link: no message is held${s.direction ? ` ${s.direction}` : ''} (did the ${s.direction === 'from-target' ? 'target' : 'client'} send one?)`, 'a held message', 'none');
    if (s.order !== undefined) {
      const bad = s.order.find((i) => i >= held.length);
      if (bad !== undefined) throw new StepFailure(`fault release: order names held message ${bad}, but ${held.length} ${held.length === 1 ? 'is' : 'are'} held`, `at most index ${held.length - 1}`, String(bad));
      proxy.release({ ...filter, order: s.order.map((i) => held[i]!) });
      return;
    }
    proxy.release({ ...filter, ...(s.count !== undefined ? { count: s.count } : {}) });
  }

  private async fault(s: StepFile): Promise<void> {
    const kind = s.fault!;
    if ((kind === 'split' || kind === 'merge') && this.codec?.oneInFlight === true && s.direction !== 'from-target') {
      throw new StepSkip(`fault ${kind} needs messages the target can tell apart in a byte stream; in ${this.codec.name} framing a read is a message (no delimiter), so run the case with a delimited framing (--framing length-delimited)`);
    }
    if ((linkFaultKinds as readonly string[]).includes(kind) && this.target.transport === 'quic') return this.quicFault(s);
    if ((linkFaultKinds as readonly string[]).includes(kind)) {
      const proxy = this.proxies.get(s.client!)!;
      // What the model may no longer take for granted on this link.
      // (held or delayed requests reach the server at a moment the case does not know: the model takes them as maybe read)
      if (kind === 'timeout' || kind === 'partition' || kind === 'cut' || kind === 'drop' || ((kind === 'hold' || kind === 'delay') && s.direction !== 'from-target')) this.lossy.add(s.client!);
      if (kind === 'clear' || kind === 'heal') this.lossy.delete(s.client!);
      if (kind === 'reset') this.sawClosed(s.client!, 'reset');
      const direction: ProxyDirection = s.direction === 'from-target' ? 'from-target' : 'to-target';
      // message operations: one direction, or both; for the next `count` messages, else until cleared
      const both = s.direction ?? 'to-target';
      const scope = s.count !== undefined ? { count: s.count } : {};
      switch (kind) {
        case 'latency':
          return proxy.set({ latencyMs: this.ms(s.ms, 0) });
        case 'jitter':
          return proxy.set({ jitterMs: this.ms(s.ms, 0) });
        case 'bandwidth':
          return proxy.set({ bytesPerSecond: s.bytesPerSecond! });
        case 'slow-close':
          return proxy.set({ slowCloseMs: this.ms(s.ms, 0) });
        case 'timeout':
          return proxy.set({ blackhole: true });
        case 'partition':
          return proxy.set({ partitioned: true });
        case 'heal':
          return proxy.heal();
        case 'reset':
          return proxy.resetAll();
        case 'cut':
          if (s.direction === 'both') {
            proxy.cutAfter('to-target', s.afterBytes!);
            proxy.cutAfter('from-target', s.afterBytes!);
            return;
          }
          return proxy.cutAfter(direction, s.afterBytes!);
        case 'drop':
          return proxy.drop(direction, s.count ?? 1);
        case 'clear':
          return proxy.clear();
        case 'hold':
          return proxy.hold(both, scope);
        case 'release':
          this.proxyRelease(proxy, s);
          return;
        case 'delay':
          return proxy.delay(both, this.ms(s.ms, 0), scope);
        case 'duplicate':
          return proxy.duplicate(both, scope);
        case 'split':
          return proxy.split(both, { ...scope, ...(s.parts !== undefined ? { parts: s.parts } : {}) });
        case 'merge':
          return proxy.merge(both, { ...scope, ...(s.messages !== undefined ? { messages: s.messages } : {}) });
        case 'reorder':
          return proxy.reorder(both, { ...scope, ...(s.messages !== undefined ? { overtakenBy: s.messages } : {}) });
      }
      return;
    }
    const p = this.process;
    if (p === undefined) throw new StepSkip(`fault ${kind} needs a command target that protosim starts; ${this.target.description} is an address`);
    switch (kind) {
      case 'kill':
        return p.kill();
      case 'stop':
        return p.stop();
      case 'pause':
        return p.pauseStopped();
      case 'resume':
        return p.resume();
      case 'restart': {
        let address: string;
        try {
          address = await p.restart();
        } catch (error) {
          if (error instanceof TargetError) throw new StepError('start', `the target did not come back after restart: ${error.message.split('\n')[0]}`, undefined, error.message);
          throw error;
        }
        const parsed = new URL(address);
        this.host = parsed.hostname.replace(/^\[|\]$/g, '');
        this.port = Number(parsed.port);
        for (const proxy of this.proxies.values()) proxy.retarget(this.host, this.port);
        for (const proxy of this.udpProxies.values()) proxy.retarget(this.host, this.port);
        return;
      }
    }
  }
}
