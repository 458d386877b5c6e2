/**
 * Loads a conformance suite file: YAML with positions, the zod suite schema, then the checks a
 * schema cannot make (unique case ids, variables that exist, clients used before they connect, a
 * codec the protocol speaks, a loopback target). Every problem is `file:line:col: path: message`.
 */
import { fileKindOf, warnIfUndeclared, type FormatOptions } from './file-format.js';
import { builtinLiveProtocols, liveProtocolNamed } from '../models/registry.js';
import { formatPath, parseYamlMapping, readYamlInput, ScenarioError, suggest, zodIssue, type ScenarioIssue } from './load.js';
import { linkFaultKinds, suiteSchema, type CaseFile, type SuiteFile, type SuiteProtocol } from './suite-schema.js';
import { parseTargetAddress, quicCapable, schemeProblem } from './target-address.js';
import { targetMappingSchema, type CodecName, type TargetFile } from './target-schema.js';
import { userPatternProblem } from './user-pattern.js';

/** A loaded suite. */
export interface Suite {
  /** the path it was read from */
  file: string;
  spec: SuiteFile;
  /** positions of each case (for messages that point back at the file) */
  casePositions: { line: number; col: number }[];
}

/** The codecs a protocol's servers speak, the first being the default (its package's `live.codecs`). */
export function protocolCodecs(protocol: SuiteProtocol): readonly CodecName[] {
  return (liveProtocolNamed(protocol)?.codecs ?? []).map((c) => c.name as CodecName);
}

/**
 * Protocols whose server model the harness steps as the oracle (`expect: model`): a stream
 * protocol's package mapping, or the kv oracle of the IM interface.
 */
export const modelOracleProtocols: readonly SuiteProtocol[] = builtinLiveProtocols.filter((l) => l.mapping !== undefined || l.transport === 'http').map((l) => l.name);

/** The protocols a `framing` applies to, in words: `protobuf (offline-queue)`. */
export function framedProtocols(): string {
  return builtinLiveProtocols
    .filter((l) => l.framings !== undefined)
    .map((l) => `${l.codecs.filter((c) => c.format === 'protobuf').map((c) => c.name).join(', ')} (${l.name})`)
    .join(', ');
}

/** True when the text is a suite (`kind: suite` or `client-suite`; undeclared: a mapping with `cases:`) rather than a model scenario. */
export function looksLikeSuite(text: string): boolean {
  const { kind } = fileKindOf(text);
  return kind === 'suite' || kind === 'client-suite';
}

/** Reads and loads a suite file; throws ScenarioError (exit 2) with positions. */
export function loadSuiteFile(file: string, shownAs: string = file): Suite {
  const text = readYamlInput(file, shownAs, 'suite');
  return { ...parseSuite(text, shownAs, { warnUndeclared: true }), file };
}

/** Parses suite text; `file` names it in error positions. */
export function parseSuite(text: string, file: string, options: FormatOptions = {}): Suite {
  const { data, locate, format } = parseYamlMapping(text, file, 'expected a mapping with suite, title, protocol, cases...', 'suite');
  const parsed = suiteSchema.safeParse(data, { reportInput: true });
  if (!parsed.success) throw new ScenarioError(parsed.error.issues.map((issue) => zodIssue(issue, file, locate, suiteSchema)));
  const spec = parsed.data;
  const issues: ScenarioIssue[] = [];
  const issue = (path: readonly PropertyKey[], message: string): void => {
    issues.push({ file, ...locate(path), path: formatPath(path), message });
  };
  checkTarget(spec, issue);
  const seen = new Map<string, number>();
  spec.cases.forEach((c, i) => {
    const earlier = seen.get(c.id);
    if (earlier !== undefined) issue(['cases', i, 'id'], `duplicate case id ${JSON.stringify(c.id)} (also cases[${earlier}]); ids must be unique and stable`);
    seen.set(c.id, i);
    checkCase(spec, c, i, issue);
  });
  if (issues.length > 0) throw new ScenarioError(issues);
  if (options.warnUndeclared) warnIfUndeclared(format, file);
  return { file, spec, casePositions: spec.cases.map((_, i) => locate(['cases', i])) };
}

type IssueAt = (path: readonly PropertyKey[], message: string) => void;

function checkTarget(spec: SuiteFile, issue: IssueAt): void {
  if (spec.target !== undefined) checkTargetAt(spec.target, spec.protocol, ['target'], issue);
}

