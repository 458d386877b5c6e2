/**
 * A finding of the exhaustive search as the search keeps it (exhaustive-search.ts), before it is
 * replayed into a full `Finding` with a trace (exhaustive.ts).
 */
import type { FindingKind } from '../trace.js';

export interface RawFinding {
  kind: FindingKind;
  id: string;
  summary: string;
  /** choices from the initial state; null until needed, then from `at` and `choice` */
  path: number[] | null;
  /** the state the finding was made in or from (BFS parent pointers give the path) */
  at: number;
  /** the choice taken from `at`, or -1 when the finding is about `at` itself */
  choice: number;
  /** for lassos: the index in `path` where the cycle starts */
  cycleAt: number | null;
}

/** The summary of a quiescent deadlock in which nodes `names` have not finished. */
export function deadlockSummary(names: readonly string[]): string {
  return `deadlock: nothing can happen any more, and ${names.join(', ')} ${names.length === 1 ? 'has' : 'have'} not finished`;
}
