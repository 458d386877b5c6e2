/**
 * Regular expressions that users write (adapter patterns, ready patterns, `$regex` in suites) run
 * on a linear-time engine (RE2, through re2js), so no pattern and no output can make protosim
 * backtrack for ever (`^(a+)+$` on "aaaa…b"). A pattern must be a valid JavaScript regular
 * expression that RE2 also supports: backreferences (`\1`) and lookaround (`(?=`, `(?<=`) are
 * refused with the reason, at load time, at the pattern's file:line:col.
 *
 * A compiled pattern is a `RegExp` (so every caller keeps its types) whose `exec` — and so `test`,
 * `String.prototype.match`, `matchAll`, `replace` — runs on RE2.
 */
import { RE2JS } from 're2js';

/** Why a pattern cannot be used, or null when it can. */
export function userPatternProblem(source: string, flags = ''): string | null {
  try {
    new RegExp(source, flags);
  } catch (error) {
    return `not a valid regular expression: ${(error as Error).message.replace(/^Invalid regular expression: /, '')}`;
  }
  try {
    compileRe2(source, flags);
  } catch (error) {
    const detail = (error as Error).message.replace(/^error parsing regexp: /, '');
    return `a pattern protosim cannot run in linear time (${detail}); protosim matches user patterns with RE2, which has no backreferences (\\1) or lookaround ((?=...), (?!...), (?<=...)): rewrite it without them`;
  }
  return null;
}

function compileRe2(source: string, flags: string): RE2JS {
  let f = 0;
  if (flags.includes('i')) f |= RE2JS.CASE_INSENSITIVE;
  if (flags.includes('s')) f |= RE2JS.DOTALL;
  if (flags.includes('m')) f |= RE2JS.MULTILINE;
  return RE2JS.compile(RE2JS.translateRegExp(source), f);
}

/** A RegExp whose matching runs on RE2 (linear time). Flags g and y keep `lastIndex` as RegExp does. */
export class LinearRegExp extends RegExp {
  readonly #re2: RE2JS;
  constructor(source: string, flags = '') {
    super(source, flags);
    this.#re2 = compileRe2(source, flags);
  }

  override exec(input: string): RegExpExecArray | null {
    const text = String(input);
    const sticky = this.sticky;
    const stateful = this.global || sticky;
    const from = stateful ? this.lastIndex : 0;
    if (from > text.length) {
      this.lastIndex = 0;
      return null;
    }
    const m = this.#re2.matcher(text);
    const found = sticky ? m.find(from) && m.start() === from : m.find(from);
    if (!found) {
      if (stateful) this.lastIndex = 0;
      return null;
    }
    const groups: (string | undefined)[] = [];
    for (let g = 0; g <= m.groupCount(); g++) groups.push(m.group(g) ?? undefined);
    const result = groups as unknown as RegExpExecArray;
    result.index = m.start();
    result.input = text;
    const named = this.#re2.namedGroups();
    const names = Object.keys(named);
    (result as { groups?: Record<string, string | undefined> }).groups = names.length > 0 ? Object.fromEntries(names.map((n) => [n, m.group(named[n]!) ?? undefined])) : undefined;
    if (stateful) this.lastIndex = m.end() === m.start() ? m.end() + 1 : m.end();
    return result;
  }
}

/**
 * Compiles a user pattern on RE2. Throws an Error with `userPatternProblem`'s words when it cannot
 * be used; loaders call `userPatternProblem` first to report it at the pattern's position.
 */
export function compileUserPattern(source: string, flags = ''): RegExp {
  const problem = userPatternProblem(source, flags);
  if (problem !== null) throw new Error(problem);
  return new LinearRegExp(source, flags);
}
