/**
 * The kv-store model as the oracle of a live key-value server (DESIGN: "the model of the role under
 * test is the oracle"): one possible-worlds oracle for every live run of the key-value role —
 * server suites (`expect: model`), model scenarios with a target and their replays.
 *
 * The harness steps the store role's machine (src/models/kv-store/store.ts) with the requests it
 * sends and compares the live replies, in the IM interface's terms, with what the model's `send`
 * actions say. Requests overlap in time, so the oracle keeps every world the live store may be in
 * (linearizability, checked incrementally, Maelstrom style): a request takes effect at some moment
 * between its send and its reply, so on each reply every world may first apply any other request
 * then in flight, then must apply this one, and the model's reply must be the live one. A request
 * whose reply never came (a reset, a timeout under a fault) may take effect at any later moment, or
 * never: both stay possible until a later reply rules one out.
 *
 * Worlds are bounded (`maxKvWorlds`); running out is an `OracleLimitError` (an ERROR that says so),
 * never a verdict on the server.
 */
import { storeRole } from '../models/kv-store/store.js';
import type { KvReply, KvRequest } from '../models/kv-store/messages.js';
import { canonicalJson } from '../sim/canonical-json.js';
import { RoleRuntime } from '../sim/role-runtime.js';
import type { KvWireReply } from './im-http-client.js';
import { OracleLimitError } from './server-model-oracle.js';

/** Most worlds kept possible at once, per store. */
export const maxKvWorlds = 512;

const modelRequestTypes = new Set(['GET', 'SET', 'UNSET', 'CLEAR', 'KEYS']);

/** True when a case's message is a request of the kv-store model (not a raw query). */
export function isModelRequest(msg: unknown): msg is KvRequest {
  return typeof msg === 'object' && msg !== null && modelRequestTypes.has((msg as { type?: unknown }).type as string) && !('action' in msg);
}

/** A live reply the oracle could not explain: what the model answers, what came, and why. */
export interface KvMismatch {
  reason: string;
  expected: string;
  observed: string;
}

/** The IM interface's body for a model reply; KEY_LIST is compared as a set (the server keeps insertion order). */
function wireMatches(reply: KvReply | null, wire: KvWireReply): boolean {
  if (reply === null || wire.status !== 200 || wire.error !== undefined) return false;
  switch (reply.type) {
    case 'VALUE':
      return wire.body === `${reply.value ?? ''}\n`;
    case 'OK':
      return wire.body === '\n';
    case 'KEY_LIST': {
      if (!wire.body.endsWith('\n')) return false;
      if (reply.keys.length === 0) return wire.body === '\n';
      const lines = wire.body.slice(0, -1).split('\n');
      if (lines.pop() !== '') return false;
      // a key may itself hold a newline (it then spans lines): the lines of the keys, in any order
      return JSON.stringify([...lines].sort()) === JSON.stringify(reply.keys.flatMap((k) => k.split('\n')).sort());
    }
    default:
      return false;
  }
}

/** How the model's reply looks on the wire, for FAIL messages. */
export function describeExpectedWire(reply: KvReply): string {
  switch (reply.type) {
    case 'VALUE':
      return `status 200, body ${JSON.stringify(`${reply.value ?? ''}\n`)}`;
    case 'OK':
      return 'status 200, body "\\n"';
    case 'KEY_LIST':
      return `status 200, body ${JSON.stringify(reply.keys.map((k) => `${k}\n`).join('') + '\n')} (keys in any order)`;
    default:
      return JSON.stringify(reply);
  }
}

export function describeWire(wire: KvWireReply | undefined): string {
  if (wire === undefined) return 'no reply';
  return `status ${wire.status}, body ${JSON.stringify(wire.body)}${wire.error !== undefined ? `, X-Protosim-Error ${wire.error}` : ''}`;
}

interface KvWorld {
  state: number;
  /** request id -> the model's reply, for requests applied in this world (kept as a marker for those never answered) */
  applied: Record<number, KvReply | null>;
}

