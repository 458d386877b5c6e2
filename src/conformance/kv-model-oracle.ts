/**
 * The kv-store model as the oracle for a live IM server (DESIGN: "the model of the role under test
 * is the oracle"). The harness steps the store role's machine (src/models/kv-store/store.ts) with
 * the same requests it sends the live server and compares the live replies, byte for byte in the
 * IM interface's terms, with what the model's `send` actions say.
 *
 * Live requests overlap in time and some get no reply (a reset, a timeout under a fault), so the
 * oracle keeps the set of model states the server may be in (Maelstrom style): a batch of
 * concurrent requests is explained by some order of them; a request without a reply may or may not
 * have been applied, and both branches stay possible until a later reply rules one out.
 */
import { storeRole } from '../models/kv-store/store.js';
import type { KvReply, KvRequest } from '../models/kv-store/messages.js';
import { canonicalJson } from '../sim/canonical-json.js';
import { RoleRuntime } from '../sim/role-runtime.js';
import type { KvWireReply } from './im-http-client.js';

/** One request of a batch, with what came back (or not). */
export interface KvOp {
  client: string;
  store: string;
  request: KvRequest;
  /** undefined: no reply (the outcome is indefinite) */
  reply: KvWireReply | undefined;
}

export type KvVerdict = { ok: true } | { ok: false; expected: string; observed: string; reason: string };

/** Most requests checked as one concurrent batch (orders grow as n!). */
export const maxConcurrentModelOps = 6;
/** Most model states kept possible at once. */
export const maxPossibleStates = 256;

const modelRequestTypes = new Set(['GET', 'SET', 'UNSET', 'CLEAR', 'KEYS']);

/** True when a case's message is a request of the kv-store model (not a raw query). */
export function isModelRequest(msg: unknown): msg is KvRequest {
  return typeof msg === 'object' && msg !== null && modelRequestTypes.has((msg as { type?: unknown }).type as string) && !('action' in msg);
}

/** The IM interface's body for a model reply; KEY_LIST is compared as a set (the server keeps insertion order). */
function wireMatches(reply: KvReply, wire: KvWireReply): boolean {
  if (wire.status !== 200 || wire.error !== undefined) return false;
  switch (reply.type) {
    case 'VALUE':
      return wire.body === `${reply.value ?? ''}\n`;
    case 'OK':
      return wire.body === '\n';
    case 'KEY_LIST': {
      if (!wire.body.endsWith('\n')) return false;
      const lines = wire.body.slice(0, -1).split('\n');
      if (reply.keys.length === 0) return wire.body === '\n';
      if (lines.pop() !== '') return false;
      return JSON.stringify([...lines].sort()) === JSON.stringify([...reply.keys].sort());
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

function describeRequest(r: KvRequest): string {
  return JSON.stringify(r);
}

export class KvModelOracle {
  private readonly runtime = new RoleRuntime('store', storeRole(false).machine);
  /** per store name: the model states the live store may be in */
  private readonly possible = new Map<string, Set<number>>();

  private statesOf(store: string): Set<number> {
    let states = this.possible.get(store);
    if (states === undefined) {
      // A case starts from the empty store (it clears it first); the model starts empty too.
      states = new Set([this.runtime.start({ initial: {}, offersCas: false }).next]);
      this.possible.set(store, states);
    }
    return states;
  }

  /** The model's step: next state and its reply to `from`. */
  private apply(state: number, request: KvRequest, from: string): { next: number; reply: KvReply | undefined } {
    const event = { ...request, from };
    const result = this.runtime.step(state, event, canonicalJson(event));
    const send = result.effects.find((e) => e.type === 'send');
    return { next: result.next, reply: send?.type === 'send' ? (send.msg as unknown as KvReply) : undefined };
  }

  /** What the model answers now (first possible state), for messages. */
  expectedFor(store: string, request: KvRequest, from: string): string {
    const [state] = this.statesOf(store);
    const { reply } = this.apply(state!, request, from);
    return reply === undefined ? 'no reply' : describeExpectedWire(reply);
  }

  /** Applies a request the case checked by its own pattern: the model follows, whatever it would have answered. */
  advance(op: KvOp): void {
    const next = new Set<number>();
    for (const state of this.statesOf(op.store)) next.add(this.apply(state, op.request, op.client).next);
    this.possible.set(op.store, next);
  }

  /**
   * Checks a batch of requests that overlapped in time. Passes when some possible state and some
   * order of the requests (leaving out any whose outcome is unknown, or not) gives every reply that
   * came; the possible states become the end states of every such explanation.
   */
  check(ops: readonly KvOp[]): KvVerdict {
    const byStore = new Map<string, KvOp[]>();
    for (const op of ops) byStore.set(op.store, [...(byStore.get(op.store) ?? []), op]);
    for (const [store, list] of byStore) {
      if (list.length > maxConcurrentModelOps) {
        return { ok: false, reason: `limit maxConcurrentModelOps=${maxConcurrentModelOps}: ${list.length} concurrent requests on one store`, expected: '', observed: '' };
      }
      const next = new Set<number>();
      for (const start of this.statesOf(store)) {
        for (const order of permutations(list.length)) {
          const indefinite = order.filter((i) => list[i]!.reply === undefined);
          for (let mask = 0; mask < 1 << indefinite.length; mask++) {
            const skipped = new Set(indefinite.filter((_, b) => (mask & (1 << b)) !== 0));
            let state = start;
            let explained = true;
            for (const i of order) {
              if (skipped.has(i)) continue;
              const op = list[i]!;
              const { next: after, reply } = this.apply(state, op.request, op.client);
              if (op.reply !== undefined && (reply === undefined || !wireMatches(reply, op.reply))) {
                explained = false;
                break;
              }
              state = after;
            }
            if (explained) next.add(state);
            if (next.size > maxPossibleStates) {
              return { ok: false, reason: `limit maxPossibleStates=${maxPossibleStates} reached; make the case more definite`, expected: '', observed: '' };
            }
          }
        }
      }
      if (next.size === 0) return this.explainFailure(store, list);
      this.possible.set(store, next);
    }
    return { ok: true };
  }

  /** What the model would have said in the order the requests were sent, against what came. */
  private explainFailure(store: string, list: readonly KvOp[]): KvVerdict {
    let [state] = this.statesOf(store);
    const expected: string[] = [];
    const observed: string[] = [];
    for (const op of list) {
      const { next, reply } = this.apply(state!, op.request, op.client);
      state = next;
      expected.push(`${op.client} ${describeRequest(op.request)} -> ${reply === undefined ? 'no reply' : describeExpectedWire(reply)}`);
      observed.push(`${op.client} ${describeRequest(op.request)} -> ${describeWire(op.reply)}`);
    }
    const reason =
      list.length === 1
        ? `the reply to ${describeRequest(list[0]!.request)} is not what the kv-store model answers`
        : `no order of the ${list.length} concurrent requests explains the replies (the kv-store model runs one request at a time)`;
    return { ok: false, reason, expected: expected.join('; '), observed: observed.join('; ') };
  }
}

function permutations(n: number): number[][] {
  if (n === 0) return [[]];
  const out: number[][] = [];
  for (const rest of permutations(n - 1)) {
    for (let i = 0; i <= rest.length; i++) out.push([...rest.slice(0, i), n - 1, ...rest.slice(i)]);
  }
  return out;
}
