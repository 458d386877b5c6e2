/**
 * The kv-store model run in shadow of a live IM server while model clients poll it: each reply is
 * checked as it comes against every order in which the requests in flight may have been applied
 * (linearizability, checked incrementally). A world is a store state plus the requests already
 * applied in it with the replies the model gave them; a request applies at some moment between
 * its send and its reply, so on each reply every world may first apply any of the other requests
 * in flight, then must apply this one, and the model's reply must be the live one. Model clients
 * send one request at a time, so the requests in flight are at most one per client.
 */
import { storeRole } from '../models/kv-store/store.js';
import type { KvReply, KvRequest } from '../models/kv-store/messages.js';
import { canonicalJson } from '../sim/canonical-json.js';
import { RoleRuntime } from '../sim/role-runtime.js';
import type { KvWireReply } from './im-http-client.js';
import { describeExpectedWire, describeWire } from './kv-model-oracle.js';

interface KvWorld {
  state: number;
  /** request id -> the model's reply, for requests applied and not yet answered live */
  applied: Record<number, KvReply | null>;
}

/** Most worlds kept possible at once. */
export const maxKvWorlds = 512;

/** The IM interface's body for a model reply. */
function wireMatches(reply: KvReply | null, wire: KvWireReply): boolean {
  if (reply === null || wire.status !== 200) return false;
  switch (reply.type) {
    case 'VALUE':
      return wire.body === `${reply.value ?? ''}\n`;
    case 'OK':
      return wire.body === '\n';
    case 'KEY_LIST': {
      const lines = wire.body.split('\n').slice(0, -2);
      return JSON.stringify([...lines].sort()) === JSON.stringify([...reply.keys].sort()) && wire.body.endsWith('\n');
    }
    default:
      return false;
  }
}

export class KvLiveShadow {
  private readonly runtime = new RoleRuntime('store', storeRole(false).machine);
  private worlds: KvWorld[];
  private readonly inFlight = new Map<number, { client: string; request: KvRequest }>();
  private nextId = 1;

  constructor(initial: Record<string, string>) {
    this.worlds = [{ state: this.runtime.start({ initial, offersCas: false }).next, applied: {} }];
  }

  /** The store's data in the first possible world (for invariants and reports). */
  context(): Record<string, unknown> {
    return this.runtime.state(this.worlds[0]!.state).context;
  }

  /** A request went out; returns its id for `reply`. */
  sent(client: string, request: KvRequest): number {
    const id = this.nextId++;
    this.inFlight.set(id, { client, request });
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
   * The live reply to request `id` came (undefined: none came, the outcome is indefinite). Returns
   * null when some order explains it, else what the model would have answered.
   */
  reply(id: number, wire: KvWireReply | undefined): { expected: string; observed: string } | null {
    const op = this.inFlight.get(id);
    if (op === undefined) return null;
    const others = [...this.inFlight.keys()].filter((k) => k !== id);
    const out: KvWorld[] = [];
    const keep = (w: KvWorld): void => {
      const { [id]: _done, ...applied } = w.applied;
      out.push({ state: w.state, applied });
    };
    const explore = (w: KvWorld, depth: number): void => {
      if (id in w.applied) {
        if (wire === undefined || wireMatches(w.applied[id]!, wire)) keep(w);
        return;
      }
      // Indefinite: it may never have been applied.
      if (wire === undefined) keep(w);
      const after = this.apply(w, id);
      if (wire === undefined || wireMatches(after.applied[id]!, wire)) keep(after);
      if (depth > others.length) return;
      for (const other of others) if (!(other in w.applied)) explore(this.apply(w, other), depth + 1);
    };
    for (const w of this.worlds) explore(w, 0);
    this.inFlight.delete(id);
    const seen = new Map<string, KvWorld>();
    for (const w of out) seen.set(`${w.state}|${canonicalJson(w.applied)}`, w);
    if (seen.size === 0) {
      const first = this.apply(this.worlds[0]!, id).applied[id];
      return { expected: first ? describeExpectedWire(first) : 'no reply', observed: describeWire(wire) };
    }
    this.worlds = [...seen.values()].slice(0, maxKvWorlds);
    return null;
  }
}
