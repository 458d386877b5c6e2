/**
 * The IM server the harness plays for client programs of the key-value protocols (1 and 2): the
 * same HTTP interface as `protosim serve kv` (src/wire/kvHttp.ts, docs/protocols.md section 1), whose
 * store is the model's `store` role stepped through xstate's pure `transition` — the model is the
 * server, so a client program sees exactly the store the model checks.
 *
 * Each client program gets its own loopback port (`urlFor('c1')`), so every request is known to
 * come from that client whatever URL path it uses; all ports share one store. Every request is
 * recorded (time, client, action, key, value, reply), so a report can show the requests behind a
 * deadlock and each client's polling rate.
 *
 * Faults are injected here: slow replies, HTTP 500, connection reset, holding a reply (so a client
 * can be killed between two operations), keys left from an earlier session (`preload`), and
 * clients started within the same millisecond (`startTogether`: the first request of each is held
 * until all have sent theirs, then all are applied, in arrival order, before any reply goes out).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { initialTransition, transition, type AnyMachineSnapshot } from 'xstate';
import type { KvReply, KvRequest } from '../../models/kv-store/messages.js';
import { storeMachine } from '../../models/kv-store/store.js';
import { imErrorBody, imHeaders, imKeysBody, imOkBody, imValueBody, isImRefusal, parseImRequest, type ImAction } from '../../models/kv-store/im-http.js';

/** One request a client made, and what it got. */
export interface ImRequestRecord {
  seq: number;
  /** ms since the server started, when the request arrived */
  atMs: number;
  client: string;
  action: ImAction | 'invalid';
  key?: string;
  value?: string;
  store: string;
  /** the reply: status and body, `reset` (connection destroyed), or `none` (still held, or the client went away) */
  reply: { status: number; body: string } | 'reset' | 'none';
  /** the fault applied to it, if any (`slow 200ms`, `http-500`, `reset`, `hold`, `start-together`) */
  fault?: string;
  /** ms since start when the reply was sent */
  repliedAtMs?: number;
}

/** Which requests a fault applies to; absent fields match anything. */
export interface ImRequestFilter {
  client?: string;
  action?: ImAction;
  key?: string;
}

export type ImFault =
  | ({ kind: 'slow'; ms: number; count?: number } & ImRequestFilter)
  | ({ kind: 'http-500'; count?: number } & ImRequestFilter)
  | ({ kind: 'reset'; count?: number } & ImRequestFilter)
  /** apply the request, then keep the reply until `releaseHeld` (or the client dies) */
  | ({ kind: 'hold'; count?: number } & ImRequestFilter);

/** Requests kept in the record; later ones are counted, not kept. */
export const maxRecordedRequests = 200_000;
/** Separate stores (`store=NAME`) at most. */
export const maxStores = 64;

interface Held {
  record: ImRequestRecord;
  res: ServerResponse;
  body: string;
}

interface PendingStart {
  clients: Set<string>;
  arrived: { client: string; run: () => void }[];
  timer: NodeJS.Timeout;
}

export class ImServer {
  readonly requests: ImRequestRecord[] = [];
  /** requests beyond maxRecordedRequests */
  unrecorded = 0;
  private readonly stores = new Map<string, AnyMachineSnapshot>();
  private readonly servers = new Map<string, { server: Server; port: number; sockets: Set<Socket> }>();
  private faults: (ImFault & { remaining: number })[] = [];
  private readonly held: Held[] = [];
  private readonly listeners = new Set<(record: ImRequestRecord, phase: 'arrived' | 'held' | 'replied') => void>();
  private readonly startedAtMs = performance.now();
  private together: PendingStart | undefined;
  /**
   * Decides when an arrived request may be applied (live replay orders requests as a trace did):
   * undefined lets it through at once, a promise holds it until it settles.
   */
  gate: ((record: ImRequestRecord) => Promise<void> | undefined) | undefined;
  /** Holds a reply (the request already took effect) until the promise resolves; a replay orders replies with it. */
  replyGate: ((record: ImRequestRecord) => Promise<void> | undefined) | undefined;
  private seq = 0;

  constructor(initial: Record<string, string> = {}) {
    this.stores.set('', initialTransition(storeMachine, { initial, offersCas: false })[0]);
  }

  /** ms since the server started. */
  nowMs(): number {
    return Math.round(performance.now() - this.startedAtMs);
  }

