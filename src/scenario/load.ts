/**
 * Loads a scenario file: YAML with source positions, validated by the zod schema, then checked
 * against the model registry, then resolved into a SimConfig. Every problem becomes an issue with
 * `file:line:col`, the field path, what was expected and what was found (STYLE 9).
 */
import { dirname } from 'node:path';
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node as YamlNode } from 'yaml';
import type { z } from 'zod';
import type { ModelVariant, ProtocolModel } from '../models/types.js';
import type { SimConfig } from '../sim/config.js';
import { readFormatHeader, warnIfUndeclared, type FileKind, type FormatHeader, type FormatOptions } from './file-format.js';
import { InputFileError, readInputFile } from './input-file.js';
import { resolveScenario } from './resolve-scenario.js';
import { fileIssue, formatPath, ScenarioError, type ScenarioIssue } from './scenario-error.js';
import { suggest } from './suggest.js';
import { scenarioSchema, type Expectation, type ScenarioFile } from './schema.js';

export { suggest };
export { fileIssue, formatIssue, formatPath, maxIssuesShown, ScenarioError, type ScenarioIssue } from './scenario-error.js';

/**
 * Reads a YAML input file with the size limit and the text check; any problem becomes a
 * ScenarioError with one issue naming the file (no made-up position).
 */
export function readYamlInput(file: string, shownAs: string, kind: 'scenario' | 'suite' | 'adapter' | 'manifest' | 'target file'): string {
  try {
    return readInputFile(file, shownAs, kind);
  } catch (error) {
    if (error instanceof InputFileError) throw new ScenarioError([fileIssue(shownAs, error.message.slice(shownAs.length + 2))]);
    throw error;
  }
}

export interface ExploreSettings {
  strategy: 'random' | 'exhaustive' | 'pbt';
  seedStart: number;
  seeds: number;
  /** a pinned seed: run exactly this one */
  seed: number | null;
  maxStates: number;
  maxDepth: number;
  faultBudget: number;
}

export interface Scenario {
  file: string;
  spec: ScenarioFile;
  model: ProtocolModel;
  variant: ModelVariant;
  config: SimConfig;
  expect: Expectation;
  explore: ExploreSettings;
}

/**
 * Reads and loads a scenario file. Throws ScenarioError (exit 2) with positions. `shownAs` is the
 * name used in messages (the path as the user typed it); it defaults to `file`.
 */
export function loadScenarioFile(file: string, shownAs: string = file): Scenario {
  const text = readYamlInput(file, shownAs, 'scenario');
  return { ...parseScenario(text, shownAs, { warnUndeclared: true, baseDir: dirname(file) }), file };
}

/**
 * Parses scenario text; `file` is used in error positions. `baseDir`: where a protocol module path
 * (`protocol: ./my-protocol/index.js`) is relative to, the scenario file's folder (default: the
 * working folder).
 */
export function parseScenario(text: string, file: string, options: FormatOptions & { baseDir?: string } = {}): Scenario {
  const { data, locate, format } = parseYamlMapping(text, file, 'expected a mapping with id, title, protocol, expect...', 'scenario');
  const parsed = scenarioSchema.safeParse(data, { reportInput: true });
  if (!parsed.success) {
    throw new ScenarioError(parsed.error.issues.map((issue) => zodIssue(issue, file, locate)));
  }
  const scenario = resolveScenario(parsed.data, file, locate, options.baseDir);
  if (options.warnUndeclared) warnIfUndeclared(format, file);
  return scenario;
}

/**
 * Validates and resolves a scenario given as data (not YAML), e.g. the one `protosim check`
 * builds from a model's defaults. `origin` names it in error messages.
 */
export function scenarioFromData(data: unknown, origin: string): Scenario {
  const parsed = scenarioSchema.safeParse(data, { reportInput: true });
  const nowhere = (): { line: number; col: number } => ({ line: 0, col: 0 });
  if (!parsed.success) throw new ScenarioError(parsed.error.issues.map((issue) => zodIssue(issue, origin, nowhere)));
  return resolveScenario(parsed.data, origin, nowhere);
}

/** One zod issue as a positioned scenario issue; `schema` is walked to list the fields allowed where a key is unknown. */
export function zodIssue(
  issue: z.core.$ZodIssue,
  file: string,
  locate: (path: readonly PropertyKey[], key?: string) => { line: number; col: number },
  schema: unknown = scenarioSchema,
): ScenarioIssue {
  const path = issue.path;
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0]!;
    const pos = locate(path, key);
    const known = knownKeysAt(path, schema);
    const hint = known.length ? `; expected one of ${known.join(', ')}${suggest(key, known)}` : '';
    return { file, ...pos, path: formatPath([...path, key]), message: `unknown field ${JSON.stringify(key)}${hint}` };
  }
  const pos = locate(path);
  return { file, ...pos, path: formatPath(path), message: describeZodIssue(issue) };
}

