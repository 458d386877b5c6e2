/**
 * A model scenario in live mode: the scenario's client roles are played from their models against
 * a live server (DESIGN: "the harness plays the roles not under test, driven by their models").
 *
 *  - Each client node is its role's xstate machine, stepped with the pure `transition` (as in the
 *    simulator); the workload's lines are typed at its prompts, its `send` effects go through the
 *    live codec to the real server (over TCP, each client through its own fault proxy; or one HTTP
 *    request per operation for the key-value protocols), decoded replies come back as events, and
 *    its timers run on the real clock, scaled by `timeScale` (real ms per model ms).
 *  - Faults strike live at their (scaled) times: a client crash resets its connection (`reset`) or
 *    makes its host vanish (`silent`: the proxy swallows everything, the server is not told); a
 *    partition or a dropped message goes through the proxies; a server crash, pause or restart needs
 *    a command target.
 *  - The server role's `fixed` model runs in shadow as the oracle (server-model-oracle.ts, kv-store-oracle.ts):
 *    a reply that no possible world allows is a finding (`conformance:server-model`) with what
 *    was expected and what came.
 *  - The scenario's invariants, history properties and stall checks are evaluated over the live
 *    run, with the same trace events as a simulated run, so every renderer works on it. The server
 *    node they see (its state, its console lines) is the scenario's own server model (its variant,
 *    e.g. the seed's faithful one) as long as it explains what the live server does, else the
 *    fixed model: a live server with the seed's flaw shows the seed's failure.
 *
 * Live runs are not deterministic; the seed fixes start times, think times and drawn faults.
 */
import type { Effect, GlobalView, ModelVariant, NodeId, NodeStatus, NodeView, Observation, PrintParams, ProtocolMessage } from '../models/types.js';
import type { KvReply, KvRequest } from '../models/kv-store/messages.js';
import type { FaultSpec, SimConfig } from '../sim/config.js';
import type { Finding, NodeDiagnosis } from '../sim/finding.js';
import { Prng } from '../sim/prng.js';
import { RoleRuntime } from '../sim/role-runtime.js';
import { deriveOptions, sample } from '../sim/simulator.js';
import { carryOutEffects, type EffectHost } from '../sim/kernel/effects.js';
import type { EndReason, FindingKind, TraceEvent } from '../sim/trace.js';
import { canonicalJson } from '../sim/canonical-json.js';
import { TargetError } from '../errors.js';
import { replyFromWire, requestToWire, SessionIds } from './client-wire.js';
import { FaultProxy } from './fault-proxy.js';
import { kvQuery, kvRequest, type KvWireReply } from './im-http-client.js';
import { KvStoreOracle } from './kv-store-oracle.js';
import type { LiveCodec } from './live-codec.js';
import { ConnectError, defaultConnectionLimits, LiveConnection } from './live-connection.js';
import { ManagedProcess, type CommandTargetSpec } from './managed-process.js';
import { show } from './message-pattern.js';
import { ServerModelOracle, OracleLimitError, type ServerModelSpec, type ServerNodeState, type WorldHooks } from './server-model-oracle.js';
import { serverMappingFor } from './server-mapping-for.js';

/** When things happen in a live run, in model ms. A replay takes them from the trace. */
export interface LiveSchedule {
  startAtMs: Record<NodeId, number>;
  faults: FaultSpec[];
  /** per node: when each workload line is typed (at the prompt, not before); else think times are drawn */
  inputAtMs?: Record<NodeId, number[]>;
  /** per node: when the person quits */
  quitAtMs?: Record<NodeId, number>;
}

export interface LiveScenarioOptions {
  protocol: string;
  /** the scenario's variant: its clients are played, its server model explains the live server */
  variant: ModelVariant;
  /** the fixed variant, whose server model is the oracle */
  oracleVariant: ModelVariant;
  config: SimConfig;
  seed: number;
  schedule?: LiveSchedule;
  /** a server already running, or a command to start */
  address?: { host: string; port: number; path: string; text: string };
  command?: CommandTargetSpec;
  /** stream protocols: the codec (kv: none) */
  codec: LiveCodec | null;
  /** real ms per model ms (0.05: twenty times faster than the scenario's times) */
  timeScale: number;
  /** how long a request may wait for its reply, real ms */
  replyTimeoutMs: number;
  /** bound on the whole run, real ms */
  maxRunMs: number;
  /** after the schedule is done and nothing moves, how long to watch for more, real ms */
  settleMs?: number;
  stopAtFirstFinding?: boolean;
}

export interface LiveScenarioResult {
  findings: Finding[];
  trace: TraceEvent[];
  endReason: EndReason;
  /** faults that could not be carried out live, and why; other remarks */
  notes: string[];
  /** the server as it was run or reached, for reports */
  target: string;
  /** when the scenario's own server model stopped explaining the live server, where and why */
  unexplained: string | null;
  durationMs: number;
}

/** How often the run checks for stalls and the end, real ms. */
const tickMs = 20;
/** The id of the oracle's finding. */
export const conformanceFindingId = 'conformance:server-model';

