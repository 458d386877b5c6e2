/**
 * The state of one timed run: its event queue, its nodes, its clock and counters, its trace and
 * findings, and the global view the model's invariants and properties read. The run is built in
 * layers, each a class in a file of its own, each extending the one before:
 *
 * - `RunState` (here): the state, set up from the model, the config and the seed's derived options;
 * - `RunChecks` (run-checks.ts): invariants, properties, findings, quiescence and stalls;
 * - `NetworkRun` (run-network.ts): sending and delivering, connections, partitions;
 * - `Simulation` (timed-run.ts): the event loop, stepping nodes, their effects, faults.
 *
 * The world's rules are decided in world-rules.ts and choice.ts; the layers carry them out.
 */
import type { GlobalView, InFlightView, NodeId, NodeView } from '../../models/types.js';
import type { SimConfig } from '../config.js';
import { EventQueue } from '../event-queue.js';
import type { Finding } from '../finding.js';
import type { DerivedOptions, TraceEvent, TraceHeader } from '../trace.js';
import { PrngChoices, type ChoiceSource } from './choice.js';
import type { CompiledModel } from './compiled-model.js';
import { deriveOptions } from './fault-plan.js';
import type { KeyCache } from './key-cache.js';
import type { DeliverEvent, RunControl, RunStats, SimEvent, SimNode } from './run-types.js';
import { isServerRole } from './world-rules.js';

/**
 * A run's global view: reads the live run. A class, with its getters on the prototype: as an object
 * literal with getter closures over the run, it kept every finished run reachable to the
 * young-generation GC until a full GC (each run copied and promoted: most of the swarm's GC time;
 * test/sim/young-gc.test.ts).
 */
class LiveView implements GlobalView {
  constructor(private readonly sim: RunState) {}
  get timeMs(): number {
    return this.sim.viewTime;
  }
  get nodes(): Readonly<Record<NodeId, NodeView>> {
    return this.sim.viewNodes;
  }
  get inFlight(): InFlightView[] {
    return this.sim.viewInFlight();
  }
}

export abstract class RunState {
  protected readonly queue = new EventQueue<SimEvent>();
  protected readonly nodes = new Map<NodeId, SimNode>();
  protected readonly nodeOrder: NodeId[];
  private readonly nodesByRole: Record<string, NodeId[]> = {};
  /** who answers what the world leaves open: delays, losses, think times (see kernel/choice.ts) */
  protected readonly choices: ChoiceSource;
  /** the model's key caches (canonical keys, link names), shared by its runs */
  protected readonly keys: KeyCache;
  private readonly nodeIndex = new Map<NodeId, number>();
  protected readonly monitors: unknown[];
  private readonly nodeViews: Record<NodeId, NodeView> = {};
  protected now = 0;
  protected step = 0;
  protected lastProgressMs = 0;
  protected lastProgressStep = 0;
  protected readonly trace: TraceEvent[] = [];
  protected readonly findings: Finding[] = [];
  protected readonly stats: RunStats = { steps: 0, eventsSimulated: 0, timeMs: 0, messagesSent: 0, messagesDelivered: 0, messagesDropped: 0 };
  protected stopped = false;
  protected readonly derived: DerivedOptions;

  constructor(
    protected readonly model: CompiledModel,
    protected readonly config: SimConfig,
    protected readonly seed: number,
    protected readonly record: boolean,
    protected readonly stopAtFirstFinding: boolean,
    control: RunControl,
  ) {
    this.choices = control.choices?.() ?? new PrngChoices(seed);
    this.keys = model.keys;
    this.derived = control.derived ?? deriveOptions(config, seed);
    this.monitors = model.variant.properties.map((p) => p.initial);
    this.nodeOrder = config.nodes.map((n) => n.id);
    this.nodeOrder.forEach((id, i) => this.nodeIndex.set(id, i));
    for (const n of config.nodes) (this.nodesByRole[n.role] ??= []).push(n.id);
    for (const n of config.nodes) {
      this.nodes.set(n.id, this.newNode(n));
      this.queue.push(this.derived.startAtMs[n.id] ?? 0, { kind: 'start', node: n.id });
    }
    for (const f of this.derived.faults) this.queue.push(f.atMs, { kind: 'fault', fault: f });
    if (config.healAtMs !== null) this.queue.push(config.healAtMs, { kind: 'fault', fault: { kind: 'heal', atMs: config.healAtMs } });
  }

  /** A node of the config, not yet started, with its workload. */
  private newNode(n: SimConfig['nodes'][number]): SimNode {
    const model = this.model;
    const def = model.variant.roles[n.role];
    const runtime = model.runtimes.get(n.role);
    if (!def || !runtime) throw new Error(`node ${n.id}: role ${n.role} is not in ${model.protocol}/${model.variant.name}`);
    const workload = this.config.workload.find((w) => w.node === n.id);
    return {
      id: n.id,
      role: n.role,
      runtime,
      input: def.input({ self: n.id, nodesByRole: this.nodesByRole, params: n.params }),
      stateId: -1,
      status: 'not-started',
      timers: new Map(),
      timerArmedAt: new Map(),
      timerClock: 0,
      savedTimers: [],
      inbox: [],
      nextMessage: 0,
      messages: workload?.messages ?? [],
      think: workload?.think ?? null,
      quitAfter: workload?.quitAfter ?? false,
      inputPending: false,
      life: 0,
      lastSent: null,
      lastReceived: null,
    };
  }

  get header(): TraceHeader {
    return { k: 'header', protosim: 1, seed: this.seed, config: this.config, derived: this.derived };
  }

  protected node(id: NodeId): SimNode {
    const n = this.nodes.get(id);
    if (!n) throw new Error(`unknown node ${id}`);
    return n;
  }

  protected indexOf(id: NodeId): number {
    const i = this.nodeIndex.get(id);
    if (i === undefined) throw new Error(`unknown node ${id}`);
    return i;
  }

  protected cancelTimers(node: SimNode): void {
    for (const t of node.timers.values()) if (t !== null) this.queue.cancel(t);
    node.timers.clear();
  }

  // ---- the global view ------------------------------------------------------------------------

  protected updateView(node: SimNode): void {
    this.nodeViews[node.id] = this.model.nodeView(node.id, node.role, node.status, node.runtime, node.stateId);
  }

  /** One view object per run, reading the live state (built per check, it was a hot allocation). */
  private readonly globalView: GlobalView = new LiveView(this);

  protected view(): GlobalView {
    return this.globalView;
  }

  /** The time, the node views and the messages in flight, for the run's global view. */
  get viewTime(): number {
    return this.now;
  }

  get viewNodes(): Readonly<Record<NodeId, NodeView>> {
    return this.nodeViews;
  }

  viewInFlight(): InFlightView[] {
    return this.queue
      .entries()
      .filter((e) => e.item.kind === 'deliver')
      .map((e) => {
        const d = e.item as DeliverEvent;
        return { from: d.from, to: d.to, msg: d.msg };
      });
  }
}
