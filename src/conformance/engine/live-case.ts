/**
 * One live case, from setup to verdict, whichever side is under test. A case runs its steps in
 * order inside the case's time bound; a step that does not hold throws the verdict of
 * ./verdicts.ts; teardown runs whatever happened. What differs between a server suite (protosim
 * plays the clients, over connections to the target) and a client suite (protosim plays the server
 * and drives client programs) is the driver: how a step is carried out, what is set up and torn
 * down, and what a failure adds to the verdict (a crash of the target, a stall of the clients).
 * The drivers extend this class; the sequence, the bound and the verdicts are written once here.
 */
import { caseResultOf, outcomeOfError, StepError, type CaseHeader, type CaseOutcome } from './verdicts.js';
import type { CaseResult } from '../../report/case-result.js';

/** The longest the cleanup steps of a case that ended part way may take together. */
const cleanupBoundMs = 3000;

export interface LiveCaseSpec<S> extends CaseHeader {
  steps: readonly S[];
  /** steps run, unjudged, after a case that ended part way (to free what it holds) */
  cleanup?: readonly S[];
  /** the case's own bound, ms */
  timeoutMs?: number;
}

export abstract class LiveCase<S> {
  /** the step being run (-1 before the first and after the last) */
  protected stepIndex = -1;
  /** when the case began, by the wall clock (performance.now) */
  protected readonly caseStartedMs = performance.now();

  constructor(protected readonly spec: LiveCaseSpec<S>) {}

  /** Carries out one step; throws a verdict when it does not hold. */
  protected abstract runStep(step: S, index: number): Promise<void>;

  /** The step in the words of a report. */
  protected abstract describeStepAt(index: number): string;

  /** Before the first step (inside the bound): start what the case needs. */
  protected async setup(): Promise<void> {}

  /** After each step that held: throw to end the case (a crash seen meanwhile). */
  protected async afterStep(_index: number): Promise<void> {}

  /** After the last step held, before PASS: throw to end the case otherwise. */
  protected async beforePass(): Promise<void> {}

  /** Releases everything the case started; runs whatever happened. */
  protected abstract teardown(): Promise<void>;

  /**
   * A failed case's outcome, refined by the driver before teardown (a crash of the target takes
   * precedence over what the step saw; a stall of the clients explains a FAIL). `error` is what was
   * thrown; return null for an error that is not a verdict (it propagates: an internal error).
   */
  protected async refine(outcome: CaseOutcome | null, _error: unknown): Promise<CaseOutcome | null> {
    return outcome;
  }

  /** The reason of a PASS. */
  protected passReason(): string {
    return `all ${this.spec.steps.length} steps held`;
  }

  /** Runs the case within its bound (or `defaultTimeoutMs`); the outcome and its duration. */
  async runCase(defaultTimeoutMs: number): Promise<{ outcome: CaseOutcome; durationMs: number }> {
    const begun = performance.now();
    const bound = this.spec.timeoutMs ?? defaultTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const overall = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new StepError('case-timeout', `the case did not finish within timeoutMs=${bound}`)), bound);
    });
    let outcome: CaseOutcome;
    try {
      await Promise.race([this.setup().then(() => this.steps()), overall]);
      await this.beforePass();
      outcome = { verdict: 'PASS', reason: this.passReason(), kind: null };
    } catch (error) {
      const step = this.stepIndex >= 0 ? this.describeStepAt(this.stepIndex) : undefined;
      const refined = await this.refine(outcomeOfError(error, step), error);
      if (refined === null) {
        clearTimeout(timer);
        await this.teardown();
        throw error;
      }
      outcome = refined;
    }
    clearTimeout(timer);
    if (outcome.verdict !== 'PASS' && this.spec.cleanup !== undefined) await this.cleanupSteps(this.spec.cleanup);
    await this.teardown();
    return { outcome, durationMs: performance.now() - begun };
  }

  /** The report row of an outcome. */
  protected resultOf(outcome: CaseOutcome, durationMs: number): CaseResult {
    return caseResultOf(this.spec, outcome, durationMs);
  }

  /** The cleanup steps, within `cleanupBoundMs`; one that does not hold is passed over. */
  private async cleanupSteps(steps: readonly S[]): Promise<void> {
    const until = performance.now() + cleanupBoundMs;
    for (const [i, step] of steps.entries()) {
      const left = until - performance.now();
      if (left <= 0) return;
      let timer: NodeJS.Timeout | undefined;
      const bound = new Promise<void>((resolve) => (timer = setTimeout(resolve, left)));
      await Promise.race([this.runStep(step, this.spec.steps.length + i).catch(() => undefined), bound]);
      clearTimeout(timer);
    }
  }

  private async steps(): Promise<void> {
    for (let i = 0; i < this.spec.steps.length; i++) {
      this.stepIndex = i;
      await this.runStep(this.spec.steps[i]!, i);
      await this.afterStep(i);
    }
    this.stepIndex = -1;
  }
}
