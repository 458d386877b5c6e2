/** Loading the shipped suites and pointing them at test targets. */
import { fileURLToPath } from 'node:url';
import { loadSuiteFile, type Suite } from '../../src/scenario/load-suite.js';
import type { SuiteFile } from '../../src/scenario/suite-schema.js';
import type { SuiteProtocol } from '../../src/scenario/suite-schema.js';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/** The shipped suite of a protocol. */
export function shippedSuite(protocol: SuiteProtocol): Suite {
  const file = fileURLToPath(new URL(`../../scenarios/conformance/${protocol}/suite.yaml`, import.meta.url));
  return loadSuiteFile(file);
}

/** The same suite with another target (a command the test starts, or an address). */
export function withTarget(suite: Suite, target: SuiteFile['target']): Suite {
  return { ...suite, spec: { ...suite.spec, target } };
}

/** A hostile fixture server as a command target speaking `protocol`'s scheme. */
export function hostileTarget(mode: string, extra: Record<string, unknown> = {}): SuiteFile['target'] {
  const script = fileURLToPath(new URL('../fixtures/hostile/hostile-server.mjs', import.meta.url));
  return { command: [process.execPath, script, mode, '{port}'], port: 'auto', ready: { stdout: 'listening on (\\S+)' }, startTimeoutMs: 5000, ...extra };
}