interface ClientNode {
  id: NodeId;
  role: string;
  runtime: RoleRuntime;
  input: Record<string, unknown>;
  stateId: number;
  status: NodeStatus;
  timers: Map<string, NodeJS.Timeout>;
  inbox: (() => void)[];
  messages: string[];
  nextMessage: number;
  quitAfter: boolean;
  inputPending: boolean;
  connection?: LiveConnection;
  proxy?: FaultProxy;
  /** increments on every (re)start, so a dead incarnation's events are ignored */
  epoch: number;
  lastSent: NodeDiagnosis['lastSent'];
  lastReceived: NodeDiagnosis['lastReceived'];
  /** kv: requests sent and not yet answered */
  pendingKv: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A property violation found in one world, placed in the trace. */
interface Violation {
  id: string;
  summary: string;
  diagnosis: string | null;
  pos: number;
  timeMs: number;
}

/** What each world follows for the checks: the property monitors and the violations so far. */
interface LaneExt {
  monitors: unknown[];
  violations: Violation[];
}

interface PlacedFinding {
  kind: FindingKind;
  id: string;
  summary: string;
  diagnosis: string | null;
  pos: number;
  timeMs: number;
  step: number;
  nodes: NodeDiagnosis[];
}

class LiveRun {
  private readonly trace: TraceEvent[] = [];
  private readonly notes: string[] = [];
  private readonly clients = new Map<NodeId, ClientNode>();
  private readonly order: NodeId[];
  private readonly nodesByRole: Record<string, NodeId[]> = {};
  private readonly serverId: NodeId;
  private serverStatus: NodeStatus = 'running';
  /** why the live server process ended by itself, if it did */
  private serverExit: string | undefined;
  /** findings of the run itself (deadlock, conformance), placed in the trace */
  private readonly runFindings: PlacedFinding[] = [];
  /** the shadow models' outcomes before each server restart */
  private readonly carried: { judge: ReturnType<ServerModelOracle['outcomes']>[number] | undefined; explain: ReturnType<ServerModelOracle['outcomes']>[number] | undefined; judging: boolean }[] = [];
  /** the key-value protocols' one lane (no worlds: the store shadow has one view) */
  private plainExt: LaneExt;
  private readonly prng: Prng;
  private readonly schedule: LiveSchedule;
  private t0 = 0;
  private step = 0;
  private nextMessageId = 1;
  private lastProgressMs = 0;
  private stopped = false;
  private endReason: EndReason = 'quiescent';
  private readonly pendingTimers = new Set<NodeJS.Timeout>();
  /** scheduled starts, faults and inputs not yet carried out */
  private externalPending = 0;
  private lastActivityReal = 0;
  private oracle: ServerModelOracle | undefined;
  private explain: ServerModelOracle | undefined;
  private kv: KvStoreOracle | undefined;
  private judging = true;
  private unexplained: string | null = null;
  private readonly ids: SessionIds;
  private process: ManagedProcess | undefined;
  private host = '127.0.0.1';
  private port = 0;
  private path = '/';
  private targetText = '';
  /** clients whose link may lose what they send (partition, drop) */
  private readonly lossy = new Set<NodeId>();
  /** clients whose host vanished */
  private readonly vanished = new Set<NodeId>();

  constructor(private readonly o: LiveScenarioOptions) {
    this.order = o.config.nodes.map((n) => n.id);
    for (const n of o.config.nodes) (this.nodesByRole[n.role] ??= []).push(n.id);
    const server = o.config.nodes.find((n) => n.role === 'server' || n.role === 'store');
    if (server === undefined) throw new TargetError(`${o.protocol}: the scenario has no server or store node to stand for the live target`, 'no-server-node');
    this.serverId = server.id;
    this.plainExt = this.initialExt();
    this.prng = Prng.derive(o.seed, 'workload');
    this.schedule = o.schedule ?? (() => {
      const d = deriveOptions(o.config, o.seed);
      return { startAtMs: d.startAtMs, faults: d.faults };
    })();
    this.ids = new SessionIds(() => ({ ...(this.explain?.bindings() ?? {}), ...(this.oracle?.bindings() ?? {}) }));
  }

  // ---- time ---------------------------------------------------------------------------------

  private now(): number {
    return Math.round((performance.now() - this.t0) / this.o.timeScale);
  }

  /** Runs `fn` at model time `atMs` (scaled to the real clock). */
  private at(atMs: number, fn: () => void): NodeJS.Timeout {
    const delay = Math.max(0, atMs * this.o.timeScale - (performance.now() - this.t0));
    const timer = setTimeout(() => {
      this.pendingTimers.delete(timer);
      if (!this.stopped) fn();
    }, delay);
    this.pendingTimers.add(timer);
    return timer;
  }

  private touch(): void {
    this.lastActivityReal = performance.now();
  }

  // ---- oracles ------------------------------------------------------------------------------

  private serverSpec(variant: ModelVariant): ServerModelSpec | undefined {
    const node = this.o.config.nodes.find((n) => n.id === this.serverId)!;
    const role = variant.roles[node.role];
    if (role === undefined) return undefined;
    return { role, input: role.input({ self: node.id, nodesByRole: this.nodesByRole, params: node.params }), variantName: variant.name };
  }

