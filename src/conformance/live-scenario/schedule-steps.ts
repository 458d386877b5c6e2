/**
 * The live scenario run's steps: its schedule compiled into one ordered list of timed steps, the
 * step language of the live-case engine (../engine/live-case.ts) for a model scenario played
 * against a live server. A scenario (its schedule drawn from the seed by `deriveOptions`) and a
 * trace replay (its schedule read from the trace) compile into the same list:
 *
 *  - `{ atMs, do: 'start', node }`: a client node starts (every node but the server's);
 *  - `{ atMs, do: 'fault', fault }`: a fault strikes (the schedule's faults, then the scenario's
 *    `healAtMs` as a heal);
 *  - `{ atMs, do: 'settle' }`: last, once everything scheduled has struck: watch the run to its end
 *    (quiescence, a stall, a finding or the model time limit).
 *
 * Ordered by time; steps at the same time keep the order above (starts in node order, faults in
 * schedule order, the heal last), the order in which the run carried them out before it was a case.
 *
 * What is not a step stays event-driven in the run: the workload's lines and the person's quit
 * (`inputAtMs`, `quitAtMs`) are typed at the client's prompt, which the model shows when it gets
 * there, so they cannot be placed on the clock in advance (the planned time is a lower bound);
 * the clients' timers and their replies to the server are the models' own doing.
 *
 * Pure: no clock, no I/O.
 */
import type { NodeId } from '../../models/types.js';
import type { FaultSpec, SimConfig } from '../../sim/config.js';
import { deriveOptions } from '../../sim/simulator.js';
import type { LiveScenarioOptions, LiveSchedule } from './types.js';

/** One step of a live scenario run, at a model time (ms). */
export type LiveStep =
  | { atMs: number; do: 'start'; node: NodeId }
  | { atMs: number; do: 'fault'; fault: FaultSpec }
  | { atMs: number; do: 'settle' };

/** A step that strikes at its time (all but the settle). */
export type TimedStep = Exclude<LiveStep, { do: 'settle' }>;

/** The node that stands for the live target: the scenario's server (or store), if it has one. */
export function serverNodeIdOf(config: Pick<SimConfig, 'nodes'>): NodeId | undefined {
  return config.nodes.find((n) => n.role === 'server' || n.role === 'store')?.id;
}

/** The run's schedule: the one given (a replay's), else drawn from the seed as a simulated run draws it. */
export function liveScheduleOf(o: Pick<LiveScenarioOptions, 'schedule' | 'config' | 'seed'>): LiveSchedule {
  if (o.schedule !== undefined) return o.schedule;
  const d = deriveOptions(o.config, o.seed);
  return { startAtMs: d.startAtMs, faults: d.faults };
}

/** A schedule compiled into the run's steps (see the module's comment). */
export function compileLiveSteps(schedule: LiveSchedule, config: Pick<SimConfig, 'nodes' | 'healAtMs'>): LiveStep[] {
  const serverId = serverNodeIdOf(config);
  const timed: TimedStep[] = [];
  for (const n of config.nodes) {
    if (n.id !== serverId) timed.push({ atMs: schedule.startAtMs[n.id] ?? 0, do: 'start', node: n.id });
  }
  for (const fault of schedule.faults) timed.push({ atMs: fault.atMs, do: 'fault', fault });
  if (config.healAtMs !== null) timed.push({ atMs: config.healAtMs, do: 'fault', fault: { kind: 'heal', atMs: config.healAtMs } });
  // Array.prototype.sort is stable: steps at the same time keep their order.
  const ordered = timed.sort((a, b) => a.atMs - b.atMs);
  const last = ordered.length > 0 ? ordered[ordered.length - 1]!.atMs : 0;
  return [...ordered, { atMs: last, do: 'settle' }];
}

/** The steps of a run with these options. */
export function liveStepsOf(o: Pick<LiveScenarioOptions, 'schedule' | 'config' | 'seed'>): LiveStep[] {
  return compileLiveSteps(liveScheduleOf(o), o.config);
}

/** A step in the words of a report. */
export function describeLiveStep(step: LiveStep): string {
  switch (step.do) {
    case 'start':
      return `start ${step.node} at ${step.atMs} ms`;
    case 'fault':
      return `fault ${step.fault.kind} at ${step.atMs} ms`;
    case 'settle':
      return 'settle: watch the run to its end';
  }
}
