/**
 * The rules of the simulated world, written once: what a node's status means, what happens to a
 * message when it is written and when it arrives, what a connection's close, a crash and a restart
 * do to the connections, what scripted drop/duplicate rules do, and which nodes are still
 * unfinished. The timed simulator (src/sim/simulator.ts) and the exhaustive explorer's untimed
 * system (src/sim/explore/untimed-system.ts) keep the world in different shapes (objects and an
 * event queue; packed integer vectors) but decide every one of these things here, so the two cannot
 * drift apart. The functions over primitive facts are the hot ones (every send and delivery); the
 * connection rules take a small `Connections` view of the driver's own state.
 */
import type { NodeStatus } from '../../models/types.js';
import type { FaultSpec } from '../config.js';
import type { DropReason } from '../trace.js';

// ---- node status ----------------------------------------------------------------------------

export const NOT_STARTED = 0;
export const RUNNING = 1;
export const DONE = 2;
export const CRASHED = 3;
export const PAUSED = 4;
export const statusNames: readonly NodeStatus[] = ['not-started', 'running', 'done', 'crashed', 'paused'];
export const statusCodes: Readonly<Record<NodeStatus, number>> = { 'not-started': NOT_STARTED, running: RUNNING, done: DONE, crashed: CRASHED, paused: PAUSED };

/** A process is there (it holds its connections): running, or paused. */
export function isLive(status: number): boolean {
  return status === RUNNING || status === PAUSED;
}

/** Roles that serve for ever and accept connections (the store, the chat servers). */
export function isServerRole(role: string): boolean {
  return role === 'store' || role === 'server';
}

// ---- sending and delivering -----------------------------------------------------------------

/**
 * Why a message written now is not carried, or null when it is. Connecting to a program that is not
 * running is refused (killed, exited, not yet started); a server cannot open a connection to a
 * client, only write on the one the client opened, so with none open (the client was killed, or
 * restarted since) its write fails like one to a dead peer.
 */
export function sendRefusal(connected: boolean, fromServer: boolean, toServer: boolean, targetStatus: number): DropReason | null {
  if (connected) return null;
  const noConnection = fromServer && !toServer;
  if (!noConnection && targetStatus !== CRASHED && targetStatus !== NOT_STARTED && targetStatus !== DONE) return null;
  return targetStatus === CRASHED ? 'crashed' : isLive(targetStatus) ? 'reset' : 'not-started';
}

/** Whether the writer of a refused message learns of it (`conn.refused`): not from a host that vanished silently. */
export function refusalNotifies(targetStatus: number, targetSilent: boolean): boolean {
  return !(targetStatus === CRASHED && targetSilent);
}

/**
 * The open-connection count of a pair after a message is carried. Over TCP a send opens (or keeps)
 * the connection; over HTTP each request of a client opens one, which the reply closes.
 */
export function openAfterSend(http: boolean, fromServer: boolean, open: number): number {
  if (!http) return 1;
  return fromServer ? open : open + 1;
}

/** The open-connection count after a message is delivered: an HTTP reply ends its request. */
export function openAfterDelivery(http: boolean, fromServer: boolean, open: number): number {
  return http && fromServer ? Math.max(0, open - 1) : open;
}

/** A message reaching its node: delivered, waiting (the node is paused), or dropped (why). */
export type Arrival = 'deliver' | 'wait' | DropReason;

/**
 * What happens to a protocol message that arrives: a paused node reads nothing until it resumes; a
 * node that is not running loses it. (A partitioned link is decided before, by `partitionedArrival`.)
 */
export function arrival(targetStatus: number): Arrival {
  if (targetStatus === RUNNING) return 'deliver';
  if (targetStatus === PAUSED) return 'wait';
  return targetStatus === CRASHED ? 'crashed' : targetStatus === DONE ? 'closed' : 'not-started';
}

/** A message on a partitioned link: TCP (FIFO) holds it until the partition heals; a datagram is lost. */
export function partitionedArrival(fifo: boolean): 'hold' | 'partition' {
  return fifo ? 'hold' : 'partition';
}

// ---- scripted drop and duplicate rules -------------------------------------------------------

/** A scripted drop/duplicate fault in force: matches the next `remaining` messages it covers. */
export interface MessageRule<N> {
  kind: 'drop' | 'duplicate';
  /** null: any sender / any receiver / any message type */
  from: N | null;
  to: N | null;
  msgType: string | null;
  remaining: number;
}

/**
 * Applies the rules in force to a message: the first matching rule with something left takes it.
 * Returns the copies to carry (0 dropped, 2 duplicated, 1 untouched) and the rules still in force
 * (the same array when no rule matched).
 */
export function applyRules<N>(rules: readonly MessageRule<N>[], from: N, to: N, msgType: string): { copies: 0 | 1 | 2; rules: MessageRule<N>[] } {
  for (let k = 0; k < rules.length; k++) {
    const rule = rules[k]!;
    if (rule.remaining <= 0) continue;
    if ((rule.from === null || rule.from === from) && (rule.to === null || rule.to === to) && (rule.msgType === null || rule.msgType === msgType)) {
      const next: MessageRule<N>[] = [];
      for (let j = 0; j < rules.length; j++) {
        const r = j === k ? { ...rules[j]!, remaining: rules[j]!.remaining - 1 } : rules[j]!;
        if (r.remaining > 0) next.push(r);
      }
      return { copies: rule.kind === 'drop' ? 0 : 2, rules: next };
    }
  }
  return { copies: 1, rules: rules as MessageRule<N>[] };
}

