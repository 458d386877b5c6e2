/**
 * What process faults on a live server (kill, stop, pause, resume, restart) do to the possible
 * worlds of the server model oracle (server-model-oracle.ts), as pure functions over worlds:
 *  - the process ends (kill, stop): every open connection closes with it; what the clients were
 *    still owed may or may not have come first; a stopped server may say one last thing (a shutdown
 *    notice); its timers die with it;
 *  - it starts again (restart): the model starts from its initial state, with no bindings (its
 *    in-memory state is gone; none of the protocols says its state is durable, docs/protocols.md);
 *    only the closes still owed on the old connections are kept, until their clients connect again.
 */
import { optional, type Expectation } from '../models/live-types.js';
import { requestOrders, type InFlight, type World } from './oracle-worlds.js';

/**
 * Not a process fault, but the same kind of event: model timers that fire while requests are in
 * flight together take a place among them, as the requests of this pseudo-client (no client name
 * has a NUL in it).
 */
export const timersInFlight = '\u0000timers';

const shutdownNotice: Expectation = optional({ kind: 'wire', description: 'a last message before the server exits (a shutdown notice)', test: () => null });

/**
 * The worlds once the server's process ended: each of `clients` (the open connections) may still
 * get what it was owed, then sees its connection closed (optionally for the `unsure` ones, behind a
 * link fault that may hold the close back); `notice`: a stop, which may send one more message.
 */
export function processEnded(worlds: readonly World[], clients: readonly string[], unsure: ReadonlySet<string>, notice: boolean): World[] {
  return worlds.map((w) => {
    const expected = { ...w.expected };
    for (const c of clients) {
      const close: Expectation = unsure.has(c) ? optional({ kind: 'close' }) : { kind: 'close' };
      expected[c] = [...(w.expected[c] ?? []).map(optional), ...(notice ? [shutdownNotice] : []), close];
    }
    return { ...w, timers: {}, expected };
  });
}

/** `fresh`'s expectations, and those of `old` on connections that died with the old process (`gone`). */
export function goneQueues(fresh: World, old: World, gone: ReadonlySet<string>): Pick<World, 'expected'> {
  return { expected: { ...fresh.expected, ...Object.fromEntries(Object.entries(old.expected).filter(([c]) => gone.has(c))) } };
}

/** `w` without `client`'s queue. */
export function withoutQueue(w: World, client: string): World {
  const { [client]: _gone, ...expected } = w.expected;
  return { ...w, expected };
}

/** Requests sent this recently when a timer fires may still be unread: the server may read them after the firing. */
export const timerOvertakeMs = 100;

/**
 * Timers came due at `now` while `batch` is in flight together on `base`: the requests sent more
 * than `timerOvertakeMs` before were read before the firing (in any order among themselves); the
 * recent ones may be read before or after it, so the firing takes its place among them (one
 * pseudo-request per run of firings). Null when no request is recent: the batch ends before the firing.
 */
export function timersAmong(base: World[], batch: InFlight[], now: number, receive: (w: World, r: InFlight) => World[]): { base: World[]; batch: InFlight[] } | null {
  const recent = batch.filter((r) => r.atMs >= now - timerOvertakeMs);
  if (recent.every((r) => r.client === timersInFlight)) return null;
  const read = batch.filter((r) => r.atMs < now - timerOvertakeMs);
  const last = recent[recent.length - 1]!;
  const firing: InFlight = { client: timersInFlight, wire: null, indefinite: false, atMs: now };
  return { base: read.length > 0 ? requestOrders(base, read, receive) : base, batch: last.client === timersInFlight ? [...recent.slice(0, -1), firing] : [...recent, firing] };
}
