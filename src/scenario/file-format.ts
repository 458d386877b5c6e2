/**
 * File formats that can change without breaking users. Every file protosim reads declares what it
 * is and which version of that format it follows: a YAML file with `kind:` and `version:` as its
 * first keys, a trace with `"k":"header"` and `"protosim":N` on its header line. Loaders read the
 * two first: an unknown kind, a kind other than the one read there, or a version newer than this
 * protosim knows is an error at its `file:line:col` (exit 2). A file that declares neither (written
 * for protosim 0.x) still loads, its kind inferred as before, with one warning line that names
 * `protosim migrate FILE`, which adds them.
 */
import { isMap, isScalar, parseDocument } from 'yaml';
import { InputError } from '../errors.js';
import type { ScenarioIssue } from './load.js';
import { suggest } from './suggest.js';

/** Every kind of file protosim reads, the newest version of its format, and what it is. */
export const fileFormats = {
  scenario: { version: 1, what: 'a model scenario', readBy: '`protosim run` reads scenarios' },
  suite: { version: 1, what: 'a conformance suite for servers', readBy: '`protosim run SUITE --target ...` reads server suites' },
  'client-suite': { version: 1, what: 'a conformance suite for client programs', readBy: '`protosim run SUITE --adapter ...` reads client suites' },
  adapter: { version: 1, what: 'an adapter (how protosim drives a client program)', readBy: 'adapters are read by `protosim adapter check` and `--adapter FILE`' },
  target: { version: 1, what: 'a target file (the server under test)', readBy: 'target files are given with `--target FILE`' },
  trace: { version: 1, what: 'a trace (JSON lines)', readBy: '`protosim replay` reads traces' },
  manifest: { version: 1, what: 'a grading manifest (one submission: how to run it)', readBy: '`protosim grade` reads manifests (protosim.yaml or submission.yaml in each submission folder)' },
} as const;

export type FileKind = keyof typeof fileFormats;

/** The kinds written as YAML (a trace is JSON lines; its header line says what it is). */
export const yamlFileKinds = ['scenario', 'suite', 'client-suite', 'adapter', 'target', 'manifest'] as const satisfies readonly FileKind[];
export type YamlFileKind = (typeof yamlFileKinds)[number];

export function isFileKind(value: unknown): value is FileKind {
  return typeof value === 'string' && Object.hasOwn(fileFormats, value);
}

/** What a loaded file is: its kind and version, and whether it said so itself. */
export interface FormatHeader {
  kind: FileKind;
  version: number;
  /** false for a file without kind/version (protosim 0.x): its kind was inferred */
  declared: boolean;
}

/** Options of the `parse...` functions that read one kind of file. */
export interface FormatOptions {
  /** warn (once, through the warning sink) when the file declares no kind/version: set when reading a file from disk */
  warnUndeclared?: boolean;
}

type Locate = (path: readonly PropertyKey[], key?: string) => { line: number; col: number };

/**
 * The kind and version `data` (a YAML file's top-level mapping) declares, checked against `kind`,
 * the kind read here; issues at the positions of the fields. A file that declares neither is `kind`
 * at version 1 (`declared: false`).
 */
export function readFormatHeader(data: Record<string, unknown>, locate: Locate, file: string, kind: FileKind): { header: FormatHeader } | { issues: ScenarioIssue[] } {
  const hasKind = Object.hasOwn(data, 'kind');
  const hasVersion = Object.hasOwn(data, 'version');
  if (!hasKind && !hasVersion) return { header: { kind, version: 1, declared: false } };
  const issue = (field: 'kind' | 'version', message: string): { issues: ScenarioIssue[] } => ({ issues: [{ file, ...locate([field]), path: field, message }] });
  const declared = data.kind;
  if (!hasKind) return issue('version', `a file that declares version: also declares kind: (here kind: ${kind}); run \`protosim migrate ${shellWord(file)}\` to add it`);
  if (typeof declared !== 'string') return issue('kind', `expected a file kind (${kindList()}), got ${describe(declared)}`);
  if (!isFileKind(declared)) return issue('kind', `unknown file kind ${JSON.stringify(declared)}; expected one of ${kindList()}${suggest(declared, Object.keys(fileFormats))}`);
  if (declared !== kind) {
    return issue('kind', `expected ${article(kind)} ${kind} file here (${fileFormats[kind].what}), got kind: ${declared}, ${fileFormats[declared].what}; ${fileFormats[declared].readBy}`);
  }
  const newest = fileFormats[kind].version;
  if (!hasVersion) return issue('kind', `a file that declares kind: also declares version: (version: ${newest} is the current ${kind} format); run \`protosim migrate ${shellWord(file)}\` to add it`);
  const version = data.version;
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 1) {
    return issue('version', `expected the version of the ${kind} format, a whole number from 1 (the current one is ${newest}), got ${describe(version)}`);
  }
  if (version > newest) {
    return issue('version', `version ${version} of the ${kind} format is newer than this protosim reads (versions 1 to ${newest}); upgrade protosim to read this file`);
  }
  return { header: { kind, version, declared: true } };
}

