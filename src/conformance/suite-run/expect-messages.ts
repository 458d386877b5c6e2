/**
 * The `expect: <client>` step of a case against a live target: the messages a client must receive
 * (in order, or in any order), nothing for a while, or its connection closed; on a kv target, the
 * reply to its oldest request (./expect-kv.ts). What arrived instead is the FAIL or ERROR.
 */
import type { StepFile } from '../../scenario/suite-schema.js';
import { StepError, StepFailure } from '../engine/verdicts.js';
import type { Arrival, HarnessConnection } from '../live-connection.js';
import { describePattern, matchPattern, show, type Captures } from '../message-pattern.js';
import type { CaseContext } from './case-context.js';
import { expectKv } from './expect-kv.js';

export async function expect(cx: CaseContext, name: string, s: StepFile): Promise<void> {
  const c = cx.client(name);
  const withinMs = cx.ms(s.withinMs, cx.replyTimeoutMs);
  if (cx.codec === null) return expectKv(cx, c, s, withinMs);
  const conn = c.connection!;
  if (s.nothing !== undefined) {
    const ms = cx.ms(s.nothing, 0);
    const got = await conn.next(ms);
    if (got.kind === 'timeout') return;
    throw new StepFailure(`expected nothing from the target for ${ms} ms`, 'nothing', describeArrival(got));
  }
  const patterns = s.msgs ?? (s.msg !== undefined ? [s.msg] : []);
  if (s.anyOrder === true) {
    const arrivals: unknown[] = [];
    for (let i = 0; i < patterns.length; i++) arrivals.push(await nextMessage(cx, conn, patterns, withinMs, s.maybe === true, i));
    matchAnyOrder(cx, patterns, arrivals);
    for (const a of arrivals) if (a !== undefined) cx.streamOracle?.skip(name, a);
  } else {
    for (let i = 0; i < patterns.length; i++) {
      const msg = await nextMessage(cx, conn, patterns, withinMs, s.maybe === true, i);
      if (msg === undefined) return; // maybe: nothing came, which is one of the allowed outcomes
      const outcome = matchPattern(patterns[i], msg, cx.captures, cx.vars);
      if (!outcome.ok) {
        throw new StepFailure(
          `${name} got a message that does not match${outcome.path ? ` at ${outcome.path}` : ''}: ${outcome.reason}`,
          describePattern(patterns[i], cx.vars),
          show(msg),
        );
      }
      for (const [k, v] of outcome.bound) cx.captures.set(k, v);
      cx.streamOracle?.skip(name, msg);
    }
  }
  if (s.closed === true) {
    const got = await conn.next(withinMs);
    if (got.kind === 'closed') {
      cx.sawClosed(name, got.how);
      return;
    }
    if (got.kind === 'timeout') throw new StepError('timeout', `timeout: expected the target to close ${name}'s connection within ${withinMs} ms; it stayed open`, 'the connection closed', 'still open');
    throw new StepFailure(`expected the target to close ${name}'s connection`, 'the connection closed', describeArrival(got));
  }
}

/** The next message, or a FAIL/ERROR saying what came instead; undefined when `maybe` and nothing came. */
async function nextMessage(cx: CaseContext, conn: HarnessConnection, patterns: unknown[], withinMs: number, maybe: boolean, index: number): Promise<unknown> {
  const got = await conn.next(withinMs);
  const expected = describePattern(patterns[index], cx.vars);
  const which = patterns.length > 1 ? ` (message ${index + 1} of ${patterns.length})` : '';
  switch (got.kind) {
    case 'message':
      return got.msg;
    case 'timeout':
      if (maybe) return undefined;
      throw new StepError('timeout', `timeout: expected a message${which} within ${withinMs} ms; nothing arrived`, expected, 'nothing');
    case 'closed':
      if (maybe && cx.faulted(conn.name)) return undefined;
      await cx.checkCrashQuietly();
      throw new StepFailure(`the connection closed before the expected message${which} arrived (${got.detail})`, expected, `connection ${got.how === 'reset' ? 'reset' : 'closed'}`);
    case 'invalid':
      throw new StepFailure(`the target sent bytes that are not a message of the protocol${which}: ${got.reason}`, expected, got.reason);
  }
}

function matchAnyOrder(cx: CaseContext, patterns: unknown[], arrivals: unknown[]): void {
  // Small lists: try every assignment, keeping captures only from the one that matches.
  const used = new Set<number>();
  const tryFrom = (i: number, captures: Captures): Captures | null => {
    if (i === patterns.length) return captures;
    for (let j = 0; j < arrivals.length; j++) {
      if (used.has(j)) continue;
      const outcome = matchPattern(patterns[i], arrivals[j], captures, cx.vars);
      if (!outcome.ok) continue;
      used.add(j);
      const next = new Map(captures);
      for (const [k, v] of outcome.bound) next.set(k, v);
      const done = tryFrom(i + 1, next);
      if (done !== null) return done;
      used.delete(j);
    }
    return null;
  };
  const result = tryFrom(0, new Map(cx.captures));
  if (result === null) {
    throw new StepFailure(
      `the ${arrivals.length} messages that arrived do not match the ${patterns.length} expected ones in any order`,
      patterns.map((p) => describePattern(p, cx.vars)).join('; '),
      arrivals.map(show).join('; '),
    );
  }
  for (const [k, v] of result) cx.captures.set(k, v);
}

function describeArrival(got: Arrival): string {
  switch (got.kind) {
    case 'message':
      return show(got.msg);
    case 'invalid':
      return `undecodable: ${got.reason}`;
    case 'closed':
      return `connection ${got.how === 'reset' ? 'reset' : 'closed'} (${got.detail})`;
    case 'timeout':
      return 'nothing';
  }
}
