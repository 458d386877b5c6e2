/**
 * The client nodes of a live scenario run: each client role is its xstate machine, stepped with the
 * pure `transition` (as in the simulator), through the kernel's effect rules
 * (src/sim/kernel/effects.ts): the workload's lines are typed at its prompts, its `send` effects go
 * to the live server (sending.ts), decoded replies come back as events, and its timers run on the
 * real clock, scaled by `timeScale`. All of it is event-driven: a prompt, a reply, a timer or a
 * closed connection moves a node; the run's steps (schedule-steps.ts) only start the nodes and
 * strike the faults. A typed line or a quit waits for the prompt (at its planned time from the
 * schedule, or after a think time drawn from the seed), so it is not a step. Each client reaches
 * the server over its own fault proxy, so faults can strike its link.
 */
import type { Effect, NodeId, ProtocolMessage } from '../../models/types.js';
import { RoleRuntime } from '../../sim/role-runtime.js';
import { sample } from '../../sim/simulator.js';
import { carryOutEffects, type EffectHost } from '../../sim/kernel/effects.js';
import { canonicalJson } from '../../sim/canonical-json.js';
import { replyFromWire } from '../client-wire.js';
import { FaultProxy } from '../fault-proxy.js';
import { ConnectError, defaultConnectionLimits, LiveConnection } from '../live-connection.js';
import { show } from '../message-pattern.js';
import { OracleLanes } from './oracle-lanes.js';
import type { ClientNode } from './types.js';

export abstract class ClientNodes extends OracleLanes {
  /** Sends a client's message to the live server (sending.ts). */
  protected abstract send(node: ClientNode, msg: ProtocolMessage): void;

  protected async startClient(id: NodeId, fresh: boolean): Promise<void> {
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

  protected async connect(node: ClientNode): Promise<void> {
    const codec = this.o.codec!;
    if (node.proxy === undefined) {
      node.proxy = await FaultProxy.start({ targetHost: this.host, targetPort: this.port, splitter: (direction) => codec.splitter(direction, defaultConnectionLimits.maxFrameBytes) });
    } else node.proxy.clear();
    const connection = await LiveConnection.open(node.id, node.proxy.host, node.proxy.port, codec, defaultConnectionLimits, this.o.replyTimeoutMs);
    node.connection = connection;
    void this.readLoop(node, connection, node.epoch);
  }

  protected async readLoop(node: ClientNode, connection: LiveConnection, epoch: number): Promise<void> {
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

  protected whenRunning(node: ClientNode, fn: () => void): void {
    if (node.status === 'paused') node.inbox.push(fn);
    else if (node.status === 'running') fn();
  }

  protected onArrival(node: ClientNode, wire: unknown): void {
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

  protected deliver(node: ClientNode, msg: ProtocolMessage): void {
    const id = this.nextMessageId++;
    this.whenRunning(node, () => {
      this.record({ k: 'deliver', t: this.now(), id, from: this.serverId, to: node.id, msg });
      node.lastReceived = { t: this.now(), from: this.serverId, msg };
      this.observe({ kind: 'deliver', from: this.serverId, to: node.id, msg });
      if (this.stopped) return;
      this.stepNode(node, { ...msg, from: this.serverId });
    });
  }

  protected onClosed(node: ClientNode, how: 'reset' | 'closed', detail: string): void {
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

  protected stepNode(node: ClientNode, event: { type: string; [k: string]: unknown }): void {
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

  protected applyEffects(node: ClientNode, effects: readonly Effect[]): void {
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
  protected readonly effectHost: EffectHost<ClientNode> = {
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

  protected cancelTimers(node: ClientNode): void {
    for (const t of node.timers.values()) {
      clearTimeout(t);
      this.pendingTimers.delete(t);
    }
    node.timers.clear();
  }

  protected scheduleInput(node: ClientNode): void {
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
}
