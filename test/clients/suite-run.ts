/**
 * Runs a client suite of scenarios/conformance with one of the shipped adapters, short poll
 * intervals (the suites' adapterVars), and returns the verdict of each case by its short name.
 */
import { resolve } from 'node:path';
import { loadAdapterFile } from '../../src/conformance/clients/adapter.js';
import { loadClientSuiteFile } from '../../src/conformance/clients/load-client-suite.js';
import { runClientSuite, type RunClientSuiteOptions } from '../../src/conformance/clients/run-client-suite.js';
import { protosimLauncher } from '../../src/conformance/managed-process.js';
import type { CaseResult, SuiteReport } from '../../src/report/case-result.js';

const root = resolve(__dirname, '../..');

export async function runShippedSuite(
  protocol: 'lock-alternation' | 'status-handshake',
  adapter: string,
  more: Pick<RunClientSuiteOptions, 'bounds' | 'vars' | 'caseIds'> = {},
): Promise<{ report: SuiteReport; byName: Record<string, CaseResult> }> {
  const suite = loadClientSuiteFile(resolve(root, `scenarios/conformance/${protocol}/clients.yaml`));
  const report = await runClientSuite(suite, {
    adapter: loadAdapterFile(resolve(root, 'adapters', `${adapter}.yaml`)),
    io: 'pty',
    protosimLauncher: protosimLauncher(),
    // every case, the strict ones too (a server error the protocol never sends): the example clients are judged on all
    strict: true,
    ...more,
  });
  const byName = Object.fromEntries(report.cases.map((c) => [c.id.split('/').pop()!, c]));
  return { report, byName };
}

export const verdicts = (byName: Record<string, CaseResult>): Record<string, string> => Object.fromEntries(Object.entries(byName).map(([k, c]) => [k, c.verdict]));
