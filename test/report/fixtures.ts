/**
 * Literal traces and reports for the renderer tests: small, hand-written, covering every event
 * kind a diagram draws (messages delivered and lost, a crash, prints, typed lines, a timer, a
 * connection reset, a finding) and a repeating cycle.
 */
import type { TraceEvent } from '../../src/sim/trace.js';
import type { RunReport } from '../../src/report/run-report.js';
import type { CaseResult, SuiteReport } from '../../src/report/case-result.js';
import { makeSuiteReport } from '../../src/report/case-result.js';

export const trace: TraceEvent[] = [
  { k: 'start', t: 0, node: 'store', role: 'store', state: 'serving', fresh: true },
  { k: 'start', t: 3, node: 'c1', role: 'client', state: 'joining', fresh: true },
  { k: 'start', t: 5, node: 'c2', role: 'client', state: 'joining', fresh: true },
  { k: 'send', t: 3, id: 1, from: 'c1', to: 'store', msg: { type: 'GET', key: 'connected' } },
  { k: 'deliver', t: 8, id: 1, from: 'c1', to: 'store', msg: { type: 'GET', key: 'connected' } },
  { k: 'send', t: 8, id: 2, from: 'store', to: 'c1', msg: { type: 'VALUE', key: 'connected', value: null } },
  { k: 'deliver', t: 12, id: 2, from: 'store', to: 'c1', msg: { type: 'VALUE', key: 'connected', value: null } },
  { k: 'state', t: 12, node: 'c1', state: 'claimingFirst' },
  { k: 'input', t: 20, node: 'c2', text: 'hi <b>"there"</b>; #1' },
  { k: 'print', t: 21, node: 'c1', kind: 'status', text: 'Waiting for client 2 to connect..' },
  { k: 'send', t: 22, id: 3, from: 'c2', to: 'store', msg: { type: 'SET', key: 'message', value: 'hi <b>"there"</b>; #1' } },
  { k: 'fault', t: 25, fault: { kind: 'crash', atMs: 25, node: 'c2', mode: 'reset' } },
  { k: 'conn', t: 25, node: 'store', peer: 'c2', event: 'reset' },
  { k: 'send', t: 26, id: 4, from: 'store', to: 'c2', msg: { type: 'OK', op: 'SET' } },
  { k: 'drop', t: 27, id: 4, from: 'store', to: 'c2', msg: { type: 'OK', op: 'SET' }, reason: 'crashed' },
  { k: 'deliver', t: 30, id: 3, from: 'c2', to: 'store', msg: { type: 'SET', key: 'message', value: 'hi <b>"there"</b>; #1' } },
  // cycle: c1 polls for ever
  { k: 'timer', t: 500, node: 'c1', event: 'xstate.after.poll.client.waiting' },
  { k: 'send', t: 500, id: 5, from: 'c1', to: 'store', msg: { type: 'GET', key: 'connected' } },
  { k: 'deliver', t: 504, id: 5, from: 'c1', to: 'store', msg: { type: 'GET', key: 'connected' } },
  { k: 'send', t: 504, id: 6, from: 'store', to: 'c1', msg: { type: 'VALUE', key: 'connected', value: '1' } },
  { k: 'deliver', t: 509, id: 6, from: 'store', to: 'c1', msg: { type: 'VALUE', key: 'connected', value: '1' } },
  { k: 'finding', t: 1009, kind: 'deadlock', summary: 'deadlock: c1 waits for ever, polling without progress' },
];

/** Index of the first event of the repeating cycle in `trace` (the timer at 500 ms). */
export const cycleStart = trace.findIndex((e) => e.k === 'timer');

/** Message arrows the trace should draw: every deliver and drop. */
export const arrowCount = trace.filter((e) => e.k === 'deliver' || e.k === 'drop').length;

export function runReport(ok: boolean): RunReport {
  return {
    ok,
    scenario: { id: 'test/literal', title: 'A literal trace & <friends>', file: 'scenarios/literal.yaml', protocol: 'lock-alternation', variant: 'faithful', tags: ['literal'], points: 3 },
    strategy: 'random',
    seeds: { start: 1, count: 10, pinned: null },
    expectations: [
      { what: 'deadlock', expected: 'found', observed: 'found (deadlock; seed 7)', ok: true },
      { what: 'invariant', expected: 'none', observed: 'none', ok },
    ],
    findings: [
      {
        kind: 'deadlock',
        id: 'deadlock',
        summary: 'deadlock: c1 waits for ever, polling without progress',
        diagnosis: 'c2 crashed; c1 waits for connected=2',
        nodes: [
          { id: 'store', role: 'store', status: 'running', state: 'serving', waitsFor: null, lastSent: null, lastReceived: null },
          { id: 'c1', role: 'client', status: 'running', state: 'waitingForPeer.asking', waitsFor: 'connected=2', lastSent: { t: 500, to: 'store', msg: { type: 'GET', key: 'connected' } }, lastReceived: null },
          { id: 'c2', role: 'client', status: 'crashed', state: 'composing', waitsFor: null, lastSent: null, lastReceived: null },
        ],
        seed: 7,
        timeMs: 1009,
        step: 22,
        trace,
        cycleStart,
        path: null,
        replay: { command: 'npx protosim run scenarios/literal.yaml --seed 7', traceFile: null },
      },
    ],
    stats: { states: 40, transitions: 900, depth: 30, elapsedMs: 120, complete: false, runs: 10, limitHit: null, runsWithFinding: { deadlock: 4 } },
    header: null,
  };
}