  private startOracles(): void {
    if (this.o.codec === null) {
      const node = this.o.config.nodes.find((n) => n.id === this.serverId)!;
      const data = (node.params.initial ?? {}) as Record<string, string>;
      this.kv = new KvStoreOracle(data);
      return;
    }
    const clock = (): number => this.now();
    const fixedSpec = this.serverSpec(this.o.oracleVariant);
    const mapping = serverMappingFor(this.o.protocol, {}, fixedSpec);
    if (mapping === undefined) return;
    // Timers fire live within a tolerance scaled like the rest (model ms).
    const tolerance = { earlyMs: Math.round(100 / this.o.timeScale), lateMs: Math.round(300 / this.o.timeScale) };
    this.oracle = new ServerModelOracle(mapping, clock, tolerance, this.hooks());
    if (this.o.variant.name !== this.o.oracleVariant.name) {
      const own = serverMappingFor(this.o.protocol, {}, this.serverSpec(this.o.variant));
      if (own !== undefined) this.explain = new ServerModelOracle(own, clock, tolerance, this.hooks());
    }
  }

  /** Runs `fn` on each shadow model, catching a limit (the model then stops judging). */
  private shadows(fn: (oracle: ServerModelOracle, role: 'judge' | 'explain') => void): void {
    if (this.oracle !== undefined && this.judging) {
      try {
        fn(this.oracle, 'judge');
      } catch (error) {
        if (!(error instanceof OracleLimitError)) throw error;
        this.notes.push(`the oracle stopped judging: ${error.message}`);
        this.judging = false;
      }
    }
    if (this.explain !== undefined && this.unexplained === null) {
      try {
        fn(this.explain, 'explain');
      } catch (error) {
        if (!(error instanceof OracleLimitError)) throw error;
        this.unexplained = `the ${this.explain.name} gave up: ${error.message}`;
      }
    }
  }

  /**
   * The scenario's properties and invariants are judged in every world of each shadow model (the
   * server's console lines, which properties read, differ between worlds); the world that stands
   * for the live server at the end gives the findings. `judge` is the fixed model (the oracle),
   * `explain` the scenario's own server model: a live server with the seed's flaw is explained by
   * the seed's model, whose console lines then show the seed's failure.
   */
  private hooks(): WorldHooks {
    return {
      initial: this.initialExt(),
      onPrints: (ext, prints, server) => {
        let e = ext as LaneExt;
        for (const params of prints) e = this.evaluate(e, { kind: 'print', node: this.serverId, params }, server);
        return this.evaluate(e, null, server);
      },
      position: () => this.trace.length,
    };
  }

  private initialExt(): LaneExt {
    return { monitors: this.o.variant.properties.map((p) => p.initial), violations: [] };
  }

  /** The lanes still judging, as (ext mapper) functions. */
  private eachLane(fn: (ext: LaneExt, server: ServerNodeState) => LaneExt): void {
    if (this.o.codec === null) {
      this.plainExt = fn(this.plainExt, { value: 'serving', context: this.kv?.context() ?? {}, tags: ['server'] });
      return;
    }
    this.oracle?.mapExt((ext, server) => fn(ext as LaneExt, server));
    if (this.explain !== undefined && this.unexplained === null) this.explain.mapExt((ext, server) => fn(ext as LaneExt, server));
  }

  /** One observation (or none: invariants only) judged in one world. */
  private evaluate(ext: LaneExt, obs: Observation | null, server: ServerNodeState): LaneExt {
    const view = this.viewWith(server);
    let monitors = ext.monitors;
    let violations = ext.violations;
    const broken = (id: string): boolean => violations.some((v) => v.id === id);
    const violate = (id: string, summary: string): void => {
      violations = [...violations, { id, summary, diagnosis: this.o.variant.diagnose?.(view, { kind: 'invariant', id }) ?? null, pos: this.trace.length, timeMs: this.now() }];
    };
    if (obs !== null) {
      const props = this.o.variant.properties;
      for (let i = 0; i < props.length; i++) {
        const prop = props[i]!;
        const id = `invariant:${prop.id}`;
        if (!this.enabled(prop.id) || broken(id)) continue;
        const out = prop.observe(monitors[i], obs, view);
        if ('violation' in out) violate(id, `invariant ${prop.id} (${prop.description}) broken: ${out.violation}`);
        else if (out.state !== monitors[i]) {
          if (monitors === ext.monitors) monitors = [...monitors];
          monitors[i] = out.state;
        }
      }
    }
    for (const inv of this.o.variant.invariants) {
      const id = `invariant:${inv.id}`;
      if (!this.enabled(inv.id) || broken(id)) continue;
      const reason = inv.check(view);
      if (reason !== null) violate(id, `invariant ${inv.id} (${inv.description}) broken: ${reason}`);
    }
    return monitors === ext.monitors && violations === ext.violations ? ext : { monitors, violations };
  }

  private conformanceFinding(summary: string): void {
    if (this.runFindings.some((f) => f.id === conformanceFindingId)) return;
    this.addFinding('invariant', conformanceFindingId, summary, false);
  }

  // ---- trace, checks ------------------------------------------------------------------------

  private record(e: TraceEvent): void {
    this.trace.push(e);
    this.touch();
  }

  private clientView(id: NodeId): NodeView {
    const n = this.clients.get(id);
    if (n === undefined || n.stateId < 0) {
      const role = this.o.config.nodes.find((x) => x.id === id)!.role;
      return { id, role, status: n?.status ?? 'not-started', value: null, context: {}, tags: [] };
    }
    const st = n.runtime.state(n.stateId);
    return { id, role: n.role, status: n.status, value: st.snapshot.value, context: st.context, tags: st.tags };
  }