/** Checks a target (a suite's `target:`, or a target file's whole mapping at `at` = []). */
function checkTargetAt(target: TargetFile, protocol: SuiteProtocol, at: readonly PropertyKey[], issue: IssueAt): void {
  if (typeof target !== 'string' && (target.address === undefined) === (target.command === undefined)) {
    issue(at, 'a target needs exactly one of address (a server already running) or command (a server protosim starts)');
  }
  const checkScheme = (address: string, path: readonly PropertyKey[]): void => {
    const parsed = parseTargetAddress(address);
    const problem = typeof parsed === 'string' ? parsed : schemeProblem(protocol, parsed);
    if (problem !== null) issue(path, problem);
  };
  if (typeof target === 'string') return checkScheme(target, at);
  if (target.address !== undefined) checkScheme(target.address, [...at, 'address']);
  if (target.command !== undefined && target.ready === undefined && target.port === undefined) {
    issue([...at, 'ready'], 'a command target needs ready: { stdout: PATTERN } or { port: N } so protosim knows when it listens');
  }
  if (target.ready !== undefined && ('stdout' in target.ready || 'stderr' in target.ready)) {
    const stream = 'stdout' in target.ready ? 'stdout' : 'stderr';
    const pattern = 'stdout' in target.ready ? target.ready.stdout : target.ready.stderr;
    const problem = userPatternProblem(pattern);
    if (problem !== null) issue([...at, 'ready', stream], problem);
  }
  for (const field of ['stdin', 'shutdown', 'ready', 'cwd', 'env', 'startTimeoutMs'] as const) {
    if (target.address !== undefined && target.command === undefined && target[field] !== undefined) issue([...at, field], `${field} applies to a command target (a server protosim starts), not to an address`);
  }
  if (target.shutdown !== undefined && 'console' in target.shutdown && target.stdin !== undefined && target.stdin !== 'open') {
    issue([...at, 'shutdown'], `shutdown: { console: ... } types a line on the target's stdin, which needs stdin: open (it is ${typeof target.stdin === 'string' ? target.stdin : 'a file'})`);
  }
  if (target.codec !== undefined && !protocolCodecs(protocol).includes(target.codec)) {
    issue([...at, 'codec'], `${protocol} speaks ${protocolCodecs(protocol).join(' or ')}, not ${target.codec}`);
  }
  if (target.framing !== undefined && liveProtocolNamed(protocol)?.framings === undefined) {
    issue([...at, 'framing'], `framing applies to ${framedProtocols()} only`);
  }
  checkQuicTarget(target, protocol, at, issue);
}

/** QUIC fields: a command target says `transport: quic`, an address its scheme; `quic:` only with QUIC. */
function checkQuicTarget(target: TargetFile & object, protocol: SuiteProtocol, at: readonly PropertyKey[], issue: IssueAt): void {
  const quicAddress = target.address?.startsWith('quic://') === true;
  if (target.transport !== undefined && target.command === undefined) issue([...at, 'transport'], `transport applies to a command target; an address says it by its scheme (quic://127.0.0.1:PORT)`);
  const quic = quicAddress || target.transport === 'quic';
  if (target.quic !== undefined && !quic) issue([...at, 'quic'], 'quic: applies to a QUIC target (a quic:// address, or a command with transport: quic)');
  if (target.transport === 'quic' && target.command !== undefined) {
    if (!quicCapable(protocol)) issue([...at, 'transport'], `${protocol} cannot be reached over QUIC (it needs a stream protocol with a JSON wire)`);
    if (target.ready !== undefined && 'port' in target.ready) issue([...at, 'ready'], 'a QUIC command target needs ready: { stdout: PATTERN } (or stderr): a UDP port cannot be probed for listening');
    if (target.ready === undefined) issue([...at, 'ready'], 'a QUIC command target needs ready: { stdout: PATTERN } so protosim knows when it listens (a UDP port cannot be probed)');
  }
  if (quic && target.codec !== undefined && target.codec !== 'json-lines') issue([...at, 'codec'], `over QUIC the messages are JSON objects (codec json-lines), not ${target.codec}`);
}

/**
 * A target file: the `target:` mapping of a suite on its own (`address:`, or `command:` with
 * `port:`/`ready:`, `codec:`...), for commands that take a target but no suite (`protosim replay
 * TRACE --target FILE`). Errors name the file, line and column.
 */
export function loadTargetFile(file: string, shownAs: string, protocol: SuiteProtocol): TargetFile & object {
  const text = readYamlInput(file, shownAs, 'target file');
  const { data, locate, format } = parseYamlMapping(text, shownAs, 'expected a target mapping: address: tcp://127.0.0.1:PORT, or command: [...] with port: auto and ready: {...}', 'target');
  const parsed = targetMappingSchema.safeParse(data, { reportInput: true });
  if (!parsed.success) throw new ScenarioError(parsed.error.issues.map((issue) => zodIssue(issue, shownAs, locate, targetMappingSchema)));
  const issues: ScenarioIssue[] = [];
  checkTargetAt(parsed.data, protocol, [], (path, message) => issues.push({ file: shownAs, ...locate(path), path: formatPath(path), message }));
  if (issues.length > 0) throw new ScenarioError(issues);
  warnIfUndeclared(format, shownAs);
  return parsed.data;
}

