/**
 * The kv reference server, the course's IM key-value server (protocols lock-alternation and
 * status-handshake, docs/protocols.md section 1): the rules of src/models/kv-store/serve.ts (the same
 * functions the model's store machine, and so the oracle, steps) on the generic HTTP host.
 *
 * What this file adds to the rules, and only this:
 *  - the wire (src/wire/kvHttp.ts): GET on any path, `?action=get|set|unset|clear|keys&key=K&value=V`
 *    read as PHP's `$_GET` (`+` is a space, the last repeated parameter wins, a missing value is
 *    ""); status 200 `text/html` and bodies with one extra `\n`. A request the rules cannot take
 *    (unknown or missing action, missing key, malformed URL) or refuse (a limit) still answers 200,
 *    as the course server would (clients only read the body), with `error: <reason>\n` and an
 *    `X-Protosim-Error` header;
 *  - the named stores (`store=S`, protosim's extension; '' is the default store): only that query
 *    parameter chooses a store, keys and values are opaque data. Each store is a Map the rules read
 *    through `KvView` and whose changes (`KvChange`) are carried out here, one synchronous step per
 *    request, so atomic under concurrency;
 *  - the named defects, variations of this host, not of the rules: `nonatomic-kv` (a set runs on a
 *    copy of the store across a yield and writes the copy back, in two halves), `no-trailing-newline`
 *    (the wire) and `shared-stores` (`store=S` ignored).
 */
import type { KvReply, KvRequest } from '../../models/kv-store/messages.js';
import { serveKv, storeProblem, type KvChange, type KvLimits, type KvView } from '../../models/kv-store/serve.js';
import { imErrorBody, imHeaders, imKeysBody, imOkBody, imValueBody, isImRefusal, parseImRequest, type ImQuery } from '../../wire/kvHttp.js';
import type { HttpCodec, HttpProtocol, HttpReply, HttpRulesRunner } from '../httpHost.js';
import type { ServerLimits } from '../serverOptions.js';

/** kv's own limit defaults: keys are short names, values are chat messages. */
export const kvLimitDefaults: Partial<ServerLimits> = {
  maxNameChars: 256,
  maxMessageChars: 16 * 1024,
  maxFrameBytes: 64 * 1024,
};

export interface KvConfig {
  limits: ServerLimits;
  defect: string | undefined;
}

/** One request: the store it names and what it asks. */
export interface KvHttpRequest {
  store: string;
  request: KvRequest;
}

/** What the server answers: a reply of the rules, or a refusal with its `X-Protosim-Error` code. */
export type KvAnswer = { reply: KvReply } | { error: string; text: string };

/** How long the `nonatomic-kv` defect yields inside a set: wide enough for requests to interleave. */
const nonatomicYieldMs = 20;

/** The rules' limits out of the server's. */
export const kvRuleLimits = (limits: ServerLimits): KvLimits => ({ maxNameChars: limits.maxNameChars, maxMessageChars: limits.maxMessageChars, maxEntries: limits.maxEntries });

/** The rules' request for a query of the IM interface. */
export function kvRequestOf(query: ImQuery): KvRequest {
  switch (query.action) {
    case 'get':
      return { type: 'GET', key: query.key! };
    case 'set':
      return { type: 'SET', key: query.key!, value: query.value ?? '' };
    case 'unset':
      return { type: 'UNSET', key: query.key! };
    case 'clear':
      return { type: 'CLEAR' };
    case 'keys':
      return { type: 'KEYS' };
  }
}

/** The IM interface's body for a reply of the rules. */
export function kvBody(reply: KvReply): string {
  switch (reply.type) {
    case 'VALUE':
      return imValueBody(reply.value);
    case 'KEY_LIST':
      return imKeysBody(reply.keys);
    case 'CAS_RESULT':
      return imValueBody(reply.value);
    case 'OK':
      return imOkBody;
  }
}

function codec(defect: string | undefined): HttpCodec<KvHttpRequest, KvAnswer> {
  return {
    decode(_method, target) {
      const query = parseImRequest(target);
      if (isImRefusal(query)) return { kind: 'answer', out: { error: query.error, text: query.text } };
      return { kind: 'request', request: { store: defect === 'shared-stores' ? '' : query.store, request: kvRequestOf(query) } };
    },
    encode(out): HttpReply {
      let body = 'reply' in out ? kvBody(out.reply) : imErrorBody(out.text);
      if (defect === 'no-trailing-newline' && body.endsWith('\n')) body = body.slice(0, -1);
      return { status: 200, headers: imHeaders(body, 'error' in out ? out.error : undefined), body };
    },
    internalError: () => ({ error: 'internal', text: 'internal error' }),
  };
}

/** A store held by the server; `entries` is replaced wholesale only by the `nonatomic-kv` defect. */
interface Store {
  entries: Map<string, string>;
}

const view = (entries: Map<string, string>): KvView => ({ get: (key) => entries.get(key) ?? null, size: () => entries.size, keys: () => entries.keys() });

function carryOut(entries: Map<string, string>, change: KvChange | undefined): void {
  if (change === undefined) return;
  if (change.op === 'clear') entries.clear();
  else if (change.op === 'unset') entries.delete(change.key);
  else entries.set(change.key, change.value);
}

function runner(config: KvConfig): HttpRulesRunner<KvHttpRequest, KvAnswer> {
  const limits = kvRuleLimits(config.limits);
  const options = { offersCas: false, limits };
  const stores = new Map<string, Store>();

  return {
    request(_conn, { store: name, request }) {
      const problem = storeProblem(name, stores.has(name), stores.size, limits);
      if (problem !== null) return { error: 'limit', text: problem };
      let store = stores.get(name);
      if (store === undefined) stores.set(name, (store = { entries: new Map() }));
      const outcome = serveKv(view(store.entries), request, options);
      if ('refused' in outcome) return { error: 'limit', text: outcome.refused };
      if (config.defect === 'nonatomic-kv' && outcome.change?.op === 'set') return setNonAtomically(store, outcome.change, outcome.reply);
      carryOut(store.entries, outcome.change);
      return { reply: outcome.reply };
    },
  };
}

/**
 * The `nonatomic-kv` defect: a read-copy-yield-write update, as a server backed by a file it
 * rewrites whole would do. Two sets that overlap lose one of them, and a value written in two halves
 * can be read torn in between.
 */
async function setNonAtomically(store: Store, change: KvChange & { op: 'set' }, reply: KvReply): Promise<KvAnswer> {
  const copy = new Map(store.entries);
  await sleep(nonatomicYieldMs);
  carryOut(copy, { ...change, value: change.value.slice(0, Math.ceil(change.value.length / 2)) });
  store.entries = copy;
  await sleep(nonatomicYieldMs);
  carryOut(copy, change); // into its own copy, which a concurrent set may have replaced meanwhile
  return { reply };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The kv server as a plug-in of the HTTP host. */
export function kvProtocol(config: KvConfig): HttpProtocol<KvHttpRequest, KvAnswer> {
  return { name: 'kv', codec: codec(config.defect), rules: () => runner(config) };
}