  private viewWith(server: ServerNodeState): GlobalView {
    const nodes: Record<NodeId, NodeView> = {};
    for (const id of this.order) {
      if (id === this.serverId) {
        const role = this.o.config.nodes.find((n) => n.id === id)!.role;
        const context = this.serverExit !== undefined ? { ...server.context, exitReason: this.serverExit } : server.context;
        nodes[id] = { id, role, status: this.serverStatus, value: server.value, context, tags: server.tags };
      } else nodes[id] = this.clientView(id);
    }
    return { timeMs: this.now(), nodes, inFlight: [] };
  }

  /** The global view with the server as the model that stands for it now. */
  private view(): GlobalView {
    const source = this.explain !== undefined && this.unexplained === null ? this.explain : this.oracle;
    const server = source?.serverView() ?? { value: 'serving', context: this.kv?.context() ?? {}, tags: ['server'] };
    return this.viewWith(server);
  }

  private enabled(id: string): boolean {
    const list = this.o.config.checks.invariants;
    return list === null || list.includes(id);
  }

  private checkInvariants(): void {
    if (this.stopped) return;
    this.eachLane((ext, server) => this.evaluate(ext, null, server));
  }

  private observe(obs: Observation): void {
    if (this.stopped) return;
    this.eachLane((ext, server) => this.evaluate(ext, obs, server));
  }

  /** A finding of the run itself (not of a property): a deadlock, a stall, a conformance failure. */
  private addFinding(kind: FindingKind, id: string, summary: string, stops = true): void {
    const view = this.view();
    this.runFindings.push({ kind, id, summary, diagnosis: kind === 'invariant' ? null : (this.o.variant.diagnose?.(view, { kind, id }) ?? null), pos: this.trace.length, timeMs: this.now(), step: this.step, nodes: this.diagnoseNodes(view) });
    if (stops && (this.o.stopAtFirstFinding ?? true)) this.stop('finding');
  }

  private diagnoseNodes(view: GlobalView): NodeDiagnosis[] {
    return this.order.map((nid) => {
      const v = view.nodes[nid]!;
      const n = this.clients.get(nid);
      const st = n !== undefined && n.stateId >= 0 ? n.runtime.state(n.stateId) : null;
      return {
        id: nid,
        role: v.role,
        status: v.status,
        state: nid === this.serverId ? `live (${this.targetText})` : st ? st.valueText : '(not started)',
        waitsFor: st && (v.status === 'running' || v.status === 'paused') && !st.done ? st.waitsFor : null,
        lastSent: n?.lastSent ?? null,
        lastReceived: n?.lastReceived ?? null,
      };
    });
  }

  /**
   * The run's findings: its own, and the property violations of the world that stands for the
   * live server (the scenario's own model if it explained every reply and the fixed model did
   * not, else the fixed model's),
   * each with the trace up to it, the world's console lines put in place.
   */
  private finish(): { findings: Finding[]; trace: TraceEvent[] } {
    // The scenario's own model stands for the live server only when the fixed model does not: a
    // run the fixed model explains shows nothing a correct server would not do.
    const source = this.o.codec === null ? undefined : this.explain !== undefined && this.unexplained === null && !this.judging ? this.explain : this.oracle;
    const outcome = source?.outcomes()[0];
    const ext = outcome !== undefined ? (outcome.ext as LaneExt) : this.plainExt;
    // Earlier server processes (before a restart), each from the lane chosen the same way.
    const earlier = this.carried.map((c) => (c.explain !== undefined && !c.judging ? c.explain : c.judge)).filter((o) => o !== undefined);
    const history = [...earlier.flatMap((o) => o.history), ...(outcome?.history ?? [])];
    const violations = [...earlier.flatMap((o) => (o.ext as LaneExt).violations), ...ext.violations];
    const placed: PlacedFinding[] = [
      ...this.runFindings,
      ...violations.map((v) => ({ kind: 'invariant' as FindingKind, id: v.id, summary: v.summary, diagnosis: v.diagnosis, pos: v.pos, timeMs: v.timeMs, step: this.step, nodes: this.diagnoseNodes(this.view()) })),
    ].sort((a, b) => a.pos - b.pos);
    // Merge: before the event at index i come the console lines and findings placed at i.
    const merged: TraceEvent[] = [];
    const at = new Map<PlacedFinding, number>();
    let h = 0;
    let f = 0;
    for (let i = 0; i <= this.trace.length; i++) {
      while (h < history.length && history[h]!.pos <= i) {
        const { atMs, params } = history[h++]!;
        merged.push({ k: 'print', t: atMs, node: this.serverId, kind: params.kind, text: params.text });
      }
      while (f < placed.length && placed[f]!.pos <= i) {
        const p = placed[f++]!;
        merged.push({ k: 'finding', t: p.timeMs, kind: p.kind, summary: p.summary });
        at.set(p, merged.length);
      }
      if (i < this.trace.length) merged.push(this.trace[i]!);
    }
    const findings = placed.map((p) => ({ kind: p.kind, id: p.id, summary: p.summary, diagnosis: p.diagnosis, nodes: p.nodes, seed: this.o.seed, timeMs: p.timeMs, step: p.step, trace: merged.slice(0, at.get(p)!), cycleStart: null, path: null }));
    return { findings, trace: merged };
  }

  private stop(reason: EndReason): void {
    if (this.stopped) return;
    this.endReason = reason;
    this.stopped = true;
  }

  // ---- clients ------------------------------------------------------------------------------