function article(word: string): string {
  return /^[aeiou]/.test(word) ? 'an' : 'a';
}

function kindList(): string {
  return yamlFileKinds.join(', ');
}

function describe(v: unknown): string {
  if (v === undefined || v === null) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v} ${JSON.stringify(v)}`;
}

/** `path` as one shell word: quoted when it holds anything but letters, digits and `./_-`. */
export function shellWord(path: string): string {
  return /^[A-Za-z0-9_./@:+-]+$/.test(path) ? path : `'${path.replace(/'/g, `'\\''`)}'`;
}

// ---- warnings about files without kind/version --------------------------------------------------

/** Where warning lines go. Library code never writes to stderr itself: the CLI installs a sink. */
export type WarningSink = (line: string) => void;

let warningSink: WarningSink = () => {};

/** Installs the sink for warning lines (the CLI's stderr, deduplicated per command); returns the one it replaces. */
export function setWarningSink(sink: WarningSink): WarningSink {
  const before = warningSink;
  warningSink = sink;
  return before;
}

/** The one warning line for a file without kind/version. */
export function undeclaredWarning(file: string, kind: FileKind): string {
  return `protosim: warning: ${file}: no kind/version (a protosim 0.x ${kind} file); run \`protosim migrate ${shellWord(file)}\` to add them`;
}

/** Warns about a file read without kind/version (nothing for a file that declares them). */
export function warnIfUndeclared(header: FormatHeader | null, file: string): void {
  if (header !== null && !header.declared) warningSink(undeclaredWarning(file, header.kind));
}

// ---- telling a file's kind before loading it ------------------------------------------------------

/**
 * The kind a YAML text declares (its top-level `kind:` value as text), or null when it declares
 * none or cannot be parsed: the loader then reports its problems.
 */
export function declaredKindOf(text: string): string | null {
  try {
    const doc = parseDocument(text, { uniqueKeys: false });
    if (!isMap(doc.contents)) return null;
    const pair = doc.contents.items.find((p) => isScalar(p.key) && p.key.value === 'kind');
    if (pair === undefined) return null;
    return isScalar(pair.value) ? String(pair.value.value) : '';
  } catch {
    return null;
  }
}

/**
 * The kind of a YAML file as the loaders see it: the one it declares, or, for a file that declares
 * none, the kind protosim 0.x guessed from its content (a file with `cases:` is a suite, a client
 * suite when it also names an `adapter:`; anything else a scenario). A declared kind protosim does
 * not know is returned as written (its loader reports it).
 */
export function fileKindOf(text: string): { kind: string; declared: boolean } {
  const declared = declaredKindOf(text);
  if (declared !== null) return { kind: declared, declared: true };
  if (!/^cases\s*:/m.test(text)) return { kind: 'scenario', declared: false };
  return { kind: /^adapter\s*:/m.test(text) ? 'client-suite' : 'suite', declared: false };
}

/** For `protosim migrate`: the kind of a file without kind/version, from its top-level fields, or null when nothing tells. */
export function inferFileKind(data: Record<string, unknown>): YamlFileKind | null {
  const has = (k: string): boolean => Object.hasOwn(data, k);
  if (has('cases')) return has('adapter') ? 'client-suite' : 'suite';
  if (has('adapter') && (has('patterns') || has('input'))) return 'adapter';
  if (has('name') && (has('server') || has('client'))) return 'manifest';
  if (has('id') && (has('protocol') || has('expect'))) return 'scenario';
  if (has('address') || has('command')) return 'target';
  return null;
}

// ---- traces -----------------------------------------------------------------------------------------

/**
 * Checks a trace's header line (already parsed): `"k":"header"` says it is a trace, `"protosim":N`
 * its version. A version newer than this protosim reads is an InputError at the field (exit 2); a
 * header without `protosim` is a 0.x trace (declared: false).
 */
export function readTraceHeader(header: Record<string, unknown>, firstLine: string, file: string): FormatHeader {
  const newest = fileFormats.trace.version;
  if (!Object.hasOwn(header, 'protosim')) return { kind: 'trace', version: 1, declared: false };
  const at = firstLine.indexOf('"protosim"');
  const where = `${file}:1:${at >= 0 ? at + 1 : 1}`;
  const version = header.protosim;
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 1) {
    throw new InputError(`${where}: protosim: expected the version of the trace format, a whole number from 1 (the current one is ${newest}), got ${describe(version)}`, 'invalid-trace');
  }
  if (version > newest) {
    throw new InputError(`${where}: protosim: version ${version} of the trace format is newer than this protosim reads (versions 1 to ${newest}); upgrade protosim to replay this trace`, 'invalid-trace');
  }
  return { kind: 'trace', version, declared: true };
}
