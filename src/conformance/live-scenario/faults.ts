/**
 * Faults in a live scenario run, struck live at their (scaled) times, each a step of the run
 * (schedule-steps.ts). A client crash resets its connection (`reset`) or makes its host vanish
 * (`silent`: the proxy swallows everything, the server is not told); a partition or a dropped
 * message goes through the clients' fault proxies; a server crash, pause or restart needs a command
 * target that protosim starts. A fault that cannot be carried out live is noted, with why.
 */
import type { NodeId } from '../../models/types.js';
import type { FaultSpec } from '../../sim/config.js';
import { LiveSending } from './sending.js';

type FaultOf<K extends FaultSpec['kind']> = Extract<FaultSpec, { kind: K }>;

export abstract class LiveFaults extends LiveSending {
  protected async applyFault(fault: FaultSpec): Promise<void> {
    this.record({ k: 'fault', t: this.now(), fault });
    switch (fault.kind) {
      case 'crash':
        return this.crash(fault);
      case 'restart':
        return this.restart(fault);
      case 'pause':
      case 'resume':
        return this.pauseOrResume(fault);
      case 'partition':
        return this.partition(fault);
      case 'heal':
        for (const n of this.clients.values()) n.proxy?.heal();
        this.lossy.clear();
        return;
      case 'drop':
        return this.drop(fault);
      case 'duplicate':
        return this.skipFault(fault, 'a byte stream cannot duplicate a message');
    }
  }

  private isServer(id: NodeId): boolean {
    return id === this.serverId;
  }

  private async crash(fault: FaultOf<'crash'>): Promise<void> {
    if (this.isServer(fault.node)) {
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
  }

  private async restart(fault: FaultOf<'restart'>): Promise<void> {
    if (this.isServer(fault.node)) {
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
  }

  private pauseOrResume(fault: FaultOf<'pause' | 'resume'>): void {
    if (this.isServer(fault.node)) {
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
  }

  private partition(fault: FaultOf<'partition'>): void {
    for (const [a, b] of [...fault.from.flatMap((x) => fault.to.map((y) => [x, y] as const))]) {
      const client = this.isServer(a) ? b : this.isServer(b) ? a : undefined;
      if (client === undefined) continue;
      const node = this.clients.get(client);
      if (node?.proxy === undefined) continue;
      node.proxy.set({ partitioned: true });
      this.lossy.add(client);
    }
    if (fault.direction === 'one-way') this.notes.push('a one-way partition is carried out both ways live (a TCP link stalls both ways)');
  }

  private drop(fault: FaultOf<'drop'>): void {
    const client = fault.from !== null && !this.isServer(fault.from) ? fault.from : fault.to !== null && !this.isServer(fault.to) ? fault.to : null;
    const node = client === null ? undefined : this.clients.get(client);
    if (node?.proxy === undefined) return this.skipFault(fault, 'a drop live needs a client end (from or to)');
    node.proxy.drop(fault.from === client ? 'to-target' : 'from-target', fault.count);
    if (fault.msgType !== null) this.notes.push(`drop ${fault.msgType}: live, the next ${fault.count} message(s) on the link are dropped, whatever their type`);
  }

  private skipFault(fault: FaultSpec, why: string): void {
    this.notes.push(`fault ${fault.kind} at ${fault.atMs} ms not carried out live: ${why}`);
  }
}