interface InFlight {
  client: string;
  store: string;
  request: KvRequest;
  /** its reply never came: it may take effect later, or never */
  indefinite: boolean;
}

/** How a reply is taken: judged against the model, or followed whatever it says (the case checked it by its own pattern). */
export type ReplyJudgement = 'judge' | 'follow';

export class KvStoreOracle {
  private readonly runtime = new RoleRuntime('store', storeRole(false).machine);
  /** per store name: the worlds the live store may be in */
  private readonly worlds = new Map<string, KvWorld[]>();
  private readonly inFlight = new Map<number, InFlight>();
  private nextId = 1;

  /** `initial`: the data each store starts with (a case clears its store first: empty). */
  constructor(private readonly initial: Readonly<Record<string, string>> = {}) {}

  private worldsOf(store: string): KvWorld[] {
    let ws = this.worlds.get(store);
    if (ws === undefined) {
      ws = [{ state: this.runtime.start({ initial: { ...this.initial }, offersCas: false }).next, applied: {} }];
      this.worlds.set(store, ws);
    }
    return ws;
  }

  /** The store's data in the first possible world (for invariants and reports). */
  context(store = ''): Record<string, unknown> {
    return this.runtime.state(this.worldsOf(store)[0]!.state).context;
  }

  /** A request went out (its send is the earliest it can take effect); its id, for `replied`. */
  sent(client: string, store: string, request: KvRequest): number {
    const id = this.nextId++;
    this.worldsOf(store);
    this.inFlight.set(id, { client, store, request, indefinite: false });
    return id;
  }

  private apply(w: KvWorld, id: number): KvWorld {
    const op = this.inFlight.get(id)!;
    const event = { ...op.request, from: op.client };
    const result = this.runtime.step(w.state, event, canonicalJson(event));
    const send = result.effects.find((e) => e.type === 'send');
    return { state: result.next, applied: { ...w.applied, [id]: send?.type === 'send' ? (send.msg as unknown as KvReply) : null } };
  }

  /**
   * The live reply to request `id` came (`undefined`: none came, the outcome is indefinite). With
   * `judge`, the worlds that do not explain it end, and a reply no world explains is a mismatch;
   * with `follow`, the model applies the request whatever it answers. Throws OracleLimitError when
   * the worlds outgrow maxKvWorlds.
   */
  replied(id: number, wire: KvWireReply | undefined, how: ReplyJudgement = 'judge'): KvMismatch | null {
    const op = this.inFlight.get(id);
    if (op === undefined) return null;
    const accepts = (reply: KvReply | null): boolean => wire === undefined || how === 'follow' || wireMatches(reply, wire);
    // Others in flight on the same store may take effect first (an indefinite one, or not at all).
    const others = [...this.inFlight.entries()].filter(([k, o]) => k !== id && o.store === op.store).map(([k]) => k);
    const limit = (what: string): OracleLimitError =>
      new OracleLimitError(`limit maxKvWorlds=${maxKvWorlds}: more than ${maxKvWorlds} ${what} on store ${JSON.stringify(op.store)}; make the case more definite (fewer requests without replies in flight at once)`);
    const keyOf = (w: KvWorld): string => `${w.state}|${canonicalJson(w.applied)}`;
    // Every world reachable by letting other requests in flight take effect first (each at most once).
    const before = this.worldsOf(op.store);
    const reachable = new Map<string, KvWorld>();
    const frontier: KvWorld[] = [];
    for (const w of before) if (!reachable.has(keyOf(w))) (reachable.set(keyOf(w), w), frontier.push(w));
    while (frontier.length > 0) {
      const w = frontier.pop()!;
      if (id in w.applied) continue;
      for (const other of others) {
        if (other in w.applied) continue;
        const next = this.apply(w, other);
        const key = keyOf(next);
        if (reachable.has(key)) continue;
        reachable.set(key, next);
        if (reachable.size > maxKvWorlds * 8) throw limit('orders of the requests in flight');
        frontier.push(next);
      }
    }
    const out = new Map<string, KvWorld>();
    const keep = (w: KvWorld): void => {
      // An answered request leaves the world's bookkeeping; an unanswered one stays as a marker.
      const applied = wire === undefined ? w.applied : Object.fromEntries(Object.entries(w.applied).filter(([k]) => Number(k) !== id));
      const world = { state: w.state, applied };
      out.set(keyOf(world), world);
      if (out.size > maxKvWorlds) throw limit('worlds explain the replies so far');
    };
    for (const w of reachable.values()) {
      if (id in w.applied) {
        if (accepts(w.applied[id]!)) keep(w);
        continue;
      }
      // Indefinite: it may not have taken effect (yet).
      if (wire === undefined) keep(w);
      const after = this.apply(w, id);
      if (accepts(after.applied[id]!)) keep(after);
    }
    if (out.size === 0) {
      const first = this.apply(before[0]!, id).applied[id];
      const reason = others.length === 0 ? `the reply to ${JSON.stringify(op.request)} is not what the kv-store model answers` : `no order of the requests in flight (${others.length + 1} on this store) explains the reply to ${JSON.stringify(op.request)} (the kv-store model runs one request at a time)`;
      this.inFlight.delete(id);
      return { reason, expected: `${op.client} ${JSON.stringify(op.request)} -> ${first ? describeExpectedWire(first) : 'no reply'}`, observed: `${op.client} ${JSON.stringify(op.request)} -> ${describeWire(wire)}` };
    }
    if (wire === undefined) op.indefinite = true;
    else this.inFlight.delete(id);
    this.worlds.set(op.store, [...out.values()]);
    return null;
  }

