/**
 * The verdict of a model counterexample replayed on client programs, whichever protocol protosim
 * plays the server of (the key-value store, a chat server): REPRODUCED only when every step of the
 * trace was carried out live, every node of the trace took part live and the trace's failure shows
 * on the live system; NOT REPRODUCED with the first step the live system did not make and why;
 * DIVERGED when a program did what the model rules out at that step.
 */
import type { TraceEvent, TraceHeader } from '../../sim/trace.js';
import type { ClientSession } from './client-session.js';

/** REPRODUCED: the failure shows live on the trace's steps; DIVERGED: a program did what the model rules out there. */
export type ReplayVerdict = 'REPRODUCED' | 'NOT REPRODUCED' | 'DIVERGED';

/** Which live request carried out which step of the trace, or went through as one the model does not have. */
export interface ReplayMatch {
  /** the schedule step (1-based), null for a request the model does not have */
  step: number | null;
  node: string;
  /** the live request, `#seq ACTION key=value` (a chat message: `#seq TYPE ...`) */
  live: string;
  /** step, poll, extra, or skipped: a read of the model's the program does not make */
  as: 'step' | 'poll' | 'extra' | 'skipped';
  model: string | null;
  why?: string;
}

export interface LiveReplayResult {
  verdict: ReplayVerdict;
  /** the live system showed the failure the trace ends with, on the trace's steps */
  reproduced: boolean;
  /** the trace's finding, as the model reported it */
  expected: string;
  /** what the live system did, in one line */
  observed: string;
  details: string[];
  /** where the live run stopped following the trace, if it did */
  divergence: string | null;
  /** schedule items carried out / total */
  stepsDone: number;
  stepsTotal: number;
  /** the live requests matched with the trace (steps and polls once each, extras each) */
  matches: ReplayMatch[];
}

export type TraceFinding = { kind: string; summary: string };

/** Where the live run left the trace, and whether by doing what the model rules out. */
export type LeftTrace = { why: string; diverged: boolean };

/** The finding a trace ends with: its finding event, or (an exhaustive trace) the one its header names. */
export function findingOf(header: TraceHeader, events: readonly TraceEvent[]): TraceFinding | undefined {
  return events.find((e): e is Extract<TraceEvent, { k: 'finding' }> => e.k === 'finding') ?? header.exhaustive?.finding;
}

/** What the live system showed, gathered by the replay's world. */
export interface ReplayEvidence {
  finding: TraceFinding | undefined;
  /** the first invariant or history property of the model that broke on the live system */
  violation: { id: string; reason: string } | null;
  /** clients stuck without progress (a deadlock, a livelock): one line, and who */
  stall: { summary: string | null; stuck: readonly string[]; details: readonly string[] };
  sessions: readonly ClientSession[];
  /** the trace's nodes that must take part live */
  takingPart: readonly string[];
  /** why the model's view of the live clients is no evidence for an invariant (state it does not have), or null */
  offModel: string | null;
  left: LeftTrace | null;
  /**
   * what a program did that the model rules out, seen after the trace's steps (while watched) or
   * after the live run left the trace: DIVERGED when the run did not leave the trace and the failure
   * did not show; else listed
   */
  ruledOutLate?: string | null;
  matches: ReplayMatch[];
  stepsDone: number;
  stepsTotal: number;
}

/** The verdict, from what the live system showed against what the trace ends with. */
export function replayVerdict(ev: ReplayEvidence): LiveReplayResult {
  const details = [...ev.stall.details];
  const finding = ev.finding;
  const expected = finding === undefined ? 'no finding (the trace ends without one)' : `${finding.kind}: ${finding.summary}`;
  let shown = false;
  let observed: string;
  const running = ev.sessions.filter((s) => s.process.running).map((s) => s.name);
  if (finding?.kind === 'invariant') {
    const v = ev.violation;
    // The trace names it `invariant <id> (<description>) broken: ...`.
    shown = v !== null && finding.summary.startsWith(`invariant ${v.id} `);
    observed = v === null ? 'no invariant or history property of the model broke in the live run' : `invariant ${v.id} broke live: ${v.reason}`;
  } else if (finding !== undefined) {
    // deadlock, livelock, liveness: clients keep polling (or sit still) and nothing is shown.
    shown = ev.stall.summary !== null && running.every((n) => ev.stall.stuck.includes(n));
    observed = ev.stall.summary ?? `no client is stuck polling (${ev.sessions.map((s) => `${s.name} ${s.status()}`).join(', ')})`;
  } else observed = 'the trace has no finding to compare with';
  if (shown && finding?.kind === 'invariant' && ev.offModel !== null) {
    // The invariant was judged on the model's view of each client (its shadow): a client that keeps
    // state the model does not have may be where the model is not, so that view is no evidence.
    shown = false;
    observed = `${observed}; but ${ev.offModel}`;
  }
  let verdict: ReplayVerdict = shown ? 'REPRODUCED' : 'NOT REPRODUCED';
  // REPRODUCED only when every client of the counterexample took part live and every step was
  // carried out: a stall of the one client that started, or one reached by another path, is not
  // the trace's failure.
  const absent = ev.takingPart.filter((n) => ev.sessions.find((s) => s.name === n)?.everStarted !== true);
  if (shown && absent.length > 0) {
    verdict = 'NOT REPRODUCED';
    observed = `${observed}; but ${absent.join(', ')} of the trace never started live, so this is not the trace's failure`;
  }
  let left = ev.left;
  const late = ev.ruledOutLate ?? null;
  if (late !== null && left === null && verdict !== 'REPRODUCED') left = { why: `after the trace's steps: ${late}`, diverged: true };
  else if (late !== null && !(left?.diverged ?? false)) details.push(`${left === null ? 'after the trace\'s steps' : 'after the live run left the trace'}, a program did what the model rules out: ${late}`);
  if (left !== null) {
    details.unshift(`the live run left the trace: ${left.why}`);
    if (shown) observed = `${observed}; but only after leaving the trace, so not on the trace's steps`;
    verdict = left.diverged ? 'DIVERGED' : 'NOT REPRODUCED';
  }
  const extras = ev.matches.filter((m) => m.as === 'extra');
  if (extras.length > 0) details.push(`requests the model does not have, let through: ${extras.slice(0, 6).map((m) => `${m.node} ${m.live}`).join(', ')}${extras.length > 6 ? `, and ${extras.length - 6} more` : ''}`);
  for (const s of ev.sessions) details.push(`--- ${s.name} (${s.status()}):\n${s.tail(8)}`);
  return { verdict, reproduced: verdict === 'REPRODUCED', expected, observed, details, divergence: left?.why ?? null, stepsDone: ev.stepsDone, stepsTotal: ev.stepsTotal, matches: ev.matches };
}
