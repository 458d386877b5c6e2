/**
 * The key-value store's rules (the course's IM server, docs/protocols.md section 1): pure functions from
 * (a store's contents, a request) to the next contents and the reply. Both the model's store
 * machine (store.ts, which the oracle and the IM server the harness plays for client programs step)
 * and the reference server (src/servers/protocols/kv.ts) run exactly these functions: one reading.
 * The HTTP interface (query decoding as PHP's `$_GET`, bodies with the extra newline) is the wire's
 * (src/wire/kvHttp.ts); the server's named stores (`store=S`, protosim's extension) are `selectStore`.
 *
 * Readings decided when the model and the reference server were made one (they disagreed):
 *  - `keys` lists the keys sorted by Unicode code point (the order of their UTF-8 bytes), not in
 *    insertion order (the old server's). No document fixes an order: docs/protocols.md says only "each
 *    key followed by `\n`", the seeds never read `keys` but to see whether the store is empty, and
 *    the oracle compares the list as a set. A store is its contents: the explorers identify two
 *    stores with the same pairs (states are keyed by canonical JSON, object keys sorted), so an
 *    insertion order would be hidden state that the model could not answer from; and a JavaScript
 *    object lists integer-like keys (`7`, `42`) first whatever the insertion.
 *    Sorted is the one order every store with the same contents gives, whatever built it;
 *  - keys are opaque data, `__proto__`, `constructor` and `toString` included: they are stored and
 *    read as own entries, never as properties of the object that holds the store (the old model read
 *    `data[key]`, so `get constructor` on an empty store answered a function);
 *  - a value of `""` and an absent key both read back as `\n` on the wire (VALUE "" and VALUE null);
 *  - the reference server's hardening limits (key, value and store-name length, keys per store,
 *    stores) are options of these rules (`KvLimits`); the model leaves them unbounded, since
 *    docs/protocols.md has none. A refused request changes nothing;
 *  - CAS is offered only by the `fixed` variants' store; the IM interface has no such action.
 *
 * The reference server's three defects are not rules: `nonatomic-kv` runs these rules on a copy of
 * the store across a yield (src/servers/protocols/kv.ts), `no-trailing-newline` is the wire and
 * `shared-stores` ignores `store=S`.
 */
import type { KvReply, KvRequest } from './messages.js';

/** One store's contents as the model keeps them: key -> value (own properties only; see `recordStore`). */
export type KvData = Record<string, string>;

/** What the rules read of a store: the model's record or the server's Map answer the same. */
export interface KvView {
  get(key: string): string | null;
  size(): number;
  keys(): Iterable<string>;
}

/** What a request changes; the holder of the store carries it out (`applyToRecord`, or on a Map). */
export type KvChange = { op: 'set'; key: string; value: string } | { op: 'unset'; key: string } | { op: 'clear' };

export interface KvLimits {
  /** longest key or store name, in characters (code points) */
  maxNameChars: number;
  /** longest value, in characters */
  maxMessageChars: number;
  /** most keys in one store, and most stores */
  maxEntries: number;
}

/** The model's limits: none. */
export const modelKvLimits: Readonly<KvLimits> = {
  maxNameChars: Number.POSITIVE_INFINITY,
  maxMessageChars: Number.POSITIVE_INFINITY,
  maxEntries: Number.POSITIVE_INFINITY,
};

export interface KvRuleOptions {
  /** the fixed variants' compare-and-set */
  offersCas: boolean;
  /** default `modelKvLimits` */
  limits?: KvLimits;
}

/** The answer to one request: the reply and what it changes, or a refusal (nothing changes). */
export type KvOutcome = { reply: KvReply; change?: KvChange } | { refused: string };

const chars = (text: string): number => [...text].length;
const hasOwn = (record: object, key: string): boolean => Object.prototype.hasOwnProperty.call(record, key);

/** The model's record as a store: own entries only, whatever the key's name. */
export function recordStore(data: KvData): KvView {
  return { get: (key) => (hasOwn(data, key) ? data[key]! : null), size: () => Object.keys(data).length, keys: () => Object.keys(data) };
}

/** The record after `change`; `data` is not changed. */
export function applyToRecord(data: KvData, change: KvChange | undefined): KvData {
  if (change === undefined) return data;
  if (change.op === 'clear') return {};
  if (change.op === 'unset' && !hasOwn(data, change.key)) return data;
  const next: KvData = {};
  for (const k of Object.keys(data)) if (k !== change.key) define(next, k, data[k]!);
  if (change.op === 'set') define(next, change.key, change.value);
  return next;
}

/** An own entry even for `__proto__` (a plain assignment would set the prototype). */
function define(record: object, key: string, value: unknown): void {
  Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Compares by Unicode code point (the order of UTF-8 bytes; JavaScript's sort compares UTF-16 units). */
export function compareCodePoints(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i]!.codePointAt(0)! - y[i]!.codePointAt(0)!;
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

function setProblem(store: KvView, key: string, value: string, limits: KvLimits): string | null {
  if (chars(value) > limits.maxMessageChars) return `value longer than maxMessageChars=${limits.maxMessageChars}`;
  if (store.get(key) === null && store.size() >= limits.maxEntries) return `store full: limit maxEntries=${limits.maxEntries} reached`;
  return null;
}

/** The store's answer to one request. */
export function serveKv(store: KvView, req: KvRequest, o: KvRuleOptions): KvOutcome {
  const limits = o.limits ?? modelKvLimits;
  if (req.type === 'CLEAR') return { reply: { type: 'OK', op: 'CLEAR' }, change: { op: 'clear' } };
  if (req.type === 'KEYS') return { reply: { type: 'KEY_LIST', keys: [...store.keys()].sort(compareCodePoints) } };
  if (chars(req.key) > limits.maxNameChars) return { refused: `key longer than maxNameChars=${limits.maxNameChars}` };
  switch (req.type) {
    case 'GET':
      return { reply: { type: 'VALUE', key: req.key, value: store.get(req.key) } };
    case 'UNSET':
      return { reply: { type: 'OK', op: 'UNSET' }, change: { op: 'unset', key: req.key } };
    case 'SET': {
      const refused = setProblem(store, req.key, req.value, limits);
      if (refused !== null) return { refused };
      return { reply: { type: 'OK', op: 'SET' }, change: { op: 'set', key: req.key, value: req.value } };
    }
    case 'CAS': {
      const current = store.get(req.key);
      if (!o.offersCas || current !== req.expected) return { reply: { type: 'CAS_RESULT', key: req.key, ok: false, value: current } };
      const refused = setProblem(store, req.key, req.value, limits);
      if (refused !== null) return { refused };
      return { reply: { type: 'CAS_RESULT', key: req.key, ok: true, value: req.value }, change: { op: 'set', key: req.key, value: req.value } };
    }
  }
}

/**
 * Why the reference server cannot use store `name` (protosim's `store=S`; '' is the default store),
 * or null: `known` says whether it exists, `count` how many stores there are.
 */
export function storeProblem(name: string, known: boolean, count: number, limits: KvLimits): string | null {
  if (chars(name) > limits.maxNameChars) return `store name longer than maxNameChars=${limits.maxNameChars}`;
  if (!known && count >= limits.maxEntries) return `too many stores: limit maxEntries=${limits.maxEntries} reached`;
  return null;
}
