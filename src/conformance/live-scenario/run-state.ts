/**
 * The state of a live scenario run, and what every part of it reads: the clock (model ms, scaled
 * to the real one), the trace, the end, and the global view the checks see (the client nodes as
 * their models stand, the server as the shadow model that stands for it now).
 *
 * The run is built in layers, each a module of this folder: this state, the shadow models and
 * property lanes (oracle-lanes.ts), the client nodes (client-nodes.ts), sending (sending.ts),
 * faults (faults.ts), and the run the live-case driver carries out (live-run.ts,
 * live-scenario-case.ts).
 */
import type { GlobalView, NodeId, NodeStatus, NodeView } from '../../models/types.js';
import type { NodeDiagnosis } from '../../sim/finding.js';
import { Prng } from '../../sim/prng.js';
import type { EndReason, TraceEvent } from '../../sim/trace.js';
import { TargetError } from '../../errors.js';
import { SessionIds } from '../client-wire.js';
import type { KvStoreOracle } from '../kv-store-oracle.js';
import type { ManagedProcess } from '../managed-process.js';
import type { ServerModelOracle, ServerNodeState } from '../server-model-oracle.js';
import { liveScheduleOf, serverNodeIdOf } from './schedule-steps.js';
import type { ClientNode, LaneExt, LiveScenarioOptions, LiveSchedule, PlacedFinding } from './types.js';

export abstract class LiveRunState {
  protected readonly trace: TraceEvent[] = [];
  protected readonly notes: string[] = [];
  protected readonly clients = new Map<NodeId, ClientNode>();
  protected readonly order: NodeId[];
  protected readonly nodesByRole: Record<string, NodeId[]> = {};
  protected readonly serverId: NodeId;
  protected serverStatus: NodeStatus = 'running';
  /** why the live server process ended by itself, if it did */
  protected serverExit: string | undefined;
  /** findings of the run itself (deadlock, conformance), placed in the trace */
  protected readonly runFindings: PlacedFinding[] = [];
  /** the shadow models' outcomes before each server restart */
  protected readonly carried: { judge: ReturnType<ServerModelOracle['outcomes']>[number] | undefined; explain: ReturnType<ServerModelOracle['outcomes']>[number] | undefined; judging: boolean }[] = [];
  /** the key-value protocols' one lane (no worlds: the store shadow has one view) */
  protected plainExt: LaneExt;
  protected readonly prng: Prng;
  readonly schedule: LiveSchedule;
  protected t0 = 0;
  protected step = 0;
  protected nextMessageId = 1;
  protected lastProgressMs = 0;
  protected stopped = false;
  protected endReason: EndReason = 'quiescent';
  protected readonly pendingTimers = new Set<NodeJS.Timeout>();
  /** what is still to come from outside: starts and faults under way, inputs not yet typed */
  protected externalPending = 0;
  protected lastActivityReal = 0;
  protected oracle: ServerModelOracle | undefined;
  protected explain: ServerModelOracle | undefined;
  protected kv: KvStoreOracle | undefined;
  protected judging = true;
  protected unexplained: string | null = null;
  protected readonly ids: SessionIds;
  protected process: ManagedProcess | undefined;
  protected host = '127.0.0.1';
  protected port = 0;
  protected path = '/';
  protected targetText = '';
  /** clients whose link may lose what they send (partition, drop) */
  protected readonly lossy = new Set<NodeId>();
  /** clients whose host vanished */
  protected readonly vanished = new Set<NodeId>();

  constructor(protected readonly o: LiveScenarioOptions) {
    this.order = o.config.nodes.map((n) => n.id);
    for (const n of o.config.nodes) (this.nodesByRole[n.role] ??= []).push(n.id);
    const serverId = serverNodeIdOf(o.config);
    if (serverId === undefined) throw new TargetError(`${o.protocol}: the scenario has no server or store node to stand for the live target`, 'no-server-node');
    this.serverId = serverId;
    this.plainExt = this.initialExt();
    this.prng = Prng.derive(o.seed, 'workload');
    this.schedule = liveScheduleOf(o);
    this.ids = new SessionIds(() => ({ ...(this.explain?.bindings() ?? {}), ...(this.oracle?.bindings() ?? {}) }));
  }

  // ---- time ---------------------------------------------------------------------------------

  protected now(): number {
    return Math.round((performance.now() - this.t0) / this.o.timeScale);
  }

  /** Runs `fn` at model time `atMs` (scaled to the real clock). */
  protected at(atMs: number, fn: () => void): NodeJS.Timeout {
    const delay = Math.max(0, atMs * this.o.timeScale - (performance.now() - this.t0));
    const timer = setTimeout(() => {
      this.pendingTimers.delete(timer);
      if (!this.stopped) fn();
    }, delay);
    this.pendingTimers.add(timer);
    return timer;
  }

  protected touch(): void {
    this.lastActivityReal = performance.now();
  }

  // ---- trace, end, views ---------------------------------------------------------------------

  protected record(e: TraceEvent): void {
    this.trace.push(e);
    this.touch();
  }

  protected stop(reason: EndReason): void {
    if (this.stopped) return;
    this.endReason = reason;
    this.stopped = true;
  }

  protected initialExt(): LaneExt {
    return { monitors: this.o.variant.properties.map((p) => p.initial), violations: [] };
  }

  protected clientView(id: NodeId): NodeView {
    const n = this.clients.get(id);
    if (n === undefined || n.stateId < 0) {
      const role = this.o.config.nodes.find((x) => x.id === id)!.role;
      return { id, role, status: n?.status ?? 'not-started', value: null, context: {}, tags: [] };
    }
    const st = n.runtime.state(n.stateId);
    return { id, role: n.role, status: n.status, value: st.snapshot.value, context: st.context, tags: st.tags };
  }

  protected viewWith(server: ServerNodeState): GlobalView {
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
  protected view(): GlobalView {
    const source = this.explain !== undefined && this.unexplained === null ? this.explain : this.oracle;
    const server = source?.serverView() ?? { value: 'serving', context: this.kv?.context() ?? {}, tags: ['server'] };
    return this.viewWith(server);
  }

  protected enabled(id: string): boolean {
    const list = this.o.config.checks.invariants;
    return list === null || list.includes(id);
  }

  protected diagnoseNodes(view: GlobalView): NodeDiagnosis[] {
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
}
