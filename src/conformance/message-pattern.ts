/**
 * Message patterns of suite files: what a case sends (templates) and what it expects (patterns).
 *
 * Templates (send): `$name` as a whole string is a value captured earlier (a session id); `${name}`
 * inside a string is a suite variable or `${run}`, a token unique to this case run (so names do not
 * collide with earlier runs on a long-lived target); `{$repeat: "x", times: N}` is a long string.
 *
 * Patterns (expect): a mapping matches when every key it names matches (other keys may be there);
 * a list matches element by element; scalars match by equality. `$name` captures the value the first
 * time and must be equal afterwards; `$_` is anything present. Operators: `{$regex: "..."}`,
 * `{$oneOf: [a, b]}` (an indefinite outcome: either), `{$absent: true}`, `{$not: p}`,
 * `{$lines: ["a:1", "b:2"]}` (the text is exactly these lines, each ending with a newline, in order)
 * and `{$lineSet: [...]}` (the same lines in any order).
 */

import { show } from '../models/live-types.js';
import { compileUserPattern } from '../scenario/user-pattern.js';

/** A value for messages: JSON, at most 200 characters (the packages' mappings use the same). */
export { show };

export type Captures = Map<string, unknown>;

/** `$regex` patterns, compiled once each on the linear-time engine (suites are checked at load time). */
const regexCache = new Map<string, RegExp>();
function userRegex(source: string): RegExp {
  let re = regexCache.get(source);
  if (re === undefined) {
    try {
      re = compileUserPattern(source, 's');
    } catch (error) {
      throw new PatternError(`$regex ${JSON.stringify(source)}: ${(error as Error).message}`);
    }
    if (regexCache.size > 1000) regexCache.clear();
    regexCache.set(source, re);
  }
  return re;
}

/** A template or pattern that cannot be used (an unbound capture in a send...). */
export class PatternError extends Error {}

const captureRe = /^\$([A-Za-z_][A-Za-z0-9_]*)$/;

/** Replaces `${name}` in strings, captures and `$repeat` in a send template. */
export function fillTemplate(template: unknown, captures: Captures, vars: Readonly<Record<string, unknown>>): unknown {
  if (typeof template === 'string') {
    const m = captureRe.exec(template);
    if (m !== null && m[1] !== '_') {
      if (!captures.has(m[1]!)) throw new PatternError(`${template} has not been captured yet (an expect step binds it first)`);
      return captures.get(m[1]!);
    }
    return interpolate(template, vars);
  }
  if (Array.isArray(template)) return template.map((t) => fillTemplate(t, captures, vars));
  if (typeof template === 'object' && template !== null) {
    const record = template as Record<string, unknown>;
    if ('$repeat' in record) {
      const unit = interpolate(String(record.$repeat), vars);
      const times = Number(record.times ?? 1);
      if (!Number.isInteger(times) || times < 0 || unit.length * times > 64 * 1024 * 1024) throw new PatternError('$repeat needs times: a whole number, at most 64 MiB in all');
      return unit.repeat(times);
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(record)) out[k] = fillTemplate(v, captures, vars);
    return out;
  }
  return template;
}

/** `${name}` in a string: a suite variable or the run token. */
export function interpolate(text: string, vars: Readonly<Record<string, unknown>>): string {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (whole, name: string) => {
    if (!(name in vars)) throw new PatternError(`${whole}: no such variable (known: ${Object.keys(vars).join(', ')})`);
    return String(vars[name]);
  });
}

/** The result of matching: ok with new captures, or where and why it differs. */
export type MatchOutcome = { ok: true; bound: [string, unknown][] } | { ok: false; path: string; reason: string };