  /** The URL to give client `name` (its own port; the same store). */
  async urlFor(name: string): Promise<string> {
    let entry = this.servers.get(name);
    if (entry === undefined) {
      const sockets = new Set<Socket>();
      const server = createServer((req, res) => this.handle(name, req, res));
      server.on('connection', (s: Socket) => {
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
      });
      server.on('clientError', (_e, socket: Socket) => socket.destroy());
      const port = await new Promise<number>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ host: '127.0.0.1', port: 0 }, () => {
          const a = server.address();
          resolve(typeof a === 'object' && a !== null ? a.port : 0);
        });
      });
      entry = { server, port, sockets };
      this.servers.set(name, entry);
    }
    return `http://127.0.0.1:${entry.port}/IMserver.php`;
  }

  /** Which client a port belongs to (for reports). */
  clientNames(): string[] {
    return [...this.servers.keys()];
  }

  /** Keys left from an earlier session: set as they are, without a request. */
  preload(data: Readonly<Record<string, string>>, store = ''): void {
    for (const [key, value] of Object.entries(data)) this.step(store, { type: 'SET', key, value }, 'harness');
  }

  /** The store's contents now (the model's context). */
  data(store = ''): Record<string, string> {
    const snap = this.stores.get(store);
    return snap === undefined ? {} : { ...(snap.context as { data: Record<string, string> }).data };
  }

  addFault(fault: ImFault): void {
    this.faults.push({ ...fault, remaining: fault.count ?? Infinity });
  }

  clearFaults(): void {
    this.faults = [];
  }

  /**
   * Clients started within the same millisecond: the first request of each of `clients` is held
   * until all have arrived (or `timeoutMs` passes), then all are applied in arrival order and answered.
   */
  startTogether(clients: readonly string[], timeoutMs: number): void {
    const pending: PendingStart = {
      clients: new Set(clients),
      arrived: [],
      timer: setTimeout(() => this.releaseTogether(), timeoutMs),
    };
    this.together = pending;
  }

  private releaseTogether(): void {
    const pending = this.together;
    if (pending === undefined) return;
    this.together = undefined;
    clearTimeout(pending.timer);
    for (const a of pending.arrived) a.run();
  }

  /** Sends the replies held by `hold` faults (for clients still there). */
  releaseHeld(filter: ImRequestFilter = {}): void {
    for (let i = this.held.length - 1; i >= 0; i--) {
      const h = this.held[i]!;
      if (!matches(filter, h.record)) continue;
      this.held.splice(i, 1);
      this.reply(h.record, h.res, 200, h.body);
    }
  }

  /** Listens to requests: `arrived`, `held` (a hold fault kept its reply), `replied`. Returns the unsubscribe function. */
  onRequest(listener: (record: ImRequestRecord, phase: 'arrived' | 'held' | 'replied') => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Requests per second of each client over `[fromMs, toMs]` (default: from its first request to now). */
  pollingRates(fromMs?: number, toMs = this.nowMs()): Record<string, { requests: number; spanMs: number; perSecond: number }> {
    const out: Record<string, { requests: number; spanMs: number; perSecond: number }> = {};
    for (const name of this.clientNames()) {
      const mine = this.requests.filter((r) => r.client === name && r.atMs >= (fromMs ?? 0) && r.atMs <= toMs);
      if (mine.length === 0) {
        out[name] = { requests: 0, spanMs: 0, perSecond: 0 };
        continue;
      }
      const start = fromMs ?? mine[0]!.atMs;
      const spanMs = Math.max(1, toMs - start);
      out[name] = { requests: mine.length, spanMs, perSecond: Math.round((mine.length * 10000) / spanMs) / 10 };
    }
    return out;
  }

  async close(): Promise<void> {
    this.releaseTogether();
    for (const h of this.held.splice(0)) h.res.destroy();
    await Promise.all(
      [...this.servers.values()].map(
        (e) =>
          new Promise<void>((resolve) => {
            for (const s of e.sockets) s.destroy();
            e.server.close(() => resolve());
          }),
      ),
    );
    this.servers.clear();
  }

  private emit(record: ImRequestRecord, phase: 'arrived' | 'held' | 'replied'): void {
    for (const l of [...this.listeners]) l(record, phase);
  }

  private handle(client: string, req: IncomingMessage, res: ServerResponse): void {
    req.resume();
    const query = parseImRequest(req.url ?? '/');
    const record: ImRequestRecord = {
      seq: this.seq++,
      atMs: this.nowMs(),
      client,
      action: isImRefusal(query) ? 'invalid' : query.action,
      ...(isImRefusal(query) || query.key === undefined ? {} : { key: query.key }),
      ...(isImRefusal(query) || query.value === undefined ? {} : { value: query.value }),
      store: isImRefusal(query) ? '' : query.store,
      reply: 'none',
    };
    if (this.requests.length < maxRecordedRequests) this.requests.push(record);
    else this.unrecorded += 1;
    res.on('close', () => {
      const i = this.held.findIndex((h) => h.res === res);
      if (i >= 0) this.held.splice(i, 1);
    });
    this.emit(record, 'arrived');
    if (isImRefusal(query)) {
      this.reply(record, res, 200, imErrorBody(query.text), query.error);
      return;
    }
    const gate = this.gate?.(record);
    const apply = gate === undefined ? (): void => this.applyWithFaults(record, res) : (): void => void gate.then(() => (res.destroyed ? undefined : this.applyWithFaults(record, res)));
    const together = this.together;
    if (together !== undefined && together.clients.has(client)) {
      together.clients.delete(client);
      record.fault = 'start-together';
      together.arrived.push({ client, run: apply });
      if (together.clients.size === 0) this.releaseTogether();
      return;
    }
    apply();
  }

  private takeFault(record: ImRequestRecord): ImFault | undefined {
    for (const f of this.faults) {
      if (f.remaining > 0 && matches(f, record)) {
        f.remaining -= 1;
        return f;
      }
    }
    return undefined;
  }

  private applyWithFaults(record: ImRequestRecord, res: ServerResponse): void {
    const fault = this.takeFault(record);
    if (fault?.kind === 'slow') {
      record.fault = `slow ${fault.ms}ms`;
      setTimeout(() => {
        if (res.destroyed) return; // the client gave up (a timeout): nothing applied, as a server that never got to it
        this.answer(record, res, undefined);
      }, fault.ms);
      return;
    }
    if (fault?.kind === 'http-500') {
      record.fault = 'http-500';
      this.reply(record, res, 500, 'Internal Server Error\n');
      return;
    }
    if (fault?.kind === 'reset') {
      record.fault = 'reset';
      record.reply = 'reset';
      record.repliedAtMs = this.nowMs();
      res.socket?.resetAndDestroy();
      this.emit(record, 'replied');
      return;
    }
    this.answer(record, res, fault);
  }

  private answer(record: ImRequestRecord, res: ServerResponse, fault: ImFault | undefined): void {
    const request = kvRequestOfRecord(record);
    const store = record.store;
    if (!this.stores.has(store) && this.stores.size >= maxStores) {
      this.reply(record, res, 200, imErrorBody(`too many stores: limit maxStores=${maxStores} reached`), 'limit');
      return;
    }
    const reply = this.step(store, request, record.client);
    const body = replyBody(reply);
    if (fault?.kind === 'hold') {
      record.fault = 'hold';
      this.held.push({ record, res, body });
      this.emit(record, 'held');
      return;
    }
    const wait = this.replyGate?.(record);
    if (wait !== undefined) void wait.then(() => this.reply(record, res, 200, body));
    else this.reply(record, res, 200, body);
  }

  /** Steps the model's store with one request; returns its reply (the `send` action's message). */
  private step(store: string, request: KvRequest, from: string): KvReply {
    const snapshot = this.stores.get(store) ?? initialTransition(storeMachine, { initial: {}, offersCas: false })[0];
    const [next, actions] = transition(storeMachine, snapshot, { ...request, from } as never);
    this.stores.set(store, next);
    for (const a of actions as { type: string; params?: unknown }[]) {
      if (a.type === 'send') return (a.params as { msg: KvReply }).msg;
    }
    throw new Error(`the store model gave no reply to ${request.type}`);
  }

  private reply(record: ImRequestRecord, res: ServerResponse, status: number, body: string, error?: string): void {
    record.reply = { status, body };
    record.repliedAtMs = this.nowMs();
    if (!res.destroyed) {
      res.writeHead(status, imHeaders(body, error));
      res.end(body);
    }
    this.emit(record, 'replied');
  }
}

