/**
 * Loads a client-side suite: YAML with positions, the zod schema, then what the schema cannot
 * check (unique case ids, clients used before they start, the adapter file exists). Every problem
 * is `file:line:col: path: message` (exit 2).
 */
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileKindOf, warnIfUndeclared, type FormatOptions } from '../../scenario/file-format.js';
import { protocolNamed } from '../../models/registry.js';
import { formatPath, parseYamlMapping, readYamlInput, ScenarioError, zodIssue, type ScenarioIssue } from '../../scenario/load.js';
import { userPatternProblem } from '../../scenario/user-pattern.js';
import { clientLinkFaultKinds, clientSuiteSchema, imFaultKinds, type ClientSuiteFile } from './client-suite-schema.js';

export interface ClientSuite {
  file: string;
  spec: ClientSuiteFile;
  /** the default adapter, resolved against the suite's directory */
  adapterPath: string;
}

/** True when the text is a client-side suite: `kind: client-suite`, or (undeclared) it has cases and names an adapter. */
export function looksLikeClientSuite(text: string): boolean {
  return fileKindOf(text).kind === 'client-suite';
}

export function loadClientSuiteFile(file: string, shownAs: string = file): ClientSuite {
  const text = readYamlInput(file, shownAs, 'suite');
  return parseClientSuite(text, shownAs, dirname(resolve(file)), file, { warnUndeclared: true });
}

export function parseClientSuite(text: string, shownAs: string, dir: string, file = shownAs, options: FormatOptions = {}): ClientSuite {
  const { data, locate, format } = parseYamlMapping(text, shownAs, 'expected a mapping with suite, title, protocol, adapter, cases...', 'client-suite');
  const parsed = clientSuiteSchema.safeParse(data, { reportInput: true });
  if (!parsed.success) throw new ScenarioError(parsed.error.issues.map((issue) => zodIssue(issue, shownAs, locate, clientSuiteSchema)));
  const spec = parsed.data;
  const issues: ScenarioIssue[] = [];
  const issue = (path: readonly PropertyKey[], message: string): void => {
    issues.push({ file: shownAs, ...locate(path), path: formatPath(path), message });
  };
  const adapterPath = resolve(dir, spec.adapter);
  if (!existsSync(adapterPath)) issue(['adapter'], `no adapter file at ${adapterPath}`);
  const system = spec.server !== undefined;
  if (!system && protocolNamed(spec.protocol)?.live?.transport !== 'http') {
    issue(['protocol'], `protosim plays the server only for the key-value protocols; a ${spec.protocol} suite needs server: {command: [...]} (a whole live system)`);
  }
  if (spec.server !== undefined) {
    const problem = userPatternProblem(spec.server.ready);
    if (problem !== null) issue(['server', 'ready'], problem);
  }
  const seen = new Map<string, number>();
  spec.cases.forEach((c, i) => {
    const earlier = seen.get(c.id);
    if (earlier !== undefined) issue(['cases', i, 'id'], `duplicate case id ${JSON.stringify(c.id)} (also cases[${earlier}]); ids must be unique and stable`);
    seen.set(c.id, i);
    const started = new Set<string>();
    c.steps.forEach((step, j) => {
      if (step.start !== undefined) {
        for (const [k, name] of (Array.isArray(step.start) ? step.start : [step.start]).entries()) {
          if (name === 'server') issue(['cases', i, 'steps', j, 'start', ...(Array.isArray(step.start) ? [k] : [])], '`server` names the server command; give the client another name');
          started.add(name);
        }
      }
      const linkFault = step.fault !== undefined && (clientLinkFaultKinds as readonly string[]).includes(step.fault);
      if (system) {
        const imOnly = step.preload !== undefined ? 'preload' : step.fault !== undefined && !linkFault ? 'fault' : step.after !== undefined ? 'after' : step.together === true ? 'together' : undefined;
        if (imOnly !== undefined) issue(['cases', i, 'steps', j, imOnly], `${imOnly} needs protosim's own IM server; this suite runs the server command (server:)`);
      } else if (linkFault) {
        issue(['cases', i, 'steps', j, 'fault'], `fault ${step.fault} is on the link between a program and the suite's server command; this suite has no server command (protosim's IM server: faults ${imFaultKinds.join(', ')})`);
      }
      const serverStep = step.kill ?? step.pause ?? step.resume ?? step.restart ?? step.quit;
      if (serverStep === 'server') {
        if (!system) issue(['cases', i, 'steps', j], 'this suite has no server command; steps on `server` need server: {command: [...]}');
        return;
      }
      if (step.preload !== undefined && started.size > 0) issue(['cases', i, 'steps', j, 'preload'], 'preload must come before the first start (keys left from an earlier session are there when the clients start)');
      for (const k of ['expect', 'type', 'quit', 'kill', 'pause', 'resume', 'restart'] as const) {
        const value = step[k];
        for (const name of value === undefined ? [] : Array.isArray(value) ? value : [value]) {
          if (!started.has(name)) issue(['cases', i, 'steps', j, k], `client ${JSON.stringify(name)} is used before a start step starts it`);
        }
      }
      const condition = step.if?.running ?? step.if?.exited;
      if (condition !== undefined && !started.has(condition)) issue(['cases', i, 'steps', j, 'if'], `client ${JSON.stringify(condition)} is named in a condition before a start step starts it`);
      if (step.as !== undefined) started.add(step.as);
      if (step.otherAs !== undefined) started.add(step.otherAs);
    });
  });
  if (issues.length > 0) throw new ScenarioError(issues);
  if (options.warnUndeclared) warnIfUndeclared(format, shownAs);
  return { file, spec, adapterPath };
}