  private async startClient(id: NodeId, fresh: boolean): Promise<void> {
    const cfg = this.o.config.nodes.find((n) => n.id === id)!;
    const def = this.o.variant.roles[cfg.role]!;
    const workload = this.o.config.workload.find((w) => w.node === id);
    let node = this.clients.get(id);
    if (node === undefined) {
      node = {
        id,
        role: cfg.role,
        runtime: new RoleRuntime(cfg.role, def.machine),
        input: def.input({ self: id, nodesByRole: this.nodesByRole, params: cfg.params }),
        stateId: -1,
        status: 'not-started',
        timers: new Map(),
        inbox: [],
        messages: workload?.messages ?? [],
        nextMessage: 0,
        quitAfter: workload?.quitAfter ?? false,
        inputPending: false,
        epoch: 0,
        lastSent: null,
        lastReceived: null,
        pendingKv: 0,
      };
      this.clients.set(id, node);
    }
    node.epoch++;
    this.vanished.delete(id);
    this.shadows((o) => o.heed(id));
    if (this.o.codec !== null) {
      try {
        await this.connect(node);
      } catch (error) {
        if (!(error instanceof ConnectError)) throw error;
        this.notes.push(`${id} could not connect: ${error.message}`);
      }
    }
    node.status = 'running';
    node.inputPending = false;
    const result = fresh || node.stateId < 0 ? node.runtime.start(node.input) : { next: node.stateId, effects: [] as Effect[] };
    node.stateId = result.next;
    this.record({ k: 'start', t: this.now(), node: id, role: node.role, state: node.runtime.state(node.stateId).valueText, fresh });
    this.applyEffects(node, result.effects);
    this.checkInvariants();
  }

  private async connect(node: ClientNode): Promise<void> {
    const codec = this.o.codec!;
    if (node.proxy === undefined) {
      node.proxy = await FaultProxy.start({ targetHost: this.host, targetPort: this.port, splitter: (direction) => codec.splitter(direction, defaultConnectionLimits.maxFrameBytes) });
    } else node.proxy.clear();
    const connection = await LiveConnection.open(node.id, node.proxy.host, node.proxy.port, codec, defaultConnectionLimits, this.o.replyTimeoutMs);
    node.connection = connection;
    void this.readLoop(node, connection, node.epoch);
  }

  private async readLoop(node: ClientNode, connection: LiveConnection, epoch: number): Promise<void> {
    for (;;) {
      const got = await connection.next(60_000);
      if (this.stopped || node.epoch !== epoch) return;
      if (got.kind === 'timeout') continue;
      if (got.kind === 'invalid') {
        if (this.judging) this.conformanceFinding(`conformance: ${node.id} got bytes that are not a message of the protocol from the live server: ${got.reason}`);
        continue;
      }
      if (got.kind === 'closed') {
        this.onClosed(node, got.how === 'reset' ? 'reset' : 'closed', got.detail);
        return;
      }
      this.onArrival(node, got.msg);
    }
  }

  private whenRunning(node: ClientNode, fn: () => void): void {
    if (node.status === 'paused') node.inbox.push(fn);
    else if (node.status === 'running') fn();
  }

  private onArrival(node: ClientNode, wire: unknown): void {
    if (this.vanished.has(node.id) || node.status === 'crashed') return;
    this.shadows((o, role) => {
      const failure = o.arrival(node.id, { kind: 'message', msg: wire });
      if (failure === null) return;
      if (role === 'judge') {
        this.conformanceFinding(`conformance: ${failure.reason}; expected ${failure.expected}, got ${failure.observed}`);
        this.judging = false;
      } else this.unexplained = `at t=${this.now()} ${failure.reason} (expected ${failure.expected})`;
    });
    if (this.stopped) return;
    const msg = replyFromWire(this.o.protocol, wire, this.ids);
    if (msg === null) {
      this.notes.push(`${node.id} got ${show(wire)}, which is no message its model knows; not delivered`);
      return;
    }
    this.deliver(node, msg);
  }

  private deliver(node: ClientNode, msg: ProtocolMessage): void {
    const id = this.nextMessageId++;
    this.whenRunning(node, () => {
      this.record({ k: 'deliver', t: this.now(), id, from: this.serverId, to: node.id, msg });
      node.lastReceived = { t: this.now(), from: this.serverId, msg };
      this.observe({ kind: 'deliver', from: this.serverId, to: node.id, msg });
      if (this.stopped) return;
      this.stepNode(node, { ...msg, from: this.serverId });
    });
  }

  private onClosed(node: ClientNode, how: 'reset' | 'closed', detail: string): void {
    if (this.vanished.has(node.id) || node.status === 'crashed' || node.status === 'done') return;
    this.shadows((o, role) => {
      const failure = o.arrival(node.id, { kind: 'closed' });
      if (failure === null) {
        o.disconnect(node.id, how);
        return;
      }
      if (role === 'judge') {
        this.conformanceFinding(`conformance: the live server closed ${node.id}'s connection (${detail}): ${failure.reason}`);
        this.judging = false;
      } else this.unexplained = `at t=${this.now()} ${failure.reason}`;
    });
    this.whenRunning(node, () => {
      this.record({ k: 'conn', t: this.now(), node: node.id, peer: this.serverId, event: how });
      this.stepNode(node, { type: `conn.${how}`, peer: this.serverId });
    });
  }

