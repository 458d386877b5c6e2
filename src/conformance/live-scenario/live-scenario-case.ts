/**
 * A model scenario in live mode, as a live case (../engine/live-case.ts): the scenario's client
 * roles are played from their models against a live server (DESIGN: "the harness plays the roles
 * not under test, driven by their models"), faults strike live at their (scaled) times, the server
 * role's `fixed` model runs in shadow as the oracle, and the scenario's invariants, history
 * properties and stall checks are evaluated over the live run, with the same trace events as a
 * simulated run, so every renderer works on it. The server node they see (its state, its console
 * lines) is the scenario's own server model (its variant, e.g. the seed's faithful one) as long as
 * it explains what the live server does, else the fixed model: a live server with the seed's flaw
 * shows the seed's failure.
 *
 * The driver: setup starts (or reaches) the target and the shadow models; the steps are the run's
 * schedule compiled by schedule-steps.ts (a scenario's and a trace replay's alike): each client
 * start and fault at its time, then the settle step that watches the run to its end; the case's
 * bound is `maxRunMs`; teardown releases the connections, proxies and the server process. A step
 * does not hold when the run ended before it: FAIL for a finding that stops the run, ERROR for the
 * time limit. What the client models do between the steps (typing at prompts, timers, replies)
 * stays event-driven (client-nodes.ts). The verdict is the engine's; what a caller gets is the
 * run's result (findings, trace, notes, end reason) as before.
 *
 * Live runs are not deterministic; the seed fixes start times, think times and drawn faults.
 */
import { LiveCase } from '../engine/live-case.js';
import type { CaseOutcome } from '../engine/verdicts.js';
import { LiveRun } from './live-run.js';
import { compileLiveSteps, describeLiveStep, type LiveStep } from './schedule-steps.js';
import type { LiveScenarioOptions, LiveScenarioResult } from './types.js';

export class LiveScenarioCase extends LiveCase<LiveStep> {
  /** the setup under way or done (teardown waits for it: a target still starting is stopped too) */
  private setupRun: Promise<void> | undefined;
  /** a setup that failed after the case's bound struck */
  private setupFailure: { error: unknown } | undefined;

  constructor(
    private readonly run: LiveRun,
    private readonly options: LiveScenarioOptions,
  ) {
    super({
      id: 'live-scenario',
      title: `${options.protocol} scenario against a live server (seed ${options.seed})`,
      level: 'required',
      points: 0,
      steps: compileLiveSteps(run.schedule, options.config),
      timeoutMs: options.maxRunMs,
    });
  }

  /** Runs the case; the run's result. */
  async result(): Promise<LiveScenarioResult> {
    const started = performance.now();
    await this.runCase(this.options.maxRunMs);
    if (this.setupFailure !== undefined) throw this.setupFailure.error;
    return this.run.result(started);
  }

  protected override setup(): Promise<void> {
    this.setupRun = this.run.setUp();
    return this.setupRun;
  }

  protected async runStep(step: LiveStep): Promise<void> {
    if (step.do === 'settle') return this.run.settle();
    if (await this.run.until(step.atMs)) this.run.fire(step);
  }

  protected override async afterStep(): Promise<void> {
    const verdict = this.run.endedEarly();
    if (verdict !== null) throw verdict;
  }

  protected override async beforePass(): Promise<void> {
    this.run.conclude();
  }

  protected override async refine(outcome: CaseOutcome | null): Promise<CaseOutcome | null> {
    if (outcome === null) return null;
    if (outcome.kind === 'case-timeout') this.run.endAtBound();
    this.run.conclude();
    return outcome;
  }

  protected describeStepAt(index: number): string {
    return describeLiveStep(this.spec.steps[index]!);
  }

  protected async teardown(): Promise<void> {
    await this.setupRun?.catch((error: unknown) => {
      this.setupFailure ??= { error };
    });
    await this.run.tearDown();
  }
}

/** Runs a model scenario against a live server. */
export function runLiveScenario(options: LiveScenarioOptions): Promise<LiveScenarioResult> {
  // Built first, so a scenario without a server node throws here, as it always has.
  const run = new LiveRun(options);
  return new LiveScenarioCase(run, options).result();
}
