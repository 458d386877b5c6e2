/**
 * Runs the selected cases of a suite one after another against a live target: starts a command
 * target (again after a crash, up to maxStartAttempts failures in a row), skips cases while an
 * address target stays unreachable, runs each case (./case-run.ts), and charges a crash to the
 * case it came from (./result-ledger.ts).
 */
import type { CaseResult } from '../../report/case-result.js';
import type { Suite } from '../../scenario/load-suite.js';
import type { CaseFile } from '../../scenario/suite-schema.js';
import { TargetError } from '../../errors.js';
import type { ErrorKind } from '../engine/verdicts.js';
import type { LiveCodec } from '../live-codec.js';
import type { ConnectionLimits } from '../live-connection.js';
import type { ResolvedTarget } from '../live-target.js';
import type { ManagedProcess } from '../managed-process.js';
import { sleep } from './case-context.js';
import { CaseRun } from './case-run.js';
import { afterCaseSettleMs, defaultCaseTimeoutMs, maxHeldResultMs, maxStartAttempts } from './constants.js';
import { ResultLedger } from './result-ledger.js';
import type { RunSuiteOptions } from './suite-options.js';
import { addressProblem } from './target-checks.js';

type CaseVerdict = { result: CaseResult; kind: ErrorKind | null };

function errorResult(c: CaseFile, reason: string, startedMs: number): CaseResult {
  return { id: c.id, title: c.title, level: c.level, points: 0, maxPoints: c.points, verdict: 'ERROR', reason, durationMs: Math.round(performance.now() - startedMs) };
}

export class SuiteRunner {
  readonly ledger: ResultLedger;
  /** where the command target listened last */
  lastAddress: string | undefined;
  private startFailures = 0;
  private startFailure: string | undefined;
  /** an address target found unreachable: since which case, and why */
  private unreachableSince: { caseId: string; reason: string } | undefined;

  constructor(
    private readonly suite: Suite,
    private readonly options: RunSuiteOptions,
    private readonly target: ResolvedTarget,
    private readonly codec: LiveCodec | null,
    private readonly vars: Record<string, string | number>,
    private readonly limits: ConnectionLimits,
    private readonly managed: ManagedProcess | undefined,
  ) {
    this.ledger = new ResultLedger(managed, options);
  }

  /** Runs the cases in order; the command target is stopped at the end, whatever happened. */
  async runCases(cases: readonly CaseFile[]): Promise<void> {
    const { managed, ledger } = this;
    try {
      for (const c of cases) await this.runOne(c);
      if (managed !== undefined && ledger.held !== undefined) {
        await sleep(afterCaseSettleMs);
        ledger.chargeLateCrash();
      }
      ledger.release();
    } finally {
      ledger.release();
      await managed?.stop();
    }
  }

  private async runOne(c: CaseFile): Promise<void> {
    const { managed, ledger } = this;
    const caseStarted = performance.now();
    // A target that died between cases is charged to the case before.
    if (managed !== undefined && ledger.held !== undefined) {
      await sleep(afterCaseSettleMs);
      ledger.chargeLateCrash();
    }
    // Against a command target the case before is handed on once this one has heard from the
    // target (it survived the case before), or at this one's end.
    if (managed === undefined) ledger.release();
    const ready = await this.readyAddress(c, caseStarted);
    if (ready === 'not run') return;
    this.lastAddress = ready.address;
    const caseVars = this.options.runToken !== undefined ? { run: this.options.runToken(c.id), ...this.vars } : this.vars;
    const run = new CaseRun(this.suite, c, this.target, this.codec, caseVars, this.limits, managed, ready.address!, ledger.release);
    let { result, kind } = await this.executeHolding(run);
    // A target that crashed before this case got anything from it died of the case before (its
    // exit came late): charged to that case, and this one runs again on a fresh start.
    if (managed !== undefined && kind === 'crash' && !run.heardFromTarget && ledger.held !== undefined && managed.exit !== undefined && managed.exit !== ledger.chargedExit) {
      ({ result, kind } = await this.rerun(c, caseVars, caseStarted, managed));
    }
    if (managed?.exit !== undefined && kind === 'crash') ledger.chargedExit = managed.exit;
    if (managed === undefined && kind === 'unreachable' && this.unreachableSince === undefined) this.unreachableSince = { caseId: c.id, reason: result.reason.replace(/^the target is unreachable: /, '') };
    ledger.record(result, kind);
  }

  /**
   * Where the case meets its target: the address, or a command target started (again); 'not run'
   * when the case has been recorded as not run (still unreachable, or the target did not start).
   */
  private async readyAddress(c: CaseFile, caseStarted: number): Promise<{ address: string | undefined } | 'not run'> {
    const { managed, ledger, target } = this;
    let address: string | undefined = target.address?.text;
    if (managed === undefined && this.unreachableSince !== undefined) {
      // Still unreachable? Then the case is not tried; reachable again, it runs.
      const problem = await addressProblem(target.address!.host, target.address!.port, target.transport);
      if (problem !== null) {
        ledger.record(errorResult(c, `not run: the target is unreachable since case ${this.unreachableSince.caseId} (${this.unreachableSince.reason}); still ${problem}`, caseStarted), 'unreachable');
        return 'not run';
      }
      this.unreachableSince = undefined;
    }
    if (managed !== undefined && !managed.running) {
      if (this.startFailures >= maxStartAttempts) {
        ledger.record(errorResult(c, `not run: the target could not be started (${this.startFailures} attempts): ${this.startFailure}`, caseStarted), 'start');
        return 'not run';
      }
      try {
        address = await managed.start();
        this.startFailures = 0;
      } catch (error) {
        if (!(error instanceof TargetError)) throw error;
        this.startFailures++;
        this.startFailure = error.message.split('\n')[0];
        ledger.record({ ...errorResult(c, `the target could not be started: ${error.message.split('\n')[0]}`, caseStarted), observed: error.message }, 'start');
        return 'not run';
      }
    } else if (managed !== undefined) address = managed.address;
    return { address };
  }

  /** Runs a case, the result of the case before held meanwhile (at most maxHeldResultMs). */
  private async executeHolding(run: CaseRun): Promise<CaseVerdict> {
    const ledger = this.ledger;
    // A case that never hears from its target (a server that hangs) must not hold the case
    // before for ever: past maxHeldResultMs it is handed on (a crash later than that is this case's).
    const holdTimer = ledger.held === undefined ? undefined : setTimeout(() => {
      ledger.chargeLateCrash();
      ledger.release();
    }, maxHeldResultMs);
    try {
      return await run.execute(this.options.caseTimeoutMs ?? defaultCaseTimeoutMs);
    } finally {
      if (holdTimer !== undefined) clearTimeout(holdTimer);
    }
  }

  /** The case again on a fresh start of the target, its late crash charged to the case before. */
  private async rerun(c: CaseFile, caseVars: Record<string, string | number>, caseStarted: number, managed: ManagedProcess): Promise<CaseVerdict> {
    const ledger = this.ledger;
    ledger.chargeLateCrash();
    ledger.release();
    try {
      const address = await managed.start();
      this.lastAddress = address;
      const run = new CaseRun(this.suite, c, this.target, this.codec, caseVars, this.limits, managed, address, ledger.release);
      return await run.execute(this.options.caseTimeoutMs ?? defaultCaseTimeoutMs);
    } catch (error) {
      if (!(error instanceof TargetError)) throw error;
      this.startFailures++;
      this.startFailure = error.message.split('\n')[0];
      return { result: { ...errorResult(c, `the target could not be started: ${this.startFailure}`, caseStarted), observed: error.message }, kind: 'start' };
    }
  }
}
