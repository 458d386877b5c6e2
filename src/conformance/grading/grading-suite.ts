/**
 * The suite a grading run applies to every submission: a server suite (`cases:` against a target)
 * for server submissions, a client suite (`cases:` with an `adapter:`) for client programs. `--suite`
 * names the file, or a protocol's folder (`scenarios/conformance/register-exit/`), in which case the
 * kind of the submissions picks `suite.yaml` or `clients.yaml`.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../../errors.js';
import { readYamlInput } from '../../scenario/load.js';
import { loadSuiteFile, looksLikeSuite, type Suite } from '../../scenario/load-suite.js';
import { loadClientSuiteFile, looksLikeClientSuite, type ClientSuite } from '../clients/load-client-suite.js';
import { selectClientCases } from '../clients/run-client-suite.js';
import { selectCases } from '../run-suite.js';
import type { Submission } from './load-submissions.js';

/** What the summary needs of a case before any submission ran it. */
export interface GradedCase {
  id: string;
  title: string;
  level: 'required' | 'recommended';
  points: number;
}

export type GradingSuite =
  | { kind: 'server'; file: string; suite: Suite; name: string; protocol: string; cases: GradedCase[] }
  | { kind: 'client'; file: string; suite: ClientSuite; name: string; protocol: string; cases: GradedCase[] };

/** The file names a suite folder holds, per kind of submission. */
export const suiteFileOfKind = { server: 'suite.yaml', client: 'clients.yaml' } as const;

/**
 * Loads the suite for these submissions and selects its cases (`--case`, `--tag`). Every submission
 * must be of the suite's kind, and a client program's adapter of the suite's protocol.
 */
export function loadGradingSuite(path: string, shownAs: string, submissions: readonly Submission[], caseIds: readonly string[] = [], tags: readonly string[] = []): GradingSuite {
  const kinds = new Set(submissions.map((s) => s.kind));
  let file = path;
  let shownFile = shownAs;
  if (existsSync(path) && statSync(path).isDirectory()) {
    if (kinds.size > 1) throw new InputError(`--suite ${shownAs}: the submissions mix servers and client programs; grade each kind with its own suite file`, 'mixed-submissions');
    const kind = [...kinds][0] ?? 'server';
    file = join(path, suiteFileOfKind[kind]);
    shownFile = join(shownAs, suiteFileOfKind[kind]);
    if (!existsSync(file)) throw new InputError(`--suite ${shownAs}: no ${suiteFileOfKind[kind]} in that folder (${kind} submissions are graded with ${suiteFileOfKind[kind]})`, 'no-suite');
  }
  const text = readYamlInput(file, shownFile, 'suite');
  const describe = (c: { id: string; title: string; level: 'required' | 'recommended'; points: number }): GradedCase => ({ id: c.id, title: c.title, level: c.level, points: c.points });
  if (looksLikeClientSuite(text)) {
    const suite = loadClientSuiteFile(file, shownFile);
    for (const s of submissions) {
      if (s.kind !== 'client') throw new InputError(`${s.manifest}: a server submission; ${shownFile} tests client programs (give client: {adapter: ...}, or a server suite)`, 'wrong-kind');
      if (s.adapter.spec.protocol !== suite.spec.protocol) throw new InputError(`${s.manifest}: the adapter ${s.adapter.spec.adapter} is for ${s.adapter.spec.protocol}; ${shownFile} tests ${suite.spec.protocol} clients`, 'wrong-protocol');
    }
    const unknown = caseIds.filter((id) => !suite.spec.cases.some((c) => c.id === id));
    if (unknown.length > 0) throw new InputError(`--case: no case ${JSON.stringify(unknown[0])} in ${shownFile}; its cases are ${suite.spec.cases.map((c) => c.id).join(', ')}`, 'unknown-case');
    const cases = selectClientCases(suite, caseIds, tags).map(describe);
    return { kind: 'client', file, suite, name: suite.spec.suite, protocol: suite.spec.protocol, cases: nonEmpty(cases, shownFile) };
  }
  if (!looksLikeSuite(text)) throw new InputError(`--suite ${shownFile}: not a suite (no cases:); grading runs conformance suites (scenarios/conformance/<protocol>/suite.yaml or clients.yaml)`, 'not-a-suite');
  const suite = loadSuiteFile(file, shownFile);
  for (const s of submissions) {
    if (s.kind !== 'server') throw new InputError(`${s.manifest}: a client program; ${shownFile} tests servers (give server: {command: [...]}, or a client suite)`, 'wrong-kind');
  }
  const cases = selectCases(suite, caseIds, tags).map(describe);
  return { kind: 'server', file, suite, name: suite.spec.suite, protocol: suite.spec.protocol, cases: nonEmpty(cases, shownFile) };
}

function nonEmpty(cases: GradedCase[], file: string): GradedCase[] {
  if (cases.length === 0) throw new InputError(`${file}: --case/--tag select no case`, 'no-cases');
  return cases;
}
