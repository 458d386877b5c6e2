/**
 * `protosim explore <protocol> --target`: systematic testing of a server's handling of concurrent
 * requests, without a model counterexample first. The workload's clients (./target-workload.ts)
 * send through the message proxy of the target's transport (TCP, or QUIC: a terminating proxy),
 * which holds every message; each schedule (./target-schedule.ts)
 * releases them in the order a scheduler picks — PCT's randomized priorities with a stated
 * bug-depth guarantee, every order within the bound (a stateless depth-first enumeration), or the
 * choices a report printed — with kills as further choices, the model oracle judging every reply.
 * A command target is started fresh for each schedule and stopped after it; an address target
 * serves every schedule, names made unique per schedule.
 */
import { TargetError } from '../../errors.js';
import type { ResolvedTarget } from '../live-target.js';
import { ManagedProcess } from '../managed-process.js';
import { addressProblem } from '../suite-run/target-checks.js';
import { ListScheduler, nextPrefix, PctKillScheduler, pctBound, type Scheduler } from './schedulers.js';
import { runTargetSchedule, type ScheduleTarget, type TargetScheduleOptions, type TargetScheduleRun } from './target-schedule.js';

export interface ExploreTargetOptions extends TargetScheduleOptions {
  target: ResolvedTarget;
  strategy: 'pct' | 'exhaustive' | 'fixed';
  /** the most schedules to try */
  schedules: number;
  /** PCT: the bug depth d */
  depth: number;
  seed: number;
  /** fixed: the choices to repeat */
  choices?: number[];
  /** after each schedule */
  onSchedule?: (index: number, run: TargetScheduleRun) => void;
}

export interface ExploreTargetResult {
  tried: number;
  /** the enumeration ran out of orders within the bound before the schedule limit */
  exhausted: boolean;
  first: (TargetScheduleRun & { index: number }) | null;
  /** PCT's probability bound for a depth-d bug, per schedule and of missing it in every schedule tried */
  bound: { perSchedule: number; missAfter: number } | null;
  /** the target could not be started or reached (exit 3) */
  unreachable?: string;
  /** what schedules could not do, each once */
  notes: string[];
  durationMs: number;
}

/** Tries schedules until one fails, the bound on schedules is reached, or (exhaustive) every order was tried. */
export async function exploreTarget(opts: ExploreTargetOptions): Promise<ExploreTargetResult> {
  const started = performance.now();
  const result: ExploreTargetResult = { tried: 0, exhausted: false, first: null, bound: null, notes: [], durationMs: 0 };
  const finish = (): ExploreTargetResult => {
    result.bound = opts.strategy === 'pct' ? pctBound(opts.workload.clients.length, opts.steps, opts.depth, result.tried) : null;
    result.durationMs = Math.round(performance.now() - started);
    return result;
  };
  if (opts.target.address !== undefined) {
    const problem = await addressProblem(opts.target.address.host, opts.target.address.port, opts.target.transport);
    if (problem !== null) {
      result.unreachable = `${opts.target.description}: ${problem}`;
      return finish();
    }
  }
  let prefix: number[] | null = opts.strategy === 'fixed' ? (opts.choices ?? []) : [];
  for (let index = 0; index < opts.schedules; index++) {
    let list: ListScheduler | undefined;
    const scheduler: Scheduler =
      opts.strategy === 'pct' ? new PctKillScheduler(opts.seed + index, opts.workload.clients, opts.steps, opts.depth, opts.kills) : (list = new ListScheduler(prefix ?? []));
    const run = await onFreshTarget(opts.target, (where) => runTargetSchedule(opts, scheduler, where));
    if (!('order' in run) || run.unreachable !== undefined) {
      // an address target that served earlier schedules and is gone now died between them
      result.unreachable = result.tried === 0 ? run.unreachable : `${run.unreachable} (after ${result.tried} schedule${result.tried === 1 ? '' : 's'}: did the target crash when the last one's clients left? A target file restarts it for each schedule and says)`;
      return finish();
    }
    result.tried += 1;
    for (const note of run.notes) if (!result.notes.includes(note) && result.notes.length < 10) result.notes.push(note);
    opts.onSchedule?.(index, run);
    if (run.failure !== null) {
      result.first = { ...run, index };
      return finish();
    }
    if (opts.strategy === 'fixed') break;
    if (list !== undefined) {
      prefix = nextPrefix(list.taken);
      if (prefix === null) {
        result.exhausted = true;
        break;
      }
    }
  }
  return finish();
}

/** Runs `fn` on the target: a command started for it (and stopped after, whatever happened), or the address. */
async function onFreshTarget(target: ResolvedTarget, fn: (where: ScheduleTarget) => Promise<TargetScheduleRun>): Promise<TargetScheduleRun | { unreachable: string }> {
  const quic = target.transport === 'quic' ? { quic: target.quic ?? {} } : {};
  if (target.command === undefined) return fn({ host: target.address!.host, port: target.address!.port, ...quic });
  const managed = new ManagedProcess(target.command);
  try {
    let address: string;
    try {
      address = await managed.start();
    } catch (error) {
      if (error instanceof TargetError) return { unreachable: `the target could not be started: ${error.message}` };
      throw error;
    }
    const url = new URL(address);
    return await fn({ host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port), process: managed, ...quic });
  } finally {
    await managed.stop();
  }
}
