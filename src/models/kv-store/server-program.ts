/**
 * The kv reference server, the course's IM key-value server (protocols lock-alternation and
 * status-handshake, docs/protocols.md section 1), as the generic HTTP host runs it
 * (src/servers/rules-host.ts): the rules of serve.ts (the same functions the model's store machine,
 * and so the oracle, steps).
 *
 * What this adds to the rules, and only this:
 *  - the wire (im-http.ts): GET on any path, `?action=get|set|unset|clear|keys&key=K&value=V` read as
 *    PHP's `$_GET` (`+` is a space, the last repeated parameter wins, a missing value is ""); status
 *    200 `text/html` and bodies with one extra `\n`. A request the rules cannot take (unknown or
 *    missing action, missing key, malformed URL) or refuse (a limit) still answers 200, as the course
 *    server would (clients only read the body), with `error: <reason>\n` and an `X-Protosim-Error`
 *    header;
 *  - the named stores (`store=S`, protosim's extension; '' is the default store): only that query
 *    parameter chooses a store, keys and values are opaque data. Each store is a Map the rules read
 *    through `KvView` and whose changes (`KvChange`) are carried out here, one step per request, so
 *    atomic under concurrency;
 *  - the named defects, variations of the server, not of the rules: `nonatomic-kv` (a set runs on a
 *    copy of the store across a yield and writes the copy back, in two halves), `no-trailing-newline`
 *    (the wire) and `shared-stores` (`store=S` ignored).
 */
import type { HttpServer, HttpStep, ServerSetup } from '../server-program.js';
import { imErrorBody, imHeaders, imKeysBody, imOkBody, imValueBody, isImRefusal, parseImRequest, type ImQuery } from './im-http.js';
import type { KvReply, KvRequest } from './messages.js';
import { serveKv, storeProblem, type KvChange, type KvLimits, type KvView } from './serve.js';

/** The named flaws of the reference server. */
export const kvDefects = [
  { name: 'nonatomic-kv', description: 'set copies the store, yields, then writes the copy back (concurrent sets are lost) and writes values in two halves (a get can see a torn value)' },
  { name: 'no-trailing-newline', description: 'response bodies lack the extra trailing newline the course server sends' },
  { name: 'shared-stores', description: 'the store option is ignored: every client shares the default store' },
] as const;

/** One request: the store it names and what it asks. */
export interface KvHttpRequest {
  store: string;
  request: KvRequest;
}

/** What the server answers: a reply of the rules, or a refusal with its `X-Protosim-Error` code. */
export type KvAnswer = { reply: KvReply } | { error: string; text: string };

/** How long the `nonatomic-kv` defect yields inside a set: wide enough for requests to interleave. */
const nonatomicYieldMs = 20;

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

/** A store held by the server; `entries` is replaced wholesale only by the `nonatomic-kv` defect. */
interface Store {
  entries: Map<string, string>;
}

/** The stores by name; the rules update them in place (one step per request). */
type Stores = Map<string, Store>;

const view = (entries: Map<string, string>): KvView => ({ get: (key) => entries.get(key) ?? null, size: () => entries.size, keys: () => entries.keys() });

function carryOut(entries: Map<string, string>, change: KvChange | undefined): void {
  if (change === undefined) return;
  if (change.op === 'clear') entries.clear();
  else if (change.op === 'unset') entries.delete(change.key);
  else entries.set(change.key, change.value);
}

/**
 * The `nonatomic-kv` defect: a read-copy-yield-write update, as a server backed by a file it
 * rewrites whole would do. Two sets that overlap lose one of them, and a value written in two halves
 * can be read torn in between.
 */
function setNonAtomically(stores: Stores, store: Store, change: KvChange & { op: 'set' }, reply: KvReply): HttpStep<Stores, KvAnswer> {
  const copy = new Map(store.entries);
  return {
    state: stores,
    later: {
      afterMs: nonatomicYieldMs,
      then(state) {
        carryOut(copy, { ...change, value: change.value.slice(0, Math.ceil(change.value.length / 2)) });
        store.entries = copy;
        return {
          state,
          later: {
            afterMs: nonatomicYieldMs,
            then(after) {
              carryOut(copy, change); // into its own copy, which a concurrent set may have replaced meanwhile
              return { state: after, answer: { reply } };
            },
          },
        };
      },
    },
  };
}

/** The server for one run (it has no options of its own). */
export function kvServer(setup: ServerSetup): HttpServer<Stores, KvHttpRequest, KvAnswer> {
  const { defect } = setup;
  const limits: KvLimits = { maxNameChars: setup.limits.maxNameChars, maxMessageChars: setup.limits.maxMessageChars, maxEntries: setup.limits.maxEntries };
  const options = { offersCas: false, limits };
  return {
    wire: {
      decode(_method, target) {
        const query = parseImRequest(target);
        if (isImRefusal(query)) return { answer: { error: query.error, text: query.text } };
        return { request: { store: defect === 'shared-stores' ? '' : query.store, request: kvRequestOf(query) } };
      },
      encode(out) {
        let body = 'reply' in out ? kvBody(out.reply) : imErrorBody(out.text);
        if (defect === 'no-trailing-newline' && body.endsWith('\n')) body = body.slice(0, -1);
        return { status: 200, headers: imHeaders(body, 'error' in out ? out.error : undefined), body };
      },
      internalError: () => ({ error: 'internal', text: 'internal error' }),
    },
    rules: {
      init: () => new Map(),
      request(stores, { store: name, request }) {
        const problem = storeProblem(name, stores.has(name), stores.size, limits);
        if (problem !== null) return { state: stores, answer: { error: 'limit', text: problem } };
        let store = stores.get(name);
        if (store === undefined) stores.set(name, (store = { entries: new Map() }));
        const outcome = serveKv(view(store.entries), request, options);
        if ('refused' in outcome) return { state: stores, answer: { error: 'limit', text: outcome.refused } };
        if (defect === 'nonatomic-kv' && outcome.change?.op === 'set') return setNonAtomically(stores, store, outcome.change, outcome.reply);
        carryOut(store.entries, outcome.change);
        return { state: stores, answer: { reply: outcome.reply } };
      },
    },
  };
}