/** Every `{$regex: ...}` under `value` must run on the linear-time engine; reported at the pattern. */
function checkRegexes(value: unknown, path: readonly PropertyKey[], issue: IssueAt): void {
  const stack: { v: unknown; path: readonly PropertyKey[] }[] = [{ v: value, path }];
  while (stack.length > 0) {
    const { v, path: p } = stack.pop()!;
    if (Array.isArray(v)) v.forEach((x, i) => stack.push({ v: x, path: [...p, i] }));
    else if (typeof v === 'object' && v !== null) {
      for (const [k, x] of Object.entries(v)) {
        if (k === '$regex') {
          if (typeof x !== 'string') issue([...p, k], `$regex needs a pattern as a string, got ${x === null ? 'null' : typeof x}`);
          else {
            const problem = userPatternProblem(x, 's');
            if (problem !== null) issue([...p, k], problem);
          }
        } else stack.push({ v: x, path: [...p, k] });
      }
    }
  }
}

function checkCase(spec: SuiteFile, c: CaseFile, index: number, issue: IssueAt): void {
  const vars = spec.vars ?? {};
  const connected = new Set<string>();
  const at = (j: number, ...rest: PropertyKey[]): PropertyKey[] => ['cases', index, 'steps', j, ...rest];
  const checkVar = (j: number, field: string, value: unknown): void => {
    if (typeof value !== 'string') return;
    const name = value.slice(1);
    if (typeof vars[name] !== 'number') {
      const names = Object.keys(vars);
      issue(at(j, field), `unknown variable ${value}${names.length ? `; the suite's vars are ${names.map((n) => `$${n}`).join(', ')}${suggest(name, names)}` : '; the suite has no vars'} (a number of ms is expected)`);
    }
  };
  const checkClient = (j: number, field: string, client: string): void => {
    if (!connected.has(client)) {
      const names = [...connected];
      issue(at(j, field), `client ${JSON.stringify(client)} has not connected in this case yet${names.length ? `; connected: ${names.join(', ')}${suggest(client, names)}` : '; add a connect step first'}`);
    }
  };
  /** clients whose link duplicates or reorders messages (where, for the message) */
  const altered = new Map<string, number>();
  c.steps.forEach((step, j) => {
    checkRegexes(step, at(j), issue);
    if (c.rounds === undefined && JSON.stringify(step).includes('${round}')) issue(at(j), '${round} is the round of a soak: the case needs rounds: N (its steps run N times over)');
    if (step.fault === 'duplicate' || step.fault === 'reorder') altered.set(step.client ?? '', j);
    if (step.fault === 'clear' && step.client !== undefined) altered.delete(step.client);
    if (step.expect === 'model' && altered.size > 0) {
      const [client, where] = [...altered][0]!;
      issue(at(j, 'expect'), `expect: model cannot judge ${client}'s link after fault ${c.steps[where]!.fault} (step ${where + 1}): the model does not know which messages the proxy ${c.steps[where]!.fault === 'duplicate' ? 'duplicates' : 'reorders'}; write the expected messages (msg, msgs with anyOrder) or clear the fault first`);
    }
    for (const field of ['wait', 'nothing', 'withinMs', 'ms'] as const) checkVar(j, field, step[field]);
    if (step.connect !== undefined) {
      for (const client of typeof step.connect === 'string' ? [step.connect] : step.connect) connected.add(client);
      if (step.store !== undefined && liveProtocolNamed(spec.protocol)?.stores !== true) issue(at(j, 'store'), `store applies to the ${builtinLiveProtocols.filter((l) => l.stores === true).map((l) => l.name).join(', ')} protocol only`);
    }
    if (step.send !== undefined) checkClient(j, 'send', step.send);
    if (step.expect !== undefined) {
      if (step.expect === 'model') {
        if (!modelOracleProtocols.includes(spec.protocol)) {
          issue(at(j, 'expect'), `expect: model needs a model of the server role as oracle (${modelOracleProtocols.join(', ')}); ${spec.protocol} cases write the expected message (msg:) instead`);
        }
      } else checkClient(j, 'expect', step.expect);
    }
    if (step.disconnect !== undefined) checkClient(j, 'disconnect', step.disconnect);
    if (step.fault !== undefined) {
      const isLink = (linkFaultKinds as readonly string[]).includes(step.fault);
      if (isLink && step.client === undefined) issue(at(j, 'fault'), `fault ${step.fault} acts on one client's link; name it with client:`);
      if (!isLink && step.client !== undefined) issue(at(j, 'client'), `fault ${step.fault} acts on the target process, not a client`);
    }
  });
}
