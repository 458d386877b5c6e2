/**
 * Expectations on a kv target (requests over HTTP): the reply to a client's oldest request,
 * matched by the case's pattern, and `expect: model`, every request in flight judged by the
 * kv-store model. A request with no reply under a fault (or `maybe`) is indefinite: both outcomes
 * stay possible.
 */
import type { StepFile } from '../../scenario/suite-schema.js';
import { StepError, StepFailure } from '../engine/verdicts.js';
import type { KvOutcome, KvWireReply } from '../im-http-client.js';
import { describePattern, matchPattern, PatternError, show } from '../message-pattern.js';
import type { CaseContext, ClientState } from './case-context.js';

/** kv: the reply to c's oldest request must match the pattern; a model request also advances the model. */
export async function expectKv(cx: CaseContext, c: ClientState, s: StepFile, withinMs: number): Promise<void> {
  const next = c.pending.shift();
  if (next === undefined) throw new PatternError(`expect ${c.name}: ${c.name} has no request waiting for a reply (send one first)`);
  const outcome = await next.outcome;
  const reply = await kvReplyOrThrow(cx, c.name, next.request, outcome, s.maybe === true, withinMs);
  if (reply === undefined) {
    // indefinite: it may or may not take effect; both stay possible
    if (next.handle !== undefined) cx.kvHistory.take(next.handle, 'follow');
    return;
  }
  const pattern = s.msg ?? (s.msgs ? s.msgs[0] : undefined);
  const outcomeMatch = matchPattern(pattern, reply, cx.captures, cx.vars);
  if (!outcomeMatch.ok) {
    throw new StepFailure(`the reply to ${show(next.request)} does not match${outcomeMatch.path ? ` at ${outcomeMatch.path}` : ''}: ${outcomeMatch.reason}`, describePattern(pattern, cx.vars), show(reply));
  }
  for (const [k, v] of outcomeMatch.bound) cx.captures.set(k, v);
  // The case judged this reply by its own pattern: the model follows it.
  if (next.handle !== undefined) cx.kvHistory.take(next.handle, 'follow');
}

async function kvReplyOrThrow(cx: CaseContext, client: string, request: unknown, outcome: KvOutcome, maybe: boolean, withinMs: number): Promise<KvWireReply | undefined> {
  if (outcome.kind === 'reply') return outcome.reply;
  if (cx.faulted(client) || maybe) return undefined; // indefinite: the request may or may not have been applied
  await cx.checkCrashQuietly();
  if (outcome.timedOut) throw new StepError('timeout', `timeout: no reply to ${show(request)} from ${client} within ${withinMs} ms`, 'a reply', 'nothing');
  if (/ECONNREFUSED/.test(outcome.reason)) throw new StepError('unreachable', `the target is unreachable: ${outcome.reason}`);
  throw new StepFailure(`the request ${show(request)} got no proper reply: ${outcome.reason}`, 'a complete HTTP reply', outcome.reason);
}

/**
 * kv: every request in flight, of every client, judged by the kv-store model: each reply must be
 * one the model gives in some order of the requests in flight when it arrived (real time).
 */
export async function expectModel(cx: CaseContext): Promise<void> {
  const taken: { name: string; handle: number; reply: KvWireReply | undefined }[] = [];
  for (const c of cx.clients.values()) {
    for (const p of c.pending.splice(0)) {
      if (p.handle === undefined) throw new PatternError(`expect: model: ${show(p.request)} is not a request of the kv-store model (GET, SET, UNSET, CLEAR, KEYS); check it with expect: ${c.name}, msg:`);
      const outcome = await p.outcome;
      taken.push({ name: c.name, handle: p.handle, reply: await kvReplyOrThrow(cx, c.name, p.request, outcome, false, cx.replyTimeoutMs) });
    }
  }
  if (taken.length === 0) throw new PatternError('expect: model with no request in flight (send one first)');
  const mismatches = taken.flatMap((t) => cx.kvHistory.take(t.handle, 'judge'));
  const first = mismatches[0];
  if (first !== undefined) throw new StepFailure(first.reason, first.expected, first.observed);
}
