/**
 * `protosim fuzz <protocol> --adapter FILE`: generated cases against client programs. Each case
 * (./client-case.ts) is rendered as an ordinary client-suite case (./client-render.ts,
 * ./client-fuzz-suite.ts), loaded by the client-suite loader and run on the client suites' engine
 * (`runClientSuite`: protosim's reference server as the server command, the programs through the
 * adapter, link faults through the fault proxy); the search, confirmation and shrinking are the
 * server side's (./fuzz-search.ts).
 *
 * A FAIL is a finding (when it fails again); an ERROR is a finding only when the program could not
 * be started at all (the search then ends: exit 3); any other ERROR (the harness could not do its
 * part, the case's own bound) is inconclusive, never a finding.
 */
import type { Adapter } from '../../clients/adapter.js';
import type { IoMode } from '../../clients/client-process.js';
import { runClientSuite } from '../../clients/run-client-suite.js';
import { protosimLauncher } from '../../managed-process.js';
import type fc from 'fast-check';
import { caseFamily, type GeneratedClientCase } from './case-families.js';
import { clientFuzzCaseId, clientFuzzSuite, clientSuiteText, fuzzCaseTimeoutMs, type ClientSuiteBase } from './client-fuzz-suite.js';
import type { ClientProtocolFuzz } from './client-protocol.js';
import { fuzzSearch, type Judged, type SearchFinding, type SearchOutcome, type SearchProgress } from './fuzz-search.js';

export interface ClientFuzzOptions {
  generator: ClientProtocolFuzz;
  adapter: Adapter;
  /** the suite as the cases name it (adapter path, server command, adapter variables) */
  base: ClientSuiteBase;
  /** the folder the suite's adapter path is relative to (the saved case's) */
  suiteDir: string;
  /** the wire has no message boundaries (protobuf's raw framing) */
  unframed: boolean;
  /** `--var` values of the adapter's variables */
  vars: Record<string, string>;
  io?: IoMode;
  /** the protocol's named bounds of client programs checked too (idle-requests) */
  bounds?: boolean;
  seed: number;
  runs: number;
  repeat: number;
  confirm: number;
  timeBudgetMs: number;
  onProgress?: (event: SearchProgress) => void;
}

export interface ClientFuzzFinding extends SearchFinding<GeneratedClientCase> {
  /** the shrunk case as a client-suite file */
  suiteText: string;
}

export interface ClientFuzzOutcome extends Omit<SearchOutcome<GeneratedClientCase>, 'finding'> {
  finding?: ClientFuzzFinding;
}

/** The adapter's quit line, when it types one. */
function quitLine(adapter: Adapter): string | undefined {
  const quit = adapter.spec.input.quit;
  return quit === 'ctrl-c' || quit === 'eof' ? undefined : quit.replace(/\n$/, '');
}

/** The arbitrary of the cases this program gets (texts fair to type through its adapter). */
export function clientFuzzArbitrary(o: Pick<ClientFuzzOptions, 'generator' | 'adapter' | 'unframed'>): fc.Arbitrary<GeneratedClientCase> {
  const wholeLine = o.adapter.spec.input.message.trimStart().startsWith('{text}');
  const quit = quitLine(o.adapter);
  const text = { maxChars: o.generator.maxTextChars, wholeLine, ...(quit !== undefined ? { quitLine: quit } : {}), ...(o.generator.blankIsMessage === true ? { blankIsMessage: true } : {}) };
  return caseFamily(o.generator).arbitrary(o.generator, { adapter: o.adapter, unframed: o.unframed, text });
}

/** The suite text of case `c` as case `id`. */
export function clientCaseText(o: Pick<ClientFuzzOptions, 'generator' | 'adapter' | 'base'>, c: GeneratedClientCase, id: string, header: readonly string[] = []): string {
  const steps = caseFamily(o.generator).render(o.generator, c, o.adapter);
  return clientSuiteText(o.base, steps, id, header);
}

/** Runs one rendered case once. */
async function runOnce(o: ClientFuzzOptions, c: GeneratedClientCase, id: string): Promise<Judged> {
  const suite = clientFuzzSuite(clientCaseText(o, c, id), `<fuzz ${id}>`, o.suiteDir);
  const report = await runClientSuite(suite, {
    adapter: o.adapter,
    vars: o.vars,
    ...(o.io !== undefined ? { io: o.io } : {}),
    protosimLauncher: protosimLauncher(),
    caseTimeoutMs: fuzzCaseTimeoutMs,
    ...(o.bounds === true ? { bounds: true } : {}),
  });
  const result = report.cases[0];
  if (result === undefined) return { kind: 'inconclusive', reason: 'no result' };
  if (result.verdict === 'PASS' || result.verdict === 'SKIP') return { kind: 'pass' };
  if (result.verdict === 'FAIL') return { kind: 'fail', result };
  return /cannot start/.test(result.reason) ? { kind: 'unreachable', reason: result.reason } : { kind: 'inconclusive', reason: result.reason };
}

export async function runClientFuzz(o: ClientFuzzOptions): Promise<ClientFuzzOutcome> {
  const protocol = o.generator.protocol;
  const outcome = await fuzzSearch<GeneratedClientCase>({
    arbitrary: clientFuzzArbitrary(o),
    judge: (c, id) => runOnce(o, c, id),
    size: (c) => caseFamily(o.generator).size(o.generator, c),
    caseId: (run) => clientFuzzCaseId(protocol, o.seed, run),
    seed: o.seed,
    runs: o.runs,
    repeat: o.repeat,
    confirm: o.confirm,
    timeBudgetMs: o.timeBudgetMs,
    ...(o.onProgress !== undefined ? { onProgress: o.onProgress } : {}),
  });
  const { finding: f, ...rest } = outcome;
  return { ...rest, ...(f !== undefined ? { finding: { ...f, suiteText: savedCaseText(o, f) } } : {}) };
}

/** The shrunk case as a client-suite file, with comments saying where it came from and how to replay it. */
function savedCaseText(o: ClientFuzzOptions, f: SearchFinding<GeneratedClientCase>): string {
  const header = [
    `protosim fuzz ${o.generator.protocol} --adapter ${o.base.adapter} --seed ${o.seed}: generated case ${f.run}, shrunk ${f.shrinks} times`,
    `it failed: ${f.result.reason.split('\n')[0]!.slice(0, 300)}`,
    'replay: protosim run THIS-FILE (or with --adapter ANOTHER-ADAPTER)',
  ];
  return clientCaseText(o, f.shrunk, f.caseId, header);
}
