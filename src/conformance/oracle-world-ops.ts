/**
 * Pure helpers of the server model oracle (server-model-oracle.ts) over its possible worlds: how an
 * expectation reads in a failure message, what is still outstanding, and a message the case checked
 * with its own pattern taken as seen.
 */
import { show, type Comparison, type Expectation } from '../models/live-types.js';
import type { World } from './oracle-worlds.js';

/** How one world describes an expectation (the mapping's words for a message). */
export type Describe = (e: Expectation, w: World) => string;

/** `(optionally) ...` for an optional expectation. */
export function describeExpectation(e: Expectation, describeMessage: (msg: never) => string): string {
  const text = e.kind === 'close' ? 'the connection closed by the server' : e.kind === 'wire' ? e.description : describeMessage(e.msg as never);
  return e.optional === true ? `(optionally) ${text}` : text;
}

/** The first expectation of `client` in some world, described (for messages). */
export function describeNext(worlds: readonly World[], client: string, describe: Describe): string {
  const descriptions = new Set<string>();
  for (const w of worlds) {
    const q = w.expected[client] ?? [];
    const firm = q.find((e) => e.optional !== true);
    const head = q[0];
    descriptions.add(head === undefined ? 'nothing' : head.optional === true ? `${describe(head, w)}${firm === undefined ? '' : `, then ${describe(firm, w)}`}` : describe(head, w));
  }
  return [...descriptions].slice(0, 4).join(' or ');
}

/** What is still expected, per client, in the world closest to done (for a timeout's message). */
export function outstandingIn(worlds: readonly World[], describe: Describe): string {
  let best: World | undefined;
  let bestCount = Infinity;
  for (const w of worlds) {
    const n = Object.values(w.expected).reduce((a, q) => a + q.filter((e) => e.optional !== true).length, 0);
    if (n < bestCount) {
      best = w;
      bestCount = n;
    }
  }
  if (best === undefined) return 'nothing';
  const parts = Object.entries(best.expected)
    .filter(([, q]) => q.some((e) => e.optional !== true))
    .map(([c, q]) => `${c}: ${q.map((e) => describe(e, best!)).join(', ')}`);
  return parts.length === 0 ? 'nothing' : parts.join('; ');
}

/**
 * `w` once `client`'s next expected message was checked by the case's own pattern: taken as seen
 * (bound where it matches, so later ids still line up); optional expectations it is not are passed over.
 */
export function skipIn(w: World, client: string, wire: unknown, compare: (msg: unknown, wire: unknown, w: World) => Comparison): World {
  const meets = (e: Expectation): boolean => (e.kind === 'close' ? false : e.kind === 'wire' ? e.test(wire) === null : compare(e.msg, wire, w).ok);
  const full = w.expected[client] ?? [];
  let start = 0;
  while (start < full.length && full[start]!.optional === true && !meets(full[start]!)) start++;
  const queue = full.slice(start);
  const head = queue[0];
  if (head === undefined || head.kind === 'close') return w;
  let patch: Partial<World> = {};
  if (head.kind === 'message') {
    const c = compare(head.msg, wire, w);
    if (c.ok) patch = { bind: c.bind ?? w.bind, notes: c.notes ?? w.notes };
  }
  return { ...w, ...patch, expected: { ...w.expected, [client]: queue.slice(1) } };
}

/** An arrival for a client: a message, or its connection closed. */
export type Arrival = { kind: 'message'; msg: unknown } | { kind: 'closed' };

/** What placing an arrival in a world needs of the oracle. */
export interface PlaceOps {
  /** the oracle's name (`the ... server model`) */
  name: string;
  compare: (msg: unknown, wire: unknown, w: World) => Comparison;
  describe: Describe;
  /** the world once the server chose to close `client`'s connection (an optional close met) */
  closedByServer: (w: World) => World;
  deferText: boolean;
}

/**
 * The ways `w` explains `arrival` for `client` (optional expectations before the one met passed
 * over), or, when none does, why not (`text`: a message of the expected kind with other text).
 */
export function placeArrival(w: World, client: string, arrival: Arrival, ops: PlaceOps): { worlds: World[]; why?: { reason: string; text: boolean } } {
  const queue = w.expected[client] ?? [];
  const worlds: World[] = [];
  let why: { reason: string; text: boolean } | undefined;
  for (let i = 0; i < queue.length; i++) {
    const head = queue[i]!;
    const consumed = (patch: Partial<World> = {}): void => void worlds.push({ ...w, ...patch, expected: { ...w.expected, [client]: queue.slice(i + 1) } });
    if (arrival.kind === 'closed') {
      if (head.kind !== 'close') why ??= { reason: `the connection closed before the expected message arrived: the ${ops.name} sends ${client} ${ops.describe(head, w)} first`, text: false };
      else if (head.optional === true) worlds.push(ops.closedByServer(w));
      else consumed();
    } else if (head.kind === 'close') {
      why ??= { reason: `the ${ops.name} closes ${client}'s connection here`, text: false };
    } else if (head.kind === 'wire') {
      const failed = head.test(arrival.msg);
      if (failed === null) consumed();
      else why ??= { reason: `${client} got what the ${ops.name} does not allow: ${failed}`, text: false };
    } else {
      const c = ops.compare(head.msg, arrival.msg, w);
      if (c.ok) consumed({ bind: c.bind ?? w.bind, notes: c.notes ?? w.notes });
      else if (c.text === true && head.optional !== true && ops.deferText) {
        // Of the expected kind, other text: judged once the exchange is over (settle).
        consumed({ textFaults: [...(w.textFaults ?? []), { reason: `${client} got what the ${ops.name} does not send: ${c.reason}`, expected: ops.describe(head, w), observed: show(arrival.msg) }] });
      } else why ??= { reason: `${client} got what the ${ops.name} does not send: ${c.reason}`, text: c.text === true };
    }
    if (head.optional !== true) break;
  }
  return worlds.length > 0 ? { worlds } : { worlds, ...(why !== undefined ? { why } : {}) };
}

/** Garbage frames in one write whose replies the oracle follows one by one; past it, the connection is left unjudged. */
export const maxUnreadableFrames = 4;

/** `client` wrote bytes that are not a message (`frames` garbage frames): the server may ignore them, answer each, close, or both. */
export function unreadableIn(worlds: readonly World[], client: string, frames = 1): World[] {
  const anything: Expectation = { kind: 'wire', description: 'any reply to bytes that are not a message', test: () => null };
  // the close may come late (a server still reading a long garbage line): it stays possible until
  // the connection gets something else
  const close: Expectation = { kind: 'close', optional: true };
  // up to one reply per frame the bytes form (a garbage line each), then perhaps a close
  const extras: Expectation[][] = [];
  for (let n = 0; n <= frames; n++) extras.push([...Array.from({ length: n }, () => anything), close]);
  return worlds.flatMap((w) => {
    const q = w.expected[client] ?? [];
    return extras.map((extra) => (extra.length === 0 ? w : { ...w, expected: { ...w.expected, [client]: [...q, ...extra] } }));
  });
}