  private stepNode(node: ClientNode, event: { type: string; [k: string]: unknown }): void {
    if (this.stopped) return;
    this.step++;
    const before = node.stateId;
    const result = node.runtime.step(before, event, canonicalJson(event));
    node.stateId = result.next;
    const text = node.runtime.state(result.next).valueText;
    if (text !== node.runtime.state(before).valueText) this.record({ k: 'state', t: this.now(), node: node.id, state: text });
    this.applyEffects(node, result.effects);
    if (result.next !== before) this.checkInvariants();
  }

  private applyEffects(node: ClientNode, effects: readonly Effect[]): void {
    if (!carryOutEffects(this.effectHost, node, node.id, this.o.variant, effects)) return;
    const st = node.runtime.state(node.stateId);
    if (st.done && node.status === 'running') {
      node.status = 'done';
      this.cancelTimers(node);
      // A program that exits closes its connection.
      if (node.connection !== undefined && !node.connection.isClosed) {
        node.connection.disconnect('close');
        this.shadows((o) => o.disconnect(node.id, 'closed'));
      }
    }
  }

  /**
   * The live driver's side of the kernel's effect rules (src/sim/kernel/effects.ts): a send goes to
   * the live server through the codec, a print is recorded and observed, timers run on the real clock.
   */
  private readonly effectHost: EffectHost<ClientNode> = {
    isStopped: () => this.stopped,
    send: (node, to, msg) => {
      if (to === this.serverId) this.send(node, msg);
      else this.notes.push(`${node.id} sent to ${to}, which is not the live server; dropped`);
    },
    print: (node, p, progress) => {
      this.record({ k: 'print', t: this.now(), node: node.id, kind: p.kind, text: p.text });
      if (progress) this.lastProgressMs = this.now();
      this.observe({ kind: 'print', node: node.id, params: p });
    },
    promptShown: (node) => this.scheduleInput(node),
    close: (node) => {
      if (node.connection !== undefined && !node.connection.isClosed) {
        node.connection.disconnect('close');
        this.shadows((o) => o.disconnect(node.id, 'closed'));
      }
    },
    armTimer: (node, id, delayMs, event) => {
      const existing = node.timers.get(id);
      if (existing) clearTimeout(existing);
      const epoch = node.epoch;
      node.timers.set(
        id,
        this.at(this.now() + delayMs, () => {
          node.timers.delete(id);
          if (node.epoch !== epoch) return;
          this.whenRunning(node, () => {
            this.record({ k: 'timer', t: this.now(), node: node.id, event: event.type });
            this.stepNode(node, event);
          });
        }),
      );
    },
    cancelTimer: (node, id) => {
      const existing = node.timers.get(id);
      if (existing) {
        clearTimeout(existing);
        this.pendingTimers.delete(existing);
        node.timers.delete(id);
      }
    },
  };

  private cancelTimers(node: ClientNode): void {
    for (const t of node.timers.values()) {
      clearTimeout(t);
      this.pendingTimers.delete(t);
    }
    node.timers.clear();
  }

  private scheduleInput(node: ClientNode): void {
    if (node.inputPending) return;
    const typed = node.nextMessage < node.messages.length;
    if (!typed && !node.quitAfter) return;
    const workload = this.o.config.workload.find((w) => w.node === node.id);
    const planned = typed ? this.schedule.inputAtMs?.[node.id]?.[node.nextMessage] : this.schedule.quitAtMs?.[node.id];
    const atMs = planned !== undefined ? Math.max(planned, this.now()) : this.now() + (workload ? sample(this.prng, workload.think) : 0);
    node.inputPending = true;
    this.externalPending++;
    const epoch = node.epoch;
    this.at(atMs, () => {
      this.externalPending--;
      node.inputPending = false;
      if (node.epoch !== epoch) return;
      this.whenRunning(node, () => {
        if (typed) {
          const text = node.messages[node.nextMessage];
          if (text === undefined) return;
          node.nextMessage++;
          this.record({ k: 'input', t: this.now(), node: node.id, text });
          this.stepNode(node, { type: 'user.input', text });
        } else {
          this.record({ k: 'quit', t: this.now(), node: node.id });
          this.stepNode(node, { type: 'user.quit' });
        }
      });
    });
  }

  // ---- sending --------------------------------------------------------------------------------

  private send(node: ClientNode, msg: ProtocolMessage): void {
    const id = this.nextMessageId++;
    node.lastSent = { t: this.now(), to: this.serverId, msg };
    if (this.o.codec === null) {
      this.sendKv(node, msg as unknown as KvRequest, id);
      return;
    }
    const wire = requestToWire(this.o.protocol, msg, this.ids, this.now());
    if (wire === null) return; // no wire form (the fixed model's delivery confirmation)
    this.record({ k: 'send', t: this.now(), id, from: node.id, to: this.serverId, msg });
    const connection = node.connection;
    if (connection === undefined || connection.isClosed || this.serverStatus === 'crashed') {
      this.record({ k: 'drop', t: this.now(), id, from: node.id, to: this.serverId, msg, reason: this.serverStatus === 'crashed' ? 'crashed' : 'closed' });
      return;
    }
    let bytes: Buffer;
    try {
      bytes = this.o.codec.encode(wire);
    } catch (error) {
      this.notes.push(`${node.id}: ${show(msg)} cannot be encoded: ${(error as Error).message}`);
      return;
    }
    const indefinite = this.lossy.has(node.id) || (node.proxy?.pendingDrops('to-target') ?? 0) > 0;
    this.shadows((o) => o.send(node.id, wire, indefinite));
    connection.write(bytes).catch(() => {
      /* the close comes through the read loop */
    });
  }

