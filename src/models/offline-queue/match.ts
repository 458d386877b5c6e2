/**
 * Account-name patterns for `list`: a shell-style wildcard where `*` matches any run of
 * characters and `_` matches one (docs/protocols.md section 5). Both the model's server machine and the
 * reference server (src/servers) list through `listMatches` below: one reading of the pattern.
 *
 * Readings decided here (the model and the server disagreed before; docs/protocols.md and seed 004 say
 * only "a shell-style wildcard where `_` matches one character"):
 *  - a character is a Unicode code point, never a UTF-16 unit: `_` matches `😀` (proto3 strings are
 *    Unicode; the name and message limits count the same characters, see limits.ts);
 *  - `*` in a pattern is always the wildcard, also where the name has a literal `*` at that place:
 *    `*` matches `*a`, `a*` matches `a*b` (the old model matcher tried the literal first and then
 *    never backtracked to it; names may no longer contain `*` anyway, see limits.ts);
 *  - every other character, `.` `(` `[` `\` included, matches only itself: no client-supplied regular
 *    expression ever runs (except under the server's `regex-pattern` defect).
 *
 * Two matchers, both pure and bounded:
 *  - `naiveMatch`, what translating the wildcard into a backtracking regular expression does (the
 *    seed, the faithful variant): every `*` tries every split, so `*a*a*a*a*b` against a long run of
 *    `a` takes exponential time;
 *  - `linearMatch`, the greedy two-pointer matcher (at most |pattern| x |name| steps).
 * Both count their steps, so a model can tell how long the server would spin without spinning.
 */

export interface MatchResult {
  matches: boolean;
  steps: number;
  /** true when `naiveMatch` gave up at its step budget (the answer is then unknown) */
  exhausted: boolean;
}

/** Code points: what "a character" means in every offline-queue rule. */
export const chars = (s: string): string[] => [...s];

/** Backtracking match, counting steps, giving up after `budget` steps. */
export function naiveMatch(pattern: string, name: string, budget: number): MatchResult {
  const p = chars(pattern);
  const t = chars(name);
  let steps = 0;
  let exhausted = false;
  const rec = (i: number, j: number): boolean => {
    steps++;
    if (steps > budget) {
      exhausted = true;
      return false;
    }
    if (i === p.length) return j === t.length;
    const c = p[i];
    if (c === '*') {
      for (let k = j; k <= t.length; k++) {
        if (rec(i + 1, k)) return true;
        if (exhausted) return false;
      }
      return false;
    }
    if (j < t.length && (c === '_' || c === t[j])) return rec(i + 1, j + 1);
    return false;
  };
  const matches = rec(0, 0);
  return { matches: matches && !exhausted, steps: Math.min(steps, budget + 1), exhausted };
}

/** Greedy two-pointer wildcard match: no exponential case. */
export function linearMatch(pattern: string, name: string): MatchResult {
  const p = chars(pattern);
  const t = chars(name);
  let i = 0;
  let j = 0;
  let star = -1; // position of the last `*` seen in the pattern
  let mark = 0; // where in the name that `*` currently stops
  let steps = 0;
  while (j < t.length) {
    steps++;
    const c = p[i];
    if (c === '*') {
      star = i++;
      mark = j;
    } else if (c !== undefined && (c === '_' || c === t[j])) {
      i++;
      j++;
    } else if (star >= 0) {
      // let the last `*` swallow one more character and retry after it
      i = star + 1;
      j = ++mark;
    } else {
      return { matches: false, steps, exhausted: false };
    }
  }
  while (p[i] === '*') i++;
  return { matches: i === p.length, steps, exhausted: false };
}

/** How a server matches list patterns: the variant's choice, or a defect's. */
export type PatternMode = 'linear' | 'backtracking' | 'regex';

/** The `regex-pattern` defect tries only names this short, so a hostile pattern stays bounded. */
export const regexDefectMaxNameChars = 16;

export interface ListOutcome {
  names: string[];
  steps: number;
  exhausted: boolean;
  /** set when the pattern cannot be used at all (only a regular expression can be malformed) */
  error?: string;
}

/**
 * The names (sorted) that `pattern` selects, and the matching work it took. An empty pattern is
 * proto3's unset `msg`: no filter, every account (decided here; the seed's "a pattern for listing
 * only the accounts matching it" makes the pattern a restriction, and the reference server already
 * listed everything for it).
 */
export function listMatches(names: readonly string[], pattern: string, mode: PatternMode, budget: number): ListOutcome {
  const sorted = [...names].sort();
  if (pattern === '') return { names: sorted, steps: sorted.length, exhausted: false };
  if (mode === 'regex') return regexList(sorted, pattern);
  const out: string[] = [];
  let steps = 0;
  for (const name of sorted) {
    const r = mode === 'linear' ? linearMatch(pattern, name) : naiveMatch(pattern, name, budget - steps);
    steps += r.steps;
    if (r.exhausted) return { names: out, steps, exhausted: true };
    if (r.matches) out.push(name);
  }
  return { names: out, steps, exhausted: false };
}

/** The `regex-pattern` defect: the pattern runs as a JavaScript regular expression. */
function regexList(sorted: readonly string[], pattern: string): ListOutcome {
  let regex: RegExp;
  try {
    regex = new RegExp(`^(?:${pattern})$`);
  } catch (error) {
    return { names: [], steps: 0, exhausted: false, error: `bad pattern: ${(error as Error).message}` };
  }
  const names = sorted.filter((n) => chars(n).length <= regexDefectMaxNameChars && regex.test(n));
  return { names, steps: sorted.length, exhausted: false };
}