function matches(filter: ImRequestFilter, record: ImRequestRecord): boolean {
  return (
    (filter.client === undefined || filter.client === record.client) &&
    (filter.action === undefined || filter.action === record.action) &&
    (filter.key === undefined || filter.key === record.key)
  );
}

/** The kv-store model's request for a request the IM server received. */
export function kvRequestOfRecord(record: ImRequestRecord): KvRequest {
  switch (record.action) {
    case 'get':
      return { type: 'GET', key: record.key ?? '' };
    case 'set':
      return { type: 'SET', key: record.key ?? '', value: record.value ?? '' };
    case 'unset':
      return { type: 'UNSET', key: record.key ?? '' };
    case 'clear':
      return { type: 'CLEAR' };
    default:
      return { type: 'KEYS' };
  }
}

function replyBody(reply: KvReply): string {
  switch (reply.type) {
    case 'VALUE':
      return imValueBody(reply.value);
    case 'KEY_LIST':
      return imKeysBody(reply.keys);
    default:
      return imOkBody;
  }
}

/** `GET connected`, `SET lock=2`, `KEYS` — a request as a report shows it. */
export function describeImRequest(r: Pick<ImRequestRecord, 'action' | 'key' | 'value'>): string {
  const action = r.action.toUpperCase();
  if (r.action === 'set') return `${action} ${r.key}=${JSON.stringify(r.value ?? '')}`;
  return r.key !== undefined ? `${action} ${r.key}` : action;
}