  private sendKv(node: ClientNode, request: KvRequest, id: number): void {
    this.record({ k: 'send', t: this.now(), id, from: node.id, to: this.serverId, msg: request as unknown as ProtocolMessage });
    const shadowId = this.kv!.sent(node.id, '', request);
    node.pendingKv++;
    const epoch = node.epoch;
    let query: string;
    try {
      query = kvQuery(request, undefined);
    } catch (error) {
      this.notes.push(`${node.id}: ${show(request)} has no IM form: ${(error as Error).message}`);
      return;
    }
    void kvRequest(this.host, this.port, this.path, query, this.o.replyTimeoutMs).then((outcome) => {
      node.pendingKv--;
      if (this.stopped) return;
      const wire = outcome.kind === 'reply' ? outcome.reply : undefined;
      let failure: { expected: string; observed: string } | null = null;
      try {
        failure = this.kv!.replied(shadowId, wire, this.judging ? 'judge' : 'follow');
      } catch (error) {
        if (!(error instanceof OracleLimitError)) throw error;
        this.notes.push(`the oracle stopped judging: ${error.message}`);
        this.judging = false;
      }
      if (failure !== null) {
        this.conformanceFinding(`conformance: the live IM server's reply to ${show(request)} from ${node.id} is not what the kv-store model answers in any order of the requests in flight: expected ${failure.expected}, got ${failure.observed}`);
        this.judging = false;
      }
      if (node.epoch !== epoch || node.status === 'crashed') return;
      if (wire === undefined) {
        // No reply: to the program, a failed request (the real clients set no timeout; they would crash or hang).
        this.whenRunning(node, () => {
          this.record({ k: 'conn', t: this.now(), node: node.id, peer: this.serverId, event: 'reset' });
          this.stepNode(node, { type: 'conn.reset', peer: this.serverId });
        });
        return;
      }
      this.deliver(node, kvReplyOf(request, wire) as unknown as ProtocolMessage);
    });
  }

  // ---- faults ---------------------------------------------------------------------------------

  private async applyFault(fault: FaultSpec): Promise<void> {
    this.record({ k: 'fault', t: this.now(), fault });
    const isServer = (id: NodeId): boolean => id === this.serverId;
    switch (fault.kind) {
      case 'crash': {
        if (isServer(fault.node)) {
          if (this.process === undefined) return this.skipFault(fault, 'a server crash needs a command target that protosim starts');
          this.serverStatus = 'crashed';
          await this.process.kill();
          this.observe({ kind: 'crash', node: fault.node });
          return;
        }
        const node = this.clients.get(fault.node);
        if (node === undefined || (node.status !== 'running' && node.status !== 'paused')) return;
        node.status = 'crashed';
        node.inputPending = false;
        node.inbox = [];
        this.cancelTimers(node);
        this.observe({ kind: 'crash', node: node.id });
        if (fault.mode === 'silent') {
          // The host vanishes: nothing reaches the server, nothing it sends is read.
          this.vanished.add(node.id);
          node.proxy?.set({ blackhole: true });
          this.shadows((o) => o.ignore(node.id));
        } else {
          node.connection?.disconnect('reset');
          if (this.o.codec !== null) {
            this.shadows((o) => o.disconnect(node.id, 'reset'));
              }
        }
        this.checkInvariants();
        return;
      }
      case 'restart': {
        if (isServer(fault.node)) {
          if (this.process === undefined) return this.skipFault(fault, 'a server restart needs a command target that protosim starts');
          const address = await this.process.restart();
          const parsed = new URL(address);
          this.host = parsed.hostname.replace(/^\[|\]$/g, '');
          this.port = Number(parsed.port);
          for (const n of this.clients.values()) n.proxy?.retarget(this.host, this.port);
          this.serverStatus = 'running';
          // A fresh server process: the shadow models start afresh too; what they found and
          // printed before the restart is kept for the end.
          this.carried.push({ judge: this.oracle?.outcomes()[0], explain: this.unexplained === null ? this.explain?.outcomes()[0] : undefined, judging: this.judging });
          this.judging = true;
          this.startOracles();
          this.observe({ kind: 'restart', node: fault.node, fresh: true });
          return;
        }
        const node = this.clients.get(fault.node);
        if (node === undefined || node.status !== 'crashed') return;
        this.observe({ kind: 'restart', node: node.id, fresh: fault.state === 'fresh' });
        if (fault.state === 'kept') this.notes.push(`${node.id} restarted with its state kept: live, its connection is new`);
        await this.startClient(node.id, fault.state !== 'kept');
        return;
      }
      case 'pause':
      case 'resume': {
        if (isServer(fault.node)) {
          if (this.process === undefined) return this.skipFault(fault, `a server ${fault.kind} needs a command target that protosim starts`);
          if (fault.kind === 'pause') {
            this.process.pause();
            this.serverStatus = 'paused';
          } else {
            this.process.resume();
            this.serverStatus = 'running';
          }
          return;
        }
        const node = this.clients.get(fault.node);
        if (node === undefined) return;
        if (fault.kind === 'pause' && node.status === 'running') node.status = 'paused';
        else if (fault.kind === 'resume' && node.status === 'paused') {
          node.status = 'running';
          const inbox = node.inbox;
          node.inbox = [];
          for (const fn of inbox) if (node.status === 'running' && !this.stopped) fn();
        }
        return;
      }
      case 'partition': {
        for (const [a, b] of [...fault.from.flatMap((x) => fault.to.map((y) => [x, y] as const))]) {
          const client = isServer(a) ? b : isServer(b) ? a : undefined;
          if (client === undefined) continue;
          const node = this.clients.get(client);
          if (node?.proxy === undefined) continue;
          node.proxy.set({ partitioned: true });
          this.lossy.add(client);
        }
        if (fault.direction === 'one-way') this.notes.push('a one-way partition is carried out both ways live (a TCP link stalls both ways)');
        return;
      }
      case 'heal':
        for (const n of this.clients.values()) n.proxy?.heal();
        this.lossy.clear();
        return;
      case 'drop': {
        const client = fault.from !== null && !isServer(fault.from) ? fault.from : fault.to !== null && !isServer(fault.to) ? fault.to : null;
        const node = client === null ? undefined : this.clients.get(client);
        if (node?.proxy === undefined) return this.skipFault(fault, 'a drop live needs a client end (from or to)');
        node.proxy.drop(fault.from === client ? 'to-target' : 'from-target', fault.count);
        if (fault.msgType !== null) this.notes.push(`drop ${fault.msgType}: live, the next ${fault.count} message(s) on the link are dropped, whatever their type`);
        return;
      }
      case 'duplicate':
        return this.skipFault(fault, 'a byte stream cannot duplicate a message');
    }
  }

