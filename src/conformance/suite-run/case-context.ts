/**
 * What one case's run against a live target holds while its steps run: its clients, proxies,
 * captures, the kv model and the server model, where the target is, and whether it crashed. The
 * case driver (./case-run.ts) and its step helpers (connections and sends, faults, expectations)
 * share it.
 */
import type { Suite } from '../../scenario/load-suite.js';
import type { CaseFile } from '../../scenario/suite-schema.js';
import type { MessageProxy } from '../proxy/message-proxy.js';
import type { KvOutcome } from '../im-http-client.js';
import { KvHistory, KvStoreOracle } from '../kv-store-oracle.js';
import { ServerModelOracle } from '../server-model-oracle.js';
import { serverMappingFor } from '../server-mapping-for.js';
import type { LiveCodec } from '../live-codec.js';
import type { ConnectionLimits, HarnessConnection } from '../live-connection.js';
import type { UdpFaultProxy } from '../proxy/udp-proxy.js';
import type { ResolvedTarget } from '../live-target.js';
import type { ExitInfo, ManagedProcess } from '../managed-process.js';
import { PatternError, type Captures } from '../message-pattern.js';

/** A harness client: a stream connection, or kv requests in flight. */
export interface ClientState {
  name: string;
  connection?: HarnessConnection;
  lastWriteMs: number;
  store?: string;
  /** the case disconnected it itself */
  left?: boolean;
  /** kv: requests sent and not yet checked, oldest first */
  pending: { request: unknown; outcome: Promise<KvOutcome>; handle?: number }[];
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** One case's run: its clients, proxies, captures and the kv model. */
export class CaseContext {
  readonly clients = new Map<string, ClientState>();
  /** each faulted client's message proxy (TCP, or QUIC: a terminating proxy) */
  readonly proxies = new Map<string, MessageProxy>();
  /** QUIC targets: each client with datagram faults has a UDP proxy (behind its message proxy, if any) */
  readonly udpProxies = new Map<string, UdpFaultProxy>();
  readonly captures: Captures = new Map();
  /** the key-value requests and replies of the case, as the kv-store oracle takes them */
  readonly kvHistory = new KvHistory(new KvStoreOracle());
  /** the server model stepped alongside a stream protocol's cases, where there is one */
  readonly streamOracle: ServerModelOracle | undefined;
  /** clients whose closed connection has been seen (by a step or the model check) */
  readonly closedSeen = new Set<string>();
  /** clients whose link has a fault that may lose what they send */
  readonly lossy = new Set<string>();
  /**
   * TCP clients whose link is partitioned, with what they did since (sends, a close): the link
   * holds the bytes and delivers them when the partition heals, as TCP does, so the server model
   * takes them then, in order (each op is told whether the moment is unsure: they may never arrive).
   */
  readonly partitioned = new Map<string, { close: boolean; op: (unsure: boolean) => void }[]>();
  /** captures the server model bound (`$s1`...): they name what a restarted server no longer has */
  readonly modelCaptures = new Set<string>();
  readonly vars: Record<string, string | number>;
  crash: ExitInfo | undefined;
  /** a direct connection the target accepted, or a kv reply */
  reachedTarget = false;
  /** a kv reply arrived */
  replied = false;
  host: string;
  port: number;
  readonly path: string;
  readonly replyTimeoutMs: number;

  constructor(
    readonly suite: Suite,
    readonly c: CaseFile,
    readonly target: ResolvedTarget,
    readonly codec: LiveCodec | null,
    vars: Record<string, string | number>,
    readonly limits: ConnectionLimits,
    readonly process: ManagedProcess | undefined,
    address: string,
  ) {
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

  /** Gives the exit event of a target that just died a moment to arrive, so a crash is not taken for a failure. */
  async checkCrashQuietly(): Promise<void> {
    if (this.process !== undefined && this.crash === undefined && this.process.running) await sleep(150);
    if (this.process !== undefined && !this.process.running && this.process.exit !== undefined && !this.process.exit.expected) this.crash = this.process.exit;
  }

  ms(value: number | string | undefined, fallback: number): number {
    if (value === undefined) return fallback;
    if (typeof value === 'number') return value;
    const v = this.vars[value.slice(1)];
    if (typeof v !== 'number') throw new PatternError(`${value} is not a numeric suite variable`);
    return v;
  }

  client(name: string): ClientState {
    const c = this.clients.get(name);
    if (c === undefined) throw new PatternError(`client ${name} has not connected`);
    return c;
  }

  /** Host and port a client talks to: its proxy when it has faults, else the target. */
  endpoint(name: string): { host: string; port: number } {
    const proxy = this.proxies.get(name) ?? this.udpProxies.get(name);
    return proxy !== undefined ? { host: proxy.host, port: proxy.port } : { host: this.host, port: this.port };
  }

  faulted(name: string): boolean {
    return this.proxies.has(name) || this.udpProxies.has(name);
  }

  /**
   * The target's process ended (kill; `stop`: asked to, so it may say goodbye first): its open
   * connections closed with it, as the server model learns.
   */
  processEnded(stop: boolean): void {
    for (const name of [...this.partitioned.keys()]) this.partitionEnds(name, 'lost', true);
    const open = [...this.clients.values()].filter((c) => c.connection !== undefined && c.left !== true && !this.closedSeen.has(c.name)).map((c) => c.name);
    this.streamOracle?.serverDown(open, new Set(open.filter((name) => this.faulted(name))), stop);
  }

  /** The target's process started again: the model starts afresh, and what it bound is forgotten. */
  processStarted(): void {
    this.streamOracle?.serverUp();
    for (const name of this.modelCaptures) this.captures.delete(name);
    this.modelCaptures.clear();
  }

  /** A client's connection was seen closed: the model learns it too (once). */
  sawClosed(name: string, how: 'end' | 'reset'): void {
    this.partitionEnds(name, 'lost', true);
    if (this.closedSeen.has(name)) return;
    this.closedSeen.add(name);
    const c = this.clients.get(name);
    if (c !== undefined && c.left !== true) this.streamOracle?.disconnect(name, how === 'reset' ? 'reset' : 'closed');
  }

  /** What client `name` did reaches the server now, or, behind a partition of its link, when the partition heals. */
  toServer(name: string, op: (unsure: boolean) => void, close = false): void {
    const held = this.partitioned.get(name);
    if (held === undefined) op(false);
    else held.push({ close, op });
  }

  /**
   * What `name`'s partitioned link held reaches the server now (`delivered`: healed or cleared), at
   * a moment the model cannot know (`unsure`), or never (`lost`: a reset, a timeout, the process
   * gone; a close held there is taken now, as without a partition). `stays`: the link is still
   * partitioned (what is written next is held again).
   */
  partitionEnds(name: string, how: 'delivered' | 'unsure' | 'lost', stays = false): void {
    const held = this.partitioned.get(name);
    if (held === undefined) return;
    if (stays) this.partitioned.set(name, []);
    else this.partitioned.delete(name);
    for (const h of held) if (how !== 'lost' || h.close) h.op(how === 'unsure');
  }
}
