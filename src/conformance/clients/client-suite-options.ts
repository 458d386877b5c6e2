/** The options of a client-suite run, its bounds, and which cases and adapter variables it takes. */
import { selectCases } from '../../scenario/step-language.js';
import type { Adapter } from './adapter.js';
import type { IoMode } from './client-process.js';
import type { ClientCaseFile } from './client-suite-schema.js';
import type { ClientSuite } from './load-client-suite.js';
import type { CaseResult } from '../../report/case-result.js';

export interface RunClientSuiteOptions {
  adapter: Adapter;
  /** `--var` overrides of the adapter's vars */
  vars?: Readonly<Record<string, string>>;
  io?: IoMode;
  caseIds?: readonly string[];
  tags?: readonly string[];
  protosimLauncher: readonly string[];
  /** called as each case starts and ends (progress) */
  onCaseStart?: (c: ClientCaseFile) => void;
  onCaseEnd?: (r: CaseResult) => void;
  /** `--strict`: the `strict: true` cases too */
  strict?: boolean;
  /** `--bounds`: the protocol's named bounds of client programs (src/models/live-bounds.ts) checked too */
  bounds?: boolean;
  /** a case's overall bound when it sets no timeoutMs (default defaultClientCaseTimeoutMs) */
  caseTimeoutMs?: number;
}

/** A case's overall bound when it sets none. */
export const defaultClientCaseTimeoutMs = 30_000;
/** Trace events kept per case (polling makes many); the rest are counted in an `end` note. */
export const maxCaseTraceEvents = 3000;
/** How long `start: [..] together: true` holds first requests waiting for the others. */
export const togetherTimeoutMs = 5000;
/** How long `kill ... after:` waits for the request it kills after. */
export const killAfterTimeoutMs = 10_000;

/** Cases selected by `--case` ids and `--tag`s (all when none given). */
export function selectClientCases(suite: ClientSuite, caseIds: readonly string[] = [], tags: readonly string[] = [], strict = false): ClientCaseFile[] {
  return selectCases(suite.spec.cases, suite.file, caseIds, tags, strict);
}

/** The adapter vars a suite asks for, where the adapter has them, then `--var`. */
export function adapterVarsFor(suite: ClientSuite, adapter: Adapter, overrides: Readonly<Record<string, string>> = {}): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(suite.spec.adapterVars ?? {})) if (adapter.spec.vars && k in adapter.spec.vars) out[k] = String(v);
  return { ...out, ...overrides };
}

