/**
 * Runs a conformance suite against a live target: each case's steps in order, a verdict per case.
 *
 *  - PASS: every step held.
 *  - FAIL: the target did something else; the result names the step, what was expected and what
 *    arrived.
 *  - ERROR: nothing to judge: a timeout (never a pass), the target crashed (with the tails of its
 *    stdout and stderr; a command target is restarted for the next case), it could not be reached
 *    or started, or the case itself cannot run.
 *  - SKIP: the case needs what this target cannot do (a process fault on an address target).
 *
 * Indefinite outcomes are not failures: `maybe: true` and `$oneOf` accept either outcome of a
 * message that may or may not have been processed, and the kv model keeps both branches of a
 * request that got no reply under a fault.
 *
 * This is the public entry; the run itself is in ./suite-run/: the cases one after another
 * (suite-runner.ts, result-ledger.ts), one case's driver (case-run.ts) and its steps.
 */
import { makeSuiteReport } from '../report/case-result.js';
import type { Suite } from '../scenario/load-suite.js';
import type { CaseFile } from '../scenario/suite-schema.js';
import { InputError } from '../errors.js';
import { selectCases as selectSuiteCases } from '../scenario/step-language.js';
import { targetTrouble } from './engine/verdicts.js';
import { isStrict } from './server-mapping-for.js';
import { liveProtocolNamed } from '../models/registry.js';
import { liveCodecFor, quicObjectCodec } from './live-codec.js';
import { defaultConnectionLimits, type ConnectionLimits } from './live-connection.js';
import { resolveTarget } from './live-target.js';
import { ManagedProcess } from './managed-process.js';
import { boundsOn, boundsOnlyCases } from './suite-run/server-bounds.js';
import { SuiteRunner } from './suite-run/suite-runner.js';
import type { RunSuiteOptions, SuiteRun } from './suite-run/suite-options.js';

export type { RunSuiteOptions, SuiteRun } from './suite-run/suite-options.js';
export {
  afterCaseSettleMs,
  defaultCaseTimeoutMs,
  maxHeldResultMs,
  maxStartAttempts,
  modelQuietMs,
  modelSettleMs,
  quicConnectTimeoutMsMin,
  rawWriteGapMs,
  teardownCloseMs,
} from './suite-run/constants.js';

/**
 * Selects cases by id and tag; an unknown id is an input error naming the valid ones. `strict: true`
 * cases only with the suite variable `strict`, `bounds: true` cases (soaks) only with `bounds`
 * (either named by id runs).
 */
export function selectCases(suite: Suite, caseIds: readonly string[] = [], tags: readonly string[] = [], vars: Readonly<Record<string, string | number>> = suite.spec.vars ?? {}): CaseFile[] {
  const chosen = selectSuiteCases(suite.spec.cases, suite.file, caseIds, tags, isStrict(vars));
  const leftOut = boundsOn(vars) ? [] : boundsOnlyCases(chosen, caseIds);
  return chosen.filter((c) => !leftOut.includes(c.id));
}

export async function runSuite(suite: Suite, options: RunSuiteOptions = {}): Promise<SuiteRun> {
  const target = resolveTarget(suite, options, options.cwd ?? process.cwd());
  const protocol = suite.spec.protocol;
  const http = liveProtocolNamed(protocol)?.transport === 'http';
  const lineCodec = http ? null : liveCodecFor(protocol, target.codec, target.framing);
  if (!http && lineCodec === null) throw new InputError(`${protocol} has no codec ${target.codec}`);
  const codec = lineCodec !== null && target.transport === 'quic' ? quicObjectCodec(lineCodec) : lineCodec;
  const vars: Record<string, string | number> = { ...(suite.spec.vars ?? {}), ...(options.vars ?? {}) };
  const cases = selectCases(suite, options.caseIds, options.tags, vars);
  const limits: ConnectionLimits = { ...defaultConnectionLimits, ...options.limits };
  const managed = target.command !== undefined ? new ManagedProcess(target.command) : undefined;
  const started = performance.now();
  const runner = new SuiteRunner(suite, options, target, codec, vars, limits, managed);
  await runner.runCases(cases);
  const { results, kinds } = runner.ledger;
  const lastAddress = runner.lastAddress;
  // A started command is named by where it listened, and how it was started.
  const shownTarget =
    managed !== undefined && lastAddress !== undefined
      ? `${lastAddress} (started: ${target.command!.command.map((a) => (a === '{protosim}' ? 'protosim' : a.replaceAll('{port}', String(new URL(lastAddress).port)))).join(' ')}; ${managed.isolation})`
      : target.description;
  const report = makeSuiteReport(shownTarget, results, Math.round(performance.now() - started), suite.spec.suite);
  // Exit 3 when the target could not be started or reached, unless a required case failed (a
  // verdict on the target, exit 1) or every required case passed (exit 0).
  return { report, unreachable: targetTrouble(results, kinds, report.ok) };
}
