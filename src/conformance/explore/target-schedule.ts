/**
 * One schedule of `protosim explore --target`: the workload's clients connect to the server, each
 * through its own fault proxy that holds what it sends. At each decision every client that has
 * something to send has written its next message and the proxy holds it (a client waiting for a
 * reply it needs is not asking); the scheduler picks which goes next — a held message, a client
 * leaving as its script says, or (with a kill budget) a client killed now, its connection reset.
 * After each, the server's replies settle and the model oracle judges them, in release order.
 * Past `steps` decisions, the first client in name order goes, no longer a decision (no kills).
 */
import type { QuicTargetOptions } from '../../scenario/target-address.js';
import type { ConnectionLimits } from '../live-connection.js';
import type { LiveCodec } from '../live-codec.js';
import type { ManagedProcess } from '../managed-process.js';
import { show } from '../message-pattern.js';
import type { WireMapping } from '../server-model-oracle.js';
import { killOption, type Scheduler } from './schedulers.js';
import { ExploredClient } from './target-clients.js';
import { clip, ScheduleJudge, type ScheduleFailure } from './target-judge.js';
import type { TargetWorkload } from './target-workload.js';

export interface TargetScheduleOptions {
  workload: TargetWorkload;
  codec: LiveCodec;
  /** the server model's wire mapping, given the schedule's variables */
  mapping: (vars: Readonly<Record<string, string | number>>) => WireMapping;
  vars: Readonly<Record<string, string | number>>;
  /** decisions controlled per schedule */
  steps: number;
  /** kills the scheduler may choose per schedule */
  kills: number;
  /** after a release, how long the replies must be quiet */
  settleMs: number;
  /** how long a reply the model expects may take */
  replyTimeoutMs: number;
  limits: ConnectionLimits;
}

export interface TargetScheduleRun {
  /** what went in which order: `c1 {"From":...}`, `kill c2` */
  order: string[];
  /** the choice at each decision (an index into the options: requests by client name, then kills) */
  choices: number[];
  failure: ScheduleFailure | null;
  /** released messages and what arrived after each */
  trace: string[];
  /** what the schedule could not do (a message waiting for a binding nothing made) */
  notes: string[];
  /** the target could not be reached */
  unreachable?: string;
}

/** How long the proxies have to connect to the target. */
const upstreamBoundMs = 3000;

/** Where the schedule meets its target. */
export interface ScheduleTarget {
  host: string;
  port: number;
  /** a QUIC target: how to reach it (through each client's QUIC message proxy) */
  quic?: QuicTargetOptions;
  /** a command target started for this schedule */
  process?: ManagedProcess;
}

/** Runs the workload once under `scheduler` against `target`. */
export async function runTargetSchedule(opts: TargetScheduleOptions, scheduler: Scheduler, target: ScheduleTarget): Promise<TargetScheduleRun> {
  // names unique to this schedule, so schedules never meet on a long-lived target
  const vars = { ...opts.vars, run: Math.random().toString(36).slice(2, 8) };
  const judge = new ScheduleJudge(opts.mapping(vars), target.process);
  const run: TargetScheduleRun = { order: [], choices: [], failure: null, trace: judge.trace, notes: [] };
  const clients: ExploredClient[] = [];
  try {
    for (const [user, name] of opts.workload.clients.entries()) {
      clients.push(await ExploredClient.open(name, user, opts.workload.scripts[user]!, target, opts.codec, opts.limits, opts.replyTimeoutMs));
    }
    const unreachable = await upstreamProblem(clients);
    if (unreachable !== null) {
      run.failure = await judge.crashQuietly();
      if (run.failure === null) run.unreachable = unreachable;
      return run;
    }
    run.failure = await judge.settle(clients, opts.settleMs, opts.replyTimeoutMs);
    if (run.failure === null) run.failure = await decideAll(opts, scheduler, clients, judge, vars, run);
    if (run.failure === null) {
      // the clients leave; a target that dies of it crashed in this schedule
      await Promise.all(clients.map((c) => c.close(300)));
      run.failure = await judge.crashQuietly();
    }
    return run;
  } finally {
    await Promise.all(clients.map((c) => c.close(0).catch(() => undefined)));
  }
}

/** The decisions, one after another, until no client has anything left or a release fails. */
async function decideAll(opts: TargetScheduleOptions, scheduler: Scheduler, clients: ExploredClient[], judge: ScheduleJudge, vars: Record<string, string | number>, run: TargetScheduleRun): Promise<ScheduleFailure | null> {
  const renderState = new Map<string, unknown>();
  const byName = [...clients].sort((a, b) => a.name.localeCompare(b.name));
  let decisions = 0;
  let killsLeft = opts.kills;
  for (;;) {
    for (const c of byName) await c.writeNext(opts.workload, opts.codec, judge.captures, vars, renderState);
    const offering = byName.filter((c) => c.offering);
    if (offering.length === 0) break;
    const controlled = decisions < opts.steps;
    const options = offering.map((c) => c.name);
    if (controlled && killsLeft > 0) options.push(...byName.filter((c) => c.gone === undefined).map((c) => killOption(c.name)));
    const choice = controlled ? scheduler.choose(decisions, options) : 0;
    if (controlled) {
      run.choices.push(choice);
      decisions++;
    }
    const picked = options[choice]!;
    const n = run.order.length + 1;
    if (picked.startsWith('kill ')) {
      const c = byName.find((x) => killOption(x.name) === picked)!;
      c.kill();
      killsLeft--;
      judge.disconnected(c.name, 'reset');
      run.order.push(`${picked} (its connection reset)`);
    } else {
      const c = byName.find((x) => x.name === picked)!;
      const item = c.upcoming!;
      if (c.held === undefined && item.kind === 'leave') {
        c.leave(item.mode);
        judge.disconnected(c.name, item.mode === 'reset' ? 'reset' : 'closed');
        run.order.push(`${c.name} leaves (${item.mode === 'reset' ? 'reset' : 'FIN'})`);
      } else {
        const wire = c.release(opts.workload, renderState);
        judge.sent(c.name, wire);
        run.order.push(`${c.name} ${clip(show(wire), 200)}`);
      }
    }
    judge.trace.push(`${n}. ${run.order.at(-1)!}${controlled ? '' : ' (past the bound)'}`);
    const failure = await judge.settle(clients, opts.settleMs, opts.replyTimeoutMs);
    if (failure !== null) return failure;
  }
  for (const c of byName) {
    for (const why of c.unencodable) run.notes.push(`${c.name}: a message the codec cannot carry was left out (${why})`);
    if (c.gone === undefined && c.waitingFor !== undefined) run.notes.push(`${c.name} did not send its last ${c.unsent} message(s): ${c.waitingFor}`);
    else if (c.gone !== undefined && c.unsent > 0 && c.gone !== 'killed') run.notes.push(`${c.name} did not send its last ${c.unsent} message(s): ${c.gone}`);
  }
  return null;
}

/** Null once every proxy has reached the target; else why not (within upstreamBoundMs). */
async function upstreamProblem(clients: readonly ExploredClient[]): Promise<string | null> {
  const started = performance.now();
  while (performance.now() - started < upstreamBoundMs) {
    if (clients.every((c) => c.proxy.upstreamConnected > 0)) return null;
    const failed = clients.find((c) => c.proxy.upstreamError !== undefined && c.proxy.upstreamConnected === 0);
    if (failed !== undefined) return `cannot connect to the target: ${failed.proxy.upstreamError}`;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return `no connection to the target within ${upstreamBoundMs} ms`;
}