/** The rule a scripted drop/duplicate fault puts in force. */
export function ruleOf<N>(fault: Extract<FaultSpec, { kind: 'drop' | 'duplicate' }>, node: (id: string) => N): MessageRule<N> {
  return {
    kind: fault.kind,
    from: fault.from === null ? null : node(fault.from),
    to: fault.to === null ? null : node(fault.to),
    msgType: fault.msgType,
    remaining: fault.count,
  };
}

// ---- connections: close, crash, restart ------------------------------------------------------

/**
 * A driver's connections, by node index (the order of the scenario's nodes). `discardData` ends the
 * protocol data in flight between two nodes, both ways (their connection's epoch is over);
 * `notify` sends a connection event to `to` about its peer `from`, after the network's delay.
 */
export interface Connections {
  readonly nodeCount: number;
  status(i: number): number;
  isOpen(a: number, b: number): boolean;
  setClosed(a: number, b: number): void;
  discardData(a: number, b: number): void;
  notify(to: number, from: number, event: 'reset' | 'closed'): void;
}

/** `from` closes its connection to `peer` (a program closing a socket, or exiting): a FIN after the data. */
export function closeConnection(c: Connections, from: number, peer: number): void {
  if (!c.isOpen(from, peer)) return;
  c.setClosed(from, peer);
  const st = c.status(peer);
  if (st === CRASHED || st === NOT_STARTED) return;
  c.notify(peer, from, 'closed');
}

/** A program exits: over TCP it closes every connection it has (HTTP requests are closed by their replies). */
export function closeAll(c: Connections, i: number): void {
  for (let peer = 0; peer < c.nodeCount; peer++) if (peer !== i) closeConnection(c, i, peer);
}

/**
 * Node `i` crashed. Killed (`reset`): the kernel resets its connections, the data in flight is
 * discarded, each peer is told. Vanished (`silent`): nothing is said; its peers still think they
 * are connected.
 */
export function crashConnections(c: Connections, i: number, mode: 'reset' | 'silent'): void {
  if (mode !== 'reset') return;
  for (let peer = 0; peer < c.nodeCount; peer++) {
    if (peer === i || !c.isOpen(i, peer)) continue;
    c.setClosed(i, peer);
    c.discardData(i, peer);
    c.notify(peer, i, 'reset');
  }
}

/**
 * Node `i` starts again after a crash: the new process knows none of the old connections (peers of a
 * silently vanished host still thought they were connected); what was in flight on them is lost.
 */
export function restartConnections(c: Connections, i: number): void {
  for (let peer = 0; peer < c.nodeCount; peer++) {
    if (peer === i || !c.isOpen(i, peer)) continue;
    c.setClosed(i, peer);
    c.discardData(i, peer);
  }
}

/** The links (from, to) a partition fault blocks, by node index. */
export function partitionLinks(fault: Extract<FaultSpec, { kind: 'partition' }>, index: (id: string) => number): [number, number][] {
  const out: [number, number][] = [];
  for (const a of fault.from) {
    for (const b of fault.to) {
      if (a === b) continue;
      out.push([index(a), index(b)]);
      if (fault.direction === 'both') out.push([index(b), index(a)]);
    }
  }
  return out;
}

// ---- what is still to do ---------------------------------------------------------------------

/** Tags of a node's machine state that the checks read. */
interface StateFacts {
  done: boolean;
  tags: readonly string[];
}

/**
 * A node is unfinished when its program is there (running or paused), not in a final state, and not
 * a server (servers serve for ever by design).
 */
export function isUnfinished(status: number, st: StateFacts | null): boolean {
  return isLive(status) && st !== null && !st.done && !st.tags.includes('server');
}

/** A running node waits for its person, who has nothing ready to type: the system waits on a human. */
export function isIdleOnPerson(status: number, st: StateFacts | null, inputPending: boolean): boolean {
  return status === RUNNING && st !== null && st.tags.includes('awaitingUser') && !inputPending;
}

/** A node waiting for another (polling, or blocked on a reply): the stuck ones make a deadlock, not a livelock. */
export function isWaiting(st: StateFacts | null): boolean {
  return st !== null && st.tags.includes('waiting');
}

// ---- findings' texts -------------------------------------------------------------------------

const names = (ids: readonly string[]): string => ids.join(', ');

export const findingText = {
  quiescentDeadlock: (ids: readonly string[]): string =>
    `deadlock: nothing can happen any more, and ${names(ids)} ${ids.length === 1 ? 'has' : 'have'} not finished`,
  pollingDeadlock: (ids: readonly string[]): string =>
    `deadlock: ${names(ids)} ${ids.length === 1 ? 'waits' : 'wait'} for ever, polling without progress (the same states repeat with nothing shown to anyone)`,
  livelock: (ids: readonly string[]): string =>
    `livelock: ${names(ids)} keep${ids.length === 1 ? 's' : ''} running through the same states without progress`,
  liveness: (ids: readonly string[], stallBoundMs: number, atMs: number): string =>
    `liveness: no progress for ${stallBoundMs} ms (stallBoundMs) by t=${atMs} while ${names(ids)} had not finished`,
  invariant: (id: string, description: string, reason: string): string => `invariant ${id} (${description}) broken: ${reason}`,
};
