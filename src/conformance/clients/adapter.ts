/**
 * Loading an adapter file and turning it into programs to start: YAML with positions, the zod
 * schema, then what a schema cannot check (regular expressions that compile, a message pattern with
 * a group for the text, placeholders that exist). Every problem is `file:line:col: path: message`
 * (exit 2). A loaded adapter classifies output segments by pattern kind and builds the keystrokes of
 * a typed message.
 */
import { dirname, resolve } from 'node:path';
import { InputError } from '../../errors.js';
import { adapterProtocolNames, liveProtocolNamed } from '../../models/registry.js';
import { warnIfUndeclared, type FormatOptions } from '../../scenario/file-format.js';
import { formatPath, parseYamlMapping, readYamlInput, ScenarioError, suggest, zodIssue, type ScenarioIssue } from '../../scenario/load.js';
import { LinearRegExp, userPatternProblem } from '../../scenario/user-pattern.js';
import { adapterSchema, patternKinds, type AdapterFile, type PatternKind } from './adapter-schema.js';
import type { ClientProgramSpec, IoMode } from './client-process.js';
import type { OutputSegment } from './output-log.js';

/** Placeholders protosim fills in itself (besides the adapter's `vars`). */
export const builtinPlaceholders = ['url', 'address', 'host', 'port', 'name', 'index', 'node', 'protosim', 'adapterDir'] as const;

/** `{index}`: the number in a client's name (c2 -> 2; alice -> 1), for per-client accounts (user{index}). */
export function clientIndex(name: string): string {
  return /(\d+)$/.exec(name)?.[1] ?? '1';
}

export interface Adapter {
  /** the path it was read from ('' for adapters given as data) */
  file: string;
  spec: AdapterFile;
  /** compiled patterns, by kind */
  patterns: Partial<Record<PatternKind, RegExp[]>>;
  /** directory placeholders and `cwd` are relative to */
  dir: string;
}

/** Where the program's server is, and who it is. */
export interface ProgramContext {
  /** `http://127.0.0.1:PORT/IMserver.php`, `tcp://127.0.0.1:PORT` or `quic://127.0.0.1:PORT` */
  address: string;
  /** the client's node id (c1, c2...) */
  name: string;
  /** `--var name=value` overrides */
  vars?: Readonly<Record<string, string>>;
  /** `--io` override */
  io?: IoMode;
}

/** What a segment means to the adapter. */
export interface Classified {
  kind: PatternKind;
  /** for `message`: the text (group 1 or `text`) and author (group `from`) */
  text?: string;
  from?: string;
}

/** Reads and loads an adapter file; throws ScenarioError (exit 2) with positions. */
export function loadAdapterFile(file: string, shownAs: string = file): Adapter {
  const text = readYamlInput(file, shownAs, 'adapter');
  return parseAdapter(text, shownAs, dirname(resolve(file)), file, { warnUndeclared: true });
}