  /** How many worlds are possible on a store (for tests and reports). */
  possibleWorlds(store = ''): number {
    return this.worldsOf(store).length;
  }
}

type HistoryEntry =
  | { kind: 'send'; handle: number; client: string; store: string; request: KvRequest }
  | { kind: 'reply'; handle: number; wire: KvWireReply | undefined; how?: ReplyJudgement };

/**
 * A live history for the oracle, in real-time order: sends as they go out, replies as they arrive.
 * A reply is taken by the oracle once the case says how (judged by `expect: model`, followed when
 * the case checked it with its own pattern), and only after every reply that arrived before it, so
 * the oracle sees the requests in flight as they really were at each reply.
 */
export class KvHistory {
  private readonly log: HistoryEntry[] = [];
  private readonly ids = new Map<number, number>();
  private nextHandle = 1;

  constructor(readonly oracle: KvStoreOracle) {}

  /** A model request went out; a handle for its reply. */
  send(client: string, store: string, request: KvRequest): number {
    const handle = this.nextHandle++;
    this.log.push({ kind: 'send', handle, client, store, request });
    return handle;
  }

  /** Its reply arrived (undefined: none will: indefinite). */
  arrived(handle: number, wire: KvWireReply | undefined): void {
    this.log.push({ kind: 'reply', handle, wire });
  }

  /**
   * How a reply that arrived is taken; the history is handed to the oracle as far as it can go. The
   * mismatches of judged replies handed on now. Throws OracleLimitError.
   */
  take(handle: number, how: ReplyJudgement): KvMismatch[] {
    const entry = this.log.find((e) => e.kind === 'reply' && e.handle === handle);
    if (entry !== undefined && entry.kind === 'reply') entry.how = how;
    return this.flush();
  }

  private flush(): KvMismatch[] {
    const out: KvMismatch[] = [];
    while (this.log.length > 0) {
      const head = this.log[0]!;
      if (head.kind === 'send') this.ids.set(head.handle, this.oracle.sent(head.client, head.store, head.request));
      else {
        if (head.how === undefined) break;
        const mismatch = this.oracle.replied(this.ids.get(head.handle)!, head.wire, head.how);
        if (mismatch !== null && head.how === 'judge') out.push(mismatch);
      }
      this.log.shift();
    }
    return out;
  }
}
