/**
 * `expect: model` on a stream protocol: every client receives what the server model sends it, in
 * order, and nothing more; what the model bound becomes captures of the case.
 */
import { StepError, StepFailure } from '../engine/verdicts.js';
import { sleep, type CaseContext } from './case-context.js';
import { modelQuietMs, modelSettleMs } from './constants.js';

/**
 * The arrivals so far were all the model sends: only the worlds that expect nothing more stay.
 * What the model bound becomes a capture named after the model's value (`$s1`: the wire id of
 * the model's first session), so later steps can use it.
 */
function commitModel(cx: CaseContext): void {
  const oracle = cx.streamOracle!;
  const textFault = oracle.settle();
  if (textFault !== null) throw new StepFailure(textFault.reason, textFault.expected, textFault.observed);
  oracle.commitSatisfied();
  for (const [modelValue, wire] of Object.entries(oracle.bindings())) {
    if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(modelValue) && !cx.captures.has(modelValue)) {
      cx.captures.set(modelValue, JSON.parse(wire) as unknown);
      cx.modelCaptures.add(modelValue);
    }
  }
}

/**
 * Stream protocols: every client receives what the server model sends it, in order, and nothing
 * more. Arrivals are read as they come and judged against every world the model may be in;
 * the step ends once some world expects nothing more and every client has been quiet for
 * `modelQuietMs`, and times out when the model still expects something after `withinMs`.
 */
export async function expectStreamModel(cx: CaseContext, withinMs: number): Promise<void> {
  const oracle = cx.streamOracle!;
  const started = performance.now();
  let lastArrival = started;
  let arrivals = 0;
  for (;;) {
    for (const [name, c] of [...cx.clients].sort(([a], [b]) => a.localeCompare(b))) {
      const conn = c.connection;
      if (conn === undefined || c.left === true || cx.closedSeen.has(name)) continue;
      for (;;) {
        const got = await conn.next(0);
        if (got.kind === 'timeout') break;
        lastArrival = performance.now();
        arrivals++;
        if (got.kind === 'invalid') throw new StepFailure(`${name} got bytes that are not a message of the protocol: ${got.reason}`, oracle.outstanding(), got.reason);
        if (got.kind === 'closed') {
          cx.closedSeen.add(name);
          const failure = oracle.arrival(name, { kind: 'closed' });
          if (failure !== null) {
            await cx.checkCrashQuietly();
            throw new StepFailure(failure.reason, failure.expected, `${failure.observed} (${got.detail})`);
          }
          break;
        }
        const failure = oracle.arrival(name, { kind: 'message', msg: got.msg });
        if (failure !== null) throw new StepFailure(failure.reason, failure.expected, failure.observed);
      }
    }
    const now = performance.now();
    // Requests still in flight (no reply: a registration) are taken as read once the server has
    // had modelSettleMs for them; before, a request sent next could still overtake them.
    const inFlight = oracle.inFlightAgeMs();
    if (oracle.satisfied() && now - lastArrival >= modelQuietMs && now - started >= modelQuietMs && (inFlight === null || inFlight >= modelSettleMs)) {
      commitModel(cx);
      return;
    }
    if (now - started >= withinMs) {
      if (oracle.satisfied()) {
        commitModel(cx);
        return;
      }
      await cx.checkCrashQuietly();
      throw new StepError(
        'timeout',
        `timeout: the ${oracle.name} sends ${arrivals === 0 ? 'a message' : 'more'} here; nothing ${arrivals === 0 ? '' : 'more '}arrived within ${withinMs} ms`,
        oracle.outstanding(),
        arrivals === 0 ? 'nothing' : 'nothing more',
      );
    }
    await sleep(5);
  }
}
