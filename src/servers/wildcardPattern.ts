/**
 * The list pattern of offline-queue: a shell-style wildcard where `_` matches exactly one character
 * and `*` any run of characters (including none); every other character matches itself. No
 * client-supplied regular expression ever runs (the seed's flaw: a hostile pattern can make a
 * backtracking regex engine spin).
 *
 * The matcher is the classic two-pointer glob walk with one resume point for the last `*`: it never
 * backtracks further, so it takes at most name × pattern steps (25 × 64 with the default limits),
 * never exponential time.
 */
export function matchWildcard(pattern: string, name: string): boolean {
  const p = [...pattern]; // code points, so `_` matches one character, not one UTF-16 unit
  const t = [...name];
  let pi = 0;
  let ti = 0;
  let star = -1; // position of the last `*` seen in the pattern
  let resume = 0; // where in the name that `*` currently stops
  while (ti < t.length) {
    const c = p[pi];
    if (c !== undefined && c !== '*' && (c === '_' || c === t[ti])) {
      pi++;
      ti++;
    } else if (c === '*') {
      star = pi++;
      resume = ti;
    } else if (star !== -1) {
      // let the last `*` swallow one more character and retry after it
      pi = star + 1;
      ti = ++resume;
    } else {
      return false;
    }
  }
  while (p[pi] === '*') pi++;
  return pi === p.length;
}