/** Parses adapter YAML; `shownAs` names it in error positions, `dir` anchors relative paths. */
export function parseAdapter(text: string, shownAs: string, dir: string, file = shownAs, options: FormatOptions = {}): Adapter {
  const { data, locate, format } = parseYamlMapping(text, shownAs, 'expected a mapping with adapter, protocol, command, patterns...', 'adapter');
  const parsed = adapterSchema.safeParse(data, { reportInput: true });
  if (!parsed.success) throw new ScenarioError(parsed.error.issues.map((issue) => zodIssue(issue, shownAs, locate, adapterSchema)));
  const spec = parsed.data;
  const issues: ScenarioIssue[] = [];
  const issue = (path: readonly PropertyKey[], message: string): void => {
    issues.push({ file: shownAs, ...locate(path), path: formatPath(path), message });
  };
  const patterns: Partial<Record<PatternKind, RegExp[]>> = {};
  for (const [kind, value] of Object.entries(spec.patterns) as [PatternKind, string | string[] | undefined][]) {
    if (value === undefined) continue;
    const list = Array.isArray(value) ? value : [value];
    const compiled: RegExp[] = [];
    list.forEach((source, i) => {
      const path = Array.isArray(value) ? ['patterns', kind, i] : ['patterns', kind];
      // Linear-time matching (RE2): no pattern can make protosim backtrack for ever on a program's output.
      const problem = userPatternProblem(source);
      if (problem !== null) {
        issue(path, problem);
        return;
      }
      if (kind === 'message' && !/\((?!\?[:=!<])|\(\?<text>/.test(source)) {
        issue(path, 'the message pattern needs a group for the text: (.*) or (?<text>.*)');
      }
      compiled.push(new LinearRegExp(source));
    });
    patterns[kind] = compiled;
  }
  const known = [...builtinPlaceholders, ...Object.keys(spec.vars ?? {})];
  const checkPlaceholders = (s: string, path: readonly PropertyKey[], allowed: readonly string[]): void => {
    for (const m of s.matchAll(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g)) {
      if (!allowed.includes(m[1]!)) issue(path, `unknown placeholder {${m[1]}}; known: ${allowed.map((p) => `{${p}}`).join(', ')}${suggest(m[1]!, allowed)}`);
    }
  };
  spec.command.forEach((a, i) => checkPlaceholders(a, ['command', i], known));
  if (spec.cwd !== undefined) checkPlaceholders(spec.cwd, ['cwd'], known);
  for (const [k, v] of Object.entries(spec.env ?? {})) checkPlaceholders(v, ['env', k], known);
  checkPlaceholders(spec.input.message, ['input', 'message'], ['text', 'to', 'name']);
  if (!['ctrl-c', 'eof'].includes(spec.input.quit)) checkPlaceholders(spec.input.quit, ['input', 'quit'], ['name']);
  (spec.input.login ?? []).forEach((l, i) => checkPlaceholders(l, ['input', 'login', i], [...known]));
  if (spec.input.check !== undefined) checkPlaceholders(spec.input.check, ['input', 'check'], ['name']);
  const quicProblem = spec.transport === 'quic' ? quicTransportProblem(spec.protocol) : null;
  if (quicProblem !== null) issue(['transport'], quicProblem);
  if (issues.length > 0) throw new ScenarioError(issues);
  if (options.warnUndeclared) warnIfUndeclared(format, shownAs);
  return { file, spec, patterns, dir };
}

/**
 * Why a protocol's client programs cannot be run over QUIC, or null when they can: QUIC carries one
 * JSON object per stream write, so the protocol's server must be a stream server whose default wire
 * is JSON lines (not the IM interface's HTTP, not protobuf).
 */
export function quicTransportProblem(protocol: string): string | null {
  const live = liveProtocolNamed(protocol);
  if (live === undefined) return `${protocol} has no live server to run over QUIC`;
  if (live.transport === 'http') return `expected tcp: ${protocol} clients speak the IM interface over HTTP, and QUIC applies only to protocols whose wire is JSON (${quicProtocols().join(', ')})`;
  const format = live.codecs[0]?.format;
  if (format !== 'json-lines') return `expected tcp: ${protocol}'s wire is ${format ?? 'not JSON'}, and QUIC carries one JSON object per stream write, so it applies only to protocols whose wire is JSON (${quicProtocols().join(', ')})`;
  return null;
}

/** The client protocols whose programs can run over QUIC. */
function quicProtocols(): string[] {
  return adapterProtocolNames().filter((p) => {
    const live = liveProtocolNamed(p);
    return live !== undefined && live.transport === 'tcp' && live.codecs[0]?.format === 'json-lines';
  });
}

/** Fills `{name}` placeholders; unknown ones were refused at load time. */
export function fillPlaceholders(template: string, values: Readonly<Record<string, string>>): string {
  return template.replace(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (whole, name: string) => values[name] ?? whole);
}

/** The placeholder values for one program. */
export function placeholderValues(adapter: Adapter, ctx: ProgramContext, protosimLauncher: readonly string[]): Record<string, string> {
  const m = /^(?:tcp|http|quic):\/\/(\[[^\]]+\]|[^/:?]+):(\d+)/.exec(ctx.address);
  const values: Record<string, string> = {
    url: ctx.address,
    address: ctx.address,
    host: m?.[1]?.replace(/^\[|\]$/g, '') ?? '127.0.0.1',
    port: m?.[2] ?? '',
    name: ctx.name,
    index: clientIndex(ctx.name),
    node: process.execPath,
    protosim: protosimLauncher.join(' '),
    adapterDir: adapter.dir,
  };
  for (const [k, v] of Object.entries(adapter.spec.vars ?? {})) values[k] = String(v);
  for (const [k, v] of Object.entries(ctx.vars ?? {})) {
    if (!(k in (adapter.spec.vars ?? {})) && !(builtinPlaceholders as readonly string[]).includes(k)) {
      const names = Object.keys(adapter.spec.vars ?? {});
      throw new InputError(`--var ${k}: the adapter ${adapter.spec.adapter} has no variable ${JSON.stringify(k)}${names.length ? `; it has ${names.join(', ')}${suggest(k, names)}` : ''}`, 'invalid-option');
    }
    values[k] = v;
  }
  return values;
}

/** The program spec to start for one client. `{protosim}` as a whole argument expands to the launcher's words. */
export function programSpec(adapter: Adapter, ctx: ProgramContext, protosimLauncher: readonly string[]): ClientProgramSpec {
  const values = placeholderValues(adapter, ctx, protosimLauncher);
  const command = adapter.spec.command.flatMap((a) => (a === '{protosim}' ? [...protosimLauncher] : [fillPlaceholders(a, values)]));
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(adapter.spec.env ?? {})) env[k] = fillPlaceholders(v, values);
  return {
    name: ctx.name,
    command,
    cwd: resolve(adapter.dir, fillPlaceholders(adapter.spec.cwd ?? '.', values)),
    env,
    io: ctx.io ?? adapter.spec.io,
    promptPatterns: adapter.patterns.prompt ?? [],
  };
}

/** The meanings of one segment, in the order of `patternKinds` (a line may be both `waiting` and `joined`). */
export function classify(adapter: Adapter, segment: OutputSegment): Classified[] {
  if (segment.kind === 'echo' || segment.kind === 'note') return [];
  const out: Classified[] = [];
  for (const kind of Object.keys(patternKinds) as PatternKind[]) {
    for (const re of adapter.patterns[kind] ?? []) {
      const m = re.exec(segment.text);
      if (m === null) continue;
      if (kind === 'message') {
        const text = m.groups?.text ?? m[1] ?? '';
        const from = m.groups?.from;
        out.push({ kind, text, ...(from !== undefined ? { from } : {}) });
      } else out.push({ kind });
      break;
    }
  }
  return out;
}

/** The keystrokes of typing a message. */
export function messageKeys(adapter: Adapter, text: string, to = '', name = ''): string {
  return fillPlaceholders(adapter.spec.input.message, { text, to, name });
}