function describeZodIssue(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return `missing; expected ${issue.expected}`;
      return `expected ${issue.expected}, got ${describeValue(issue.input)}`;
    case 'invalid_value':
      return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, got ${describeValue(issue.input)}${typeof issue.input === 'string' ? suggest(issue.input, issue.values.map(String)) : ''}`;
    case 'invalid_union': {
      if ((issue as { note?: string }).note === 'No matching discriminator') return `expected a \`kind\` field; got ${describeValue(issue.input)}`;
      return `expected ${unionHint(issue.path)}, got ${describeValue(issue.input)}`;
    }
    case 'too_small':
      return `${issue.message.replace(/^Too small: /, '')}`;
    case 'too_big':
      return `${issue.message.replace(/^Too big: /, '')}`;
    default:
      return issue.message;
  }
}

function unionHint(path: readonly PropertyKey[]): string {
  const last = String(path[path.length - 1] ?? '');
  if (/Ms$/.test(last) || last === 'delayMs') {
    return 'a delay in ms: a number, { fixed: N }, { uniform: [min, max] } or { exponential: { meanMs: N, maxMs: N } }';
  }
  return 'one of the allowed forms';
}

function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  const shown = JSON.stringify(v);
  return `${typeof v} ${shown.length > 80 ? `${shown.slice(0, 60)}…" (${String(v).length} characters)` : shown}`;
}

function knownKeysAt(path: readonly PropertyKey[], root: unknown): string[] {
  // Walk the zod schema along the path to list the fields allowed there.
  let schema: unknown = root;
  for (const seg of path) {
    schema = unwrap(schema);
    const def = (schema as { def?: { type?: string; shape?: Record<string, unknown>; element?: unknown } }).def;
    if (!def) return [];
    if (def.type === 'object' && typeof seg === 'string') schema = def.shape?.[seg];
    else if (def.type === 'array') schema = def.element;
    else return [];
  }
  schema = unwrap(schema);
  const def = (schema as { def?: { type?: string; shape?: Record<string, unknown> } }).def;
  return def?.type === 'object' && def.shape ? Object.keys(def.shape) : [];
}

function unwrap(schema: unknown): unknown {
  let s = schema as { def?: { type?: string; innerType?: unknown; in?: unknown } } | undefined;
  while (s?.def && (s.def.type === 'optional' || s.def.type === 'default' || s.def.type === 'pipe')) {
    s = (s.def.innerType ?? s.def.in) as typeof s;
  }
  return s;
}

/** Named limits on YAML structure, so that no file can make the parser or its users run away. */
export const yamlLimits = {
  /** alias expansions (`*a`) counted by the yaml library before it refuses: stops alias bombs */
  maxAliasCount: 100,
  /** nesting of mappings and lists */
  maxYamlDepth: 64,
  /** YAML syntax errors printed for one file (the rest are counted) */
  maxSyntaxErrorsShown: 5,
} as const;

/**
 * Parses YAML text that must be a mapping, keeping source positions: YAML syntax errors and a
 * non-mapping document become ScenarioErrors at their position; `locate` maps a field path to its
 * line and column. Every YAML file protosim reads (scenarios, suites, adapters, manifests) uses it.
 * Alias bombs (maxAliasCount) and deep nesting (maxYamlDepth) are refused at their position.
 * With `kind`, the file's declared `kind:` and `version:` are read first (file-format.ts), checked
 * and taken out of `data`; `format` says what the file is (null without `kind`).
 */