  private skipFault(fault: FaultSpec, why: string): void {
    this.notes.push(`fault ${fault.kind} at ${fault.atMs} ms not carried out live: ${why}`);
  }

  // ---- the run ----------------------------------------------------------------------------------

  async run(): Promise<LiveScenarioResult> {
    const started = performance.now();
    try {
      await this.startTarget();
      this.startOracles();
      this.t0 = performance.now();
      this.touch();
      for (const n of this.o.config.nodes) {
        if (n.id === this.serverId) continue;
        this.externalPending++;
        this.at(this.schedule.startAtMs[n.id] ?? 0, () => {
          void this.startClient(n.id, true).finally(() => this.externalPending--);
        });
      }
      for (const f of this.schedule.faults) {
        this.externalPending++;
        this.at(f.atMs, () => {
          void this.applyFault(f).finally(() => this.externalPending--);
        });
      }
      if (this.o.config.healAtMs !== null) {
        const healAt = this.o.config.healAtMs;
        this.externalPending++;
        this.at(healAt, () => {
          void this.applyFault({ kind: 'heal', atMs: healAt }).finally(() => this.externalPending--);
        });
      }
      await this.watch(started);
      if (!this.stopped) this.stop(this.endReason);
      // The server owes what the oracle still expects: a reply that never came.
      if (this.endReason !== 'finding' && this.judging && this.oracle !== undefined && !this.oracle.satisfied()) {
        this.stopped = false;
        this.conformanceFinding(`conformance: timeout: the live server never sent what the ${this.oracle.name} sends: ${this.oracle.outstanding()}`);
        this.stopped = true;
      }
    } finally {
      await this.teardown();
    }
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

  private async startTarget(): Promise<void> {
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
  private async prepareStore(): Promise<void> {
    const node = this.o.config.nodes.find((n) => n.id === this.serverId)!;
    const data = (node.params.initial ?? {}) as Record<string, string>;
    const requests: KvRequest[] = [{ type: 'CLEAR' }, ...Object.entries(data).map(([key, value]): KvRequest => ({ type: 'SET', key, value }))];
    for (const r of requests) {
      const outcome = await kvRequest(this.host, this.port, this.path, kvQuery(r, undefined), this.o.replyTimeoutMs);
      if (outcome.kind !== 'reply') throw new TargetError(`the IM server at ${this.targetText} did not answer ${show(r)}: ${outcome.reason}`, 'unreachable');
    }
  }

  /** Watches for the end: a finding, quiescence, a stall, or the time bound. */
  private async watch(started: number): Promise<void> {
    const stallBoundMs = this.o.config.checks.stallBoundMs;
    const settleMs = this.o.settleMs ?? Math.max(200, this.o.replyTimeoutMs / 4);
    const maxTimeMs = this.o.config.limits.maxTimeMs;
    let settledSince: number | undefined;
    for (;;) {
      await sleep(tickMs);
      if (this.stopped) return;
      if (performance.now() - started > this.o.maxRunMs) return this.stop('limit:maxTimeMs');
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

  private async teardown(): Promise<void> {
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

/** The model's reply for a live IM reply to `request`. */
function kvReplyOf(request: KvRequest, wire: KvWireReply): KvReply {
  const body = wire.body.endsWith('\n') ? wire.body.slice(0, -1) : wire.body;
  switch (request.type) {
    case 'GET':
      // The IM interface says `\n` both for a missing key and an empty value.
      return { type: 'VALUE', key: request.key, value: body === '' ? null : body };
    case 'KEYS':
      return { type: 'KEY_LIST', keys: body.split('\n').filter((k) => k !== '') };
    case 'SET':
    case 'UNSET':
    case 'CLEAR':
      return { type: 'OK', op: request.type };
    default:
      return { type: 'OK', op: 'SET' };
  }
}

/** Runs a model scenario against a live server. */
export function runLiveScenario(options: LiveScenarioOptions): Promise<LiveScenarioResult> {
  return new LiveRun(options).run();
}

export type { PrintParams };
