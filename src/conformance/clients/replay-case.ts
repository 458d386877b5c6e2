/**
 * A model counterexample replayed on client programs, as a live case (../engine/live-case.ts): the
 * steps are the trace's schedule items (starts, typed lines, quits, faults, and the requests or
 * messages protosim lets through in the trace's order), then the watch for the trace's failure.
 * The bound, the step sequence and the teardown are the engine's; what a step does and what the
 * live system showed belong to the replay's world: the key-value store protosim plays
 * (./replay-kv-world.ts) or a chat server (./replay-chat-world.ts).
 *
 * The live run leaving the trace (a step not made in time, a program doing what the model rules
 * out there) is the step not holding: the case FAILs there, the rest runs free and is watched, and
 * the world turns what it saw into REPRODUCED, NOT REPRODUCED or DIVERGED (./replay-verdict.ts).
 * The case running past its bound leaves the trace too (NOT REPRODUCED, saying so). Any other error
 * (a program that cannot be started) goes through, after teardown, as before.
 */
import { LiveCase } from '../engine/live-case.js';
import { StepFailure, type CaseOutcome } from '../engine/verdicts.js';
import type { LeftTrace, LiveReplayResult } from './replay-verdict.js';

/** One replay's world: what protosim plays, the live programs, and what they showed. */
export interface ReplayWorld<I> {
  /** the schedule, in trace order */
  readonly items: readonly I[];
  /** where the live run left the trace, if it did */
  readonly left: LeftTrace | null;
  leave(why: string, diverged: boolean): void;
  /** carries out schedule item `index`; leaves the trace (rather than throwing) when the live system does not follow */
  runItem(item: I, index: number): Promise<void>;
  describeItem(item: I, index: number): string;
  /** the schedule is over: everything held goes, the trace's clock follows the wall clock */
  endSchedule(): void;
  /** watches the live system for the trace's failure (bounded by the world) */
  watch(): Promise<void>;
  /** the watch is over: replies the trace never delivered go too */
  endWatch(): void;
  /** the verdict, while the programs still run */
  result(stepsDone: number): LiveReplayResult;
  /** the most the whole replay may take, ms */
  boundMs(): number;
  /** stops every program and what protosim started */
  close(): Promise<void>;
}

export type ReplayStep<I> = { item: I } | { watch: true };

/** The live run left the trace at this step. */
class LeftTheTrace extends StepFailure {}

export class ReplayCase<I> extends LiveCase<ReplayStep<I>> {
  private stepsDone = 0;
  private watched = false;
  private verdict: LiveReplayResult | undefined;

  constructor(
    private readonly world: ReplayWorld<I>,
    title: string,
  ) {
    super({ id: 'live-replay', title, level: 'required', points: 0, steps: [...world.items.map((item) => ({ item })), { watch: true as const }], timeoutMs: world.boundMs() });
  }

  /** Runs the replay; its verdict. */
  async result(): Promise<LiveReplayResult> {
    await this.runCase(this.world.boundMs());
    return this.verdict!;
  }

  protected async runStep(step: ReplayStep<I>, index: number): Promise<void> {
    if ('watch' in step) return this.watchOnce();
    return this.world.runItem(step.item, index);
  }

  protected override async afterStep(index: number): Promise<void> {
    if (index >= this.world.items.length) return;
    const left = this.world.left;
    if (left !== null) throw new LeftTheTrace(left.why);
    this.stepsDone += 1;
  }

  protected describeStepAt(index: number): string {
    const step = this.spec.steps[index]!;
    return 'watch' in step ? 'the watch for the failure' : `step ${index + 1}: ${this.world.describeItem(step.item, index)}`;
  }

  protected override async beforePass(): Promise<void> {
    this.verdict = this.world.result(this.stepsDone);
  }

  protected override async refine(outcome: CaseOutcome | null, error: unknown): Promise<CaseOutcome | null> {
    if (error instanceof LeftTheTrace) {
      // the rest runs free: does the failure show anyway (it is then not the trace's)?
      await this.watchOnce();
    } else if (outcome?.kind === 'case-timeout') {
      this.world.leave(`the replay did not finish within its bound (${this.world.boundMs()} ms)${this.stepIndex >= 0 ? ` at ${this.describeStepAt(this.stepIndex)}` : ''}`, false);
      this.world.endSchedule();
      this.world.endWatch();
    } else return null;
    this.verdict = this.world.result(this.stepsDone);
    return outcome;
  }

  protected async teardown(): Promise<void> {
    await this.world.close();
  }

  private async watchOnce(): Promise<void> {
    if (this.watched) return;
    this.watched = true;
    this.world.endSchedule();
    await this.world.watch();
    this.world.endWatch();
  }
}