export function parseYamlMapping(
  text: string,
  shownAs: string,
  notAMapping: string,
  kind?: FileKind,
): {
  data: Record<string, unknown>;
  doc: Document;
  locate: (path: readonly PropertyKey[], key?: string) => { line: number; col: number };
  format: FormatHeader | null;
} {
  const lineCounter = new LineCounter();
  const at = (offset: number): { line: number; col: number } => lineCounter.linePos(offset);
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const issues: ScenarioIssue[] = doc.errors.slice(0, yamlLimits.maxSyntaxErrorsShown).map((e) => {
      const message = /Maximum call stack size/.test(e.message)
        ? `nested too deeply (over the limit maxYamlDepth=${yamlLimits.maxYamlDepth} levels of mappings and lists)`
        : `YAML syntax: ${e.message.split('\n')[0]!.slice(0, 200)}`;
      return { file: shownAs, ...at(e.pos[0]), path: '', message };
    });
    const more = doc.errors.length - issues.length;
    if (more > 0) issues.push({ file: shownAs, ...at(doc.errors[issues.length]!.pos[0]), path: '', message: `and ${more} more YAML syntax error${more === 1 ? '' : 's'}; is this a YAML file?` });
    throw new ScenarioError(issues);
  }
  const deep = tooDeep(doc.contents, yamlLimits.maxYamlDepth);
  if (deep !== null) {
    throw new ScenarioError([{ file: shownAs, ...at(deep.range?.[0] ?? 0), path: '', message: `nested too deeply: over the limit maxYamlDepth=${yamlLimits.maxYamlDepth} levels of mappings and lists` }]);
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: yamlLimits.maxAliasCount });
  } catch (error) {
    // The yaml library refuses an alias that expands to too many nodes (a "billion laughs" file).
    if (!(error instanceof ReferenceError || error instanceof RangeError)) throw error;
    const alias = firstAlias(doc.contents);
    const aliasAt = at(alias?.range?.[0] ?? 0);
    const message =
      error instanceof ReferenceError && /alias/i.test(error.message)
        ? `YAML aliases expand to too much data (over the limit maxAliasCount=${yamlLimits.maxAliasCount}); write the values out instead of nesting aliases`
        : `YAML aliases: ${error.message}`;
    throw new ScenarioError([{ file: shownAs, ...aliasAt, path: '', message }]);
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    const start = (doc.contents as YamlNode | null)?.range?.[0] ?? 0;
    throw new ScenarioError([{ file: shownAs, ...at(start), path: '', message: notAMapping }]);
  }
  const mapping = data as Record<string, unknown>;
  const locate = (path: readonly PropertyKey[], key?: string): { line: number; col: number } => positionOf(doc, lineCounter, path, key);
  if (kind === undefined) return { data: mapping, doc, locate, format: null };
  const read = readFormatHeader(mapping, locate, shownAs, kind);
  if ('issues' in read) throw new ScenarioError(read.issues);
  delete mapping.kind;
  delete mapping.version;
  return { data: mapping, doc, locate, format: read.header };
}

/** The first node nested deeper than `max` collections (iterative: the tree may be deep). */
function tooDeep(root: unknown, max: number): YamlNode | null {
  const stack: { node: unknown; depth: number }[] = [{ node: root, depth: 1 }];
  while (stack.length > 0) {
    const { node, depth } = stack.pop()!;
    if (isMap(node) || isSeq(node)) {
      if (depth > max) return node as YamlNode;
      for (const item of node.items as unknown[]) {
        if (isPair(item)) {
          stack.push({ node: item.key, depth: depth + 1 });
          stack.push({ node: item.value, depth: depth + 1 });
        } else stack.push({ node: item, depth: depth + 1 });
      }
    }
  }
  return null;
}

function firstAlias(root: unknown): YamlNode | null {
  const stack: unknown[] = [root];
  let first: YamlNode | null = null;
  while (stack.length > 0) {
    const node = stack.pop();
    if (isAlias(node)) {
      if (first === null || (node.range?.[0] ?? 0) < (first.range?.[0] ?? 0)) first = node as YamlNode;
    } else if (isMap(node) || isSeq(node)) {
      for (const item of node.items as unknown[]) {
        if (isPair(item)) stack.push(item.key, item.value);
        else stack.push(item);
      }
    }
  }
  return first;
}

export function positionOf(
  doc: Document,
  lineCounter: LineCounter,
  path: readonly PropertyKey[],
  key?: string,
): { line: number; col: number } {
  // The deepest node that exists along the path; for a key, the key itself.
  let node: unknown = doc.contents;
  let best: YamlNode | null = (doc.contents as YamlNode | null) ?? null;
  for (const seg of key !== undefined ? [...path, key] : path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && p.key.value === seg);
      if (!pair) break;
      if (key !== undefined && seg === key && isScalar(pair.key)) {
        best = pair.key;
        break;
      }
      node = pair.value;
      if (node && typeof node === 'object' && 'range' in node) best = node as YamlNode;
      else if (isScalar(pair.key)) best = pair.key;
    } else if (isSeq(node) && typeof seg === 'number') {
      node = node.items[seg];
      if (node && typeof node === 'object' && 'range' in node) best = node as YamlNode;
      else break;
    } else break;
  }
  const offset = best?.range?.[0] ?? 0;
  const pos = lineCounter.linePos(offset);
  return { line: pos.line, col: pos.col };
}