/** Matches `actual` against `pattern`; captures are only recorded (returned) when the whole match succeeds. */
export function matchPattern(pattern: unknown, actual: unknown, captures: Captures, vars: Readonly<Record<string, unknown>>): MatchOutcome {
  const bound = new Map<string, unknown>();
  const fail = (path: string, reason: string): MatchOutcome => ({ ok: false, path, reason });
  const walk = (p: unknown, a: unknown, path: string): MatchOutcome | null => {
    if (typeof p === 'string') {
      const m = captureRe.exec(p);
      if (m !== null) {
        if (a === undefined) return fail(path, `expected a value, got nothing`);
        if (m[1] === '_') return null;
        const name = m[1]!;
        const known = captures.has(name) ? captures.get(name) : bound.get(name);
        if (captures.has(name) || bound.has(name)) return equal(known, a) ? null : fail(path, `expected ${show(known)} (captured as $${name}), got ${show(a)}`);
        bound.set(name, a);
        return null;
      }
      const text = interpolate(p.startsWith('$$') ? p.slice(1) : p, vars);
      return a === text ? null : fail(path, `expected ${show(text)}, got ${show(a)}`);
    }
    if (Array.isArray(p)) {
      if (!Array.isArray(a)) return fail(path, `expected a list, got ${show(a)}`);
      if (a.length !== p.length) return fail(path, `expected ${p.length} elements, got ${a.length}: ${show(a)}`);
      for (let i = 0; i < p.length; i++) {
        const r = walk(p[i], a[i], `${path}[${i}]`);
        if (r !== null) return r;
      }
      return null;
    }
    if (typeof p === 'object' && p !== null) {
      const record = p as Record<string, unknown>;
      const ops = Object.keys(record).filter((k) => k.startsWith('$'));
      if (ops.length > 0) return operator(record, a, path);
      if (typeof a !== 'object' || a === null || Array.isArray(a)) return fail(path, `expected a mapping, got ${show(a)}`);
      for (const [k, v] of Object.entries(record)) {
        const r = walk(v, (a as Record<string, unknown>)[k], path ? `${path}.${k}` : k);
        if (r !== null) return r;
      }
      return null;
    }
    return equal(p, a) ? null : fail(path, `expected ${show(p)}, got ${show(a)}`);
  };
  const operator = (record: Record<string, unknown>, a: unknown, path: string): MatchOutcome | null => {
    if ('$regex' in record) {
      if (typeof a !== 'string') return fail(path, `expected text matching /${String(record.$regex)}/, got ${show(a)}`);
      return userRegex(String(record.$regex)).test(a) ? null : fail(path, `expected text matching /${String(record.$regex)}/, got ${show(a)}`);
    }
    if ('$oneOf' in record) {
      const options = record.$oneOf as unknown[];
      for (const option of options) {
        const saved = new Map(bound);
        if (walk(option, a, path) === null) return null;
        bound.clear();
        for (const [k, v] of saved) bound.set(k, v);
      }
      return fail(path, `expected one of ${options.map((o) => show(fillForShow(o, vars))).join(' or ')}, got ${show(a)}`);
    }
    if ('$absent' in record) return a === undefined ? null : fail(path, `expected no such field, got ${show(a)}`);
    if ('$not' in record) return walk(record.$not, a, path) === null ? fail(path, `expected anything but ${show(record.$not)}, got ${show(a)}`) : null;
    if ('$lines' in record || '$lineSet' in record) {
      const ordered = '$lines' in record;
      const want = ((ordered ? record.$lines : record.$lineSet) as unknown[]).map((l) => interpolate(String(l), vars));
      if (typeof a !== 'string') return fail(path, `expected text lines, got ${show(a)}`);
      const text = want.map((l) => `${l}\n`).join('');
      if (ordered) return a === text ? null : fail(path, `expected ${show(text)}, got ${show(a)}`);
      const got = a.endsWith('\n') ? a.slice(0, -1).split('\n') : a === '' ? [] : ['<no final newline>'];
      const sorted = (xs: string[]): string => JSON.stringify([...xs].sort());
      return a === '' && want.length === 0 ? null : sorted(got) === sorted(want) && a.endsWith('\n') ? null : fail(path, `expected the lines ${show(want)} in any order, got ${show(a)}`);
    }
    return fail(path, `unknown pattern operator ${Object.keys(record).join(', ')} (known: $regex, $oneOf, $absent, $not, $lines, $lineSet)`);
  };
  const result = walk(pattern, actual, '');
  return result ?? { ok: true, bound: [...bound] };
}

function fillForShow(p: unknown, vars: Readonly<Record<string, unknown>>): unknown {
  try {
    return typeof p === 'string' ? interpolate(p, vars) : p;
  } catch {
    return p;
  }
}

function equal(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}


/** A pattern as the user wrote it, with `${...}` filled in where possible, for "expected" lines. */
export function describePattern(pattern: unknown, vars: Readonly<Record<string, unknown>>): string {
  const fill = (p: unknown): unknown => {
    if (typeof p === 'string') return fillForShow(p, vars);
    if (Array.isArray(p)) return p.map(fill);
    if (typeof p === 'object' && p !== null) return Object.fromEntries(Object.entries(p).map(([k, v]) => [k, fill(v)]));
    return p;
  };
  return show(fill(pattern));
}