export const cases: CaseResult[] = [
  { id: 'kv/join', title: 'a client joins', level: 'required', points: 2, maxPoints: 2, verdict: 'PASS', reason: 'joined as client 1', durationMs: 120 },
  {
    id: 'kv/turns',
    title: 'turns alternate',
    level: 'required',
    points: 0,
    maxPoints: 3,
    verdict: 'FAIL',
    reason: 'c2 sent out of turn',
    expected: 'lock=1 before c1 sends',
    observed: 'lock=2 & <script>alert(1)</script>',
    step: 'step 3: c2 types "hi"',
    durationMs: 340,
    trace,
    cycleStart,
    replay: 'npx protosim test scenarios/kv.yaml --case kv/turns',
  },
  { id: 'kv/crash', title: 'server crash is survived', level: 'recommended', points: 0, maxPoints: 1, verdict: 'ERROR', reason: 'target did not answer within 2000 ms (timeout)', durationMs: 2000 },
  { id: 'kv/binary', title: 'binary frames', level: 'recommended', points: 0, maxPoints: 1, verdict: 'SKIP', reason: 'the target speaks JSON lines only', durationMs: 0 },
];

export const suite: SuiteReport = makeSuiteReport('tcp://127.0.0.1:9000', cases, 2460, 'scenarios/kv');

/**
 * A crowded trace for the diagram's label layout: five lanes, long message labels between close
 * lanes, many messages at the same millisecond, messages in flight across each other and across
 * other rows, lost ones, a self message, notes, a fault and a repeating cycle.
 */
export const crowdedTrace: TraceEvent[] = (() => {
  const nodes = ['a', 'b', 'c', 'd', 'e'];
  const out: TraceEvent[] = nodes.map((node, i) => ({ k: 'start', t: i, node, role: 'peer', state: 'running', fresh: true }));
  let id = 1;
  const long = (n: number): string => `a long message body number ${n} that goes on well past the room between two lanes`;
  // many sent at once, arriving at the same millisecond in another order: arrows that cross
  const burst: { id: number; from: string; to: string; n: number }[] = [];
  for (const [from, to] of [['a', 'b'], ['b', 'a'], ['a', 'e'], ['e', 'a'], ['c', 'd'], ['d', 'b'], ['b', 'e'], ['e', 'c'], ['c', 'a'], ['d', 'e']] as const) {
    const n = id++;
    burst.push({ id: n, from, to, n });
    out.push({ k: 'send', t: 10, id: n, from, to, msg: { type: 'CHAT', text: long(n) } });
  }
  out.push({ k: 'print', t: 11, node: 'c', kind: 'status', text: 'a note printed while everything is in flight, long enough to reach the next lanes' });
  for (const m of [...burst].reverse()) {
    if (m.n % 4 === 0) out.push({ k: 'drop', t: 20, id: m.id, from: m.from, to: m.to, msg: { type: 'CHAT', text: long(m.n) }, reason: 'loss' });
    else out.push({ k: 'deliver', t: 20, id: m.id, from: m.from, to: m.to, msg: { type: 'CHAT', text: long(m.n) } });
  }
  out.push({ k: 'fault', t: 21, fault: { kind: 'partition', atMs: 21, from: ['a'], to: ['e'], direction: 'both' } });
  const self = id++;
  out.push({ k: 'send', t: 22, id: self, from: 'd', to: 'd', msg: { type: 'TICK', text: long(self) } });
  out.push({ k: 'deliver', t: 22, id: self, from: 'd', to: 'd', msg: { type: 'TICK', text: long(self) } });
  // the cycle: short messages back and forth between neighbours, at the same step
  out.push({ k: 'timer', t: 30, node: 'a', event: 'xstate.after.poll.peer.waiting' });
  for (let round = 0; round < 3; round++) {
    const pairs = [['a', 'b'], ['b', 'c'], ['c', 'b'], ['e', 'd']] as const;
    const ids = pairs.map(() => id++);
    pairs.forEach(([from, to], k) => out.push({ k: 'send', t: 30 + round * 10, id: ids[k]!, from, to, msg: { type: 'GET', key: `connected-and-then-some-${k}` } }));
    pairs.forEach(([from, to], k) => out.push({ k: 'deliver', t: 35 + round * 10, id: ids[k]!, from, to, msg: { type: 'GET', key: `connected-and-then-some-${k}` } }));
  }
  out.push({ k: 'finding', t: 70, kind: 'livelock', summary: 'livelock: a, b, c and e keep asking each other and nothing is shown to anyone' });
  return out;
})();

/** Index of the first event of the crowded trace's cycle (the timer at 30 ms). */
export const crowdedCycleStart = crowdedTrace.findIndex((e) => e.k === 'timer');
