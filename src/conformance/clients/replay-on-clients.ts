/**
 * Replays a model counterexample (a trace file) against live client programs of a key-value
 * protocol: the same clients start, the same lines are typed, the same faults strike, and the IM
 * server protosim plays applies the clients' requests in the order the trace's store received them
 * (a sequencer holds a request until every request before it in the trace has been made), so a race
 * the model found is forced live. Then it watches: does the live system show the same failure? A
 * deadlock or livelock shows as clients polling with nothing changing; an invariant violation is
 * checked on the live clients through the model's client role stepped alongside each (ClientShadow).
 *
 * Requests are matched by effect (./replay-schedule.ts): a read the trace repeats (a poll) may be
 * repeated live any number of times; requests the model does not have (setup writes, extra reads,
 * re-reads) go through and are listed, as long as they are not a write the model's client could not
 * make there. Such a write (the program took another branch: DIVERGED), or a step the program does
 * not make in time (NOT REPRODUCED, with that step and why), ends the ordering: the rest runs free
 * and the result says where the live run left the trace. REPRODUCED needs every step carried out,
 * every client of the trace started live, and the failure shown live.
 *
 * The replay is a live case of the one engine (./replay-case.ts: the schedule's items are its
 * steps); the key-value store's part is ./replay-kv-world.ts, the verdict ./replay-verdict.ts.
 */
import type { ModelVariant } from '../../models/types.js';
import type { TraceEvent, TraceHeader } from '../../sim/trace.js';
import type { Adapter } from './adapter.js';
import type { IoMode } from './client-process.js';
import { ReplayCase } from './replay-case.js';
import { KvReplayWorld } from './replay-kv-world.js';
import { ChatReplayWorld, type ChatReplayOptions } from './replay-chat-world.js';
import type { LiveReplayResult } from './replay-verdict.js';

export interface LiveReplayOptions {
  adapter: Adapter;
  variant: ModelVariant | undefined;
  vars?: Readonly<Record<string, string>>;
  io?: IoMode;
  protosimLauncher: readonly string[];
  /** how long to watch once the trace's steps are done */
  observeMs?: number;
  /** how long one step of the trace may take live before the replay says the live run left it */
  stepTimeoutMs?: number;
}

export type { LiveReplayResult, ReplayMatch, ReplayVerdict } from './replay-verdict.js';
export { findingOf } from './replay-verdict.js';
export { defaultObserveMs, defaultStepTimeoutMs } from './replay-kv-world.js';
export { scheduleOf } from './replay-schedule.js';

/** Replays a key-value counterexample on live client programs (protosim plays the IM server). */
export function replayOnClients(header: TraceHeader, events: readonly TraceEvent[], opts: LiveReplayOptions): Promise<LiveReplayResult> {
  const world = new KvReplayWorld(header, events, opts);
  return new ReplayCase(world, `live replay of a ${header.config.protocol} counterexample (seed ${header.seed}) on ${opts.adapter.spec.adapter}`).result();
}

/**
 * Replays a chat protocol's counterexample on live client programs: protosim plays the server (its
 * reference server behind a proxy per program) and lets messages through in the trace's order.
 */
export function replayChatOnClients(header: TraceHeader, events: readonly TraceEvent[], opts: ChatReplayOptions): Promise<LiveReplayResult> {
  const world = new ChatReplayWorld(header, events, opts);
  return new ReplayCase(world, `live replay of a ${header.config.protocol} counterexample (seed ${header.seed}) on ${opts.adapter.spec.adapter}`).result();
}
