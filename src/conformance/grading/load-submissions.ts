/**
 * Finds the submissions in a folder (one subfolder each, with a manifest) and loads their
 * manifests: YAML with positions, the zod schema, then what the schema cannot check (exactly one of
 * server or client, a server that takes the port protosim gives it, an adapter that loads, unique
 * names). Every problem of every manifest is reported at once, each as `file:line:col: path:
 * message` (exit 2), so a grader fixes them in one pass before anything runs.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';
import { InputError } from '../../errors.js';
import { warnIfUndeclared, type FormatOptions } from '../../scenario/file-format.js';
import { formatPath, parseYamlMapping, readYamlInput, ScenarioError, zodIssue, type ScenarioIssue } from '../../scenario/load.js';
import { userPatternProblem } from '../../scenario/user-pattern.js';
import { loadAdapterFile, parseAdapter, type Adapter } from '../clients/adapter.js';
import type { IoMode } from '../clients/client-process.js';
import { manifestFileNames, submissionManifestSchema, type ServerSubmission } from './submission-manifest-schema.js';

interface SubmissionBase {
  /** unique among the submissions; names its report folder */
  name: string;
  /** absolute path of its folder */
  dir: string;
  /** the manifest as shown in messages (relative to where protosim runs) */
  manifest: string;
  /** the manifest's path */
  manifestPath: string;
}

/** A submission of a server: the command protosim starts for it. */
export interface ServerSubmissionEntry extends SubmissionBase {
  kind: 'server';
  server: ServerSubmission;
}

/** A submission of a client program: the adapter that drives it. */
export interface ClientSubmissionEntry extends SubmissionBase {
  kind: 'client';
  adapter: Adapter;
  vars: Record<string, string>;
  io?: IoMode;
}

export type Submission = ServerSubmissionEntry | ClientSubmissionEntry;

/**
 * The submissions under `dir`, in name order. Folders whose name starts with `.` or `_` are not
 * submissions (a place for shared files). `shownDir` is `dir` as the user typed it.
 */
export function loadSubmissions(dir: string, shownDir: string = dir, cwd: string = process.cwd()): Submission[] {
  let entries: string[];
  try {
    if (!statSync(dir).isDirectory()) throw new InputError(`${shownDir}: not a folder; give the folder that holds one folder per submission`, 'no-submissions');
    entries = readdirSync(dir).sort();
  } catch (error) {
    if (error instanceof InputError) throw error;
    throw new InputError(`${shownDir}: cannot read the submissions folder: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such folder' : (error as Error).message}`, 'no-submissions');
  }
  const folders = entries.filter((e) => !e.startsWith('.') && !e.startsWith('_') && statSync(join(dir, e)).isDirectory());
  if (folders.length === 0) {
    throw new InputError(`${shownDir}: no submissions: expected one folder per submission, each with a ${manifestFileNames.join(' or ')} (docs/grading.md)`, 'no-submissions');
  }
  const issues: ScenarioIssue[] = [];
  const submissions: Submission[] = [];
  for (const folder of folders) {
    const subDir = resolve(dir, folder);
    const found = manifestFileNames.map((n) => join(subDir, n)).find((p) => existsSync(p));
    if (found === undefined) {
      issues.push({ file: shown(cwd, join(subDir, manifestFileNames[0])), line: 0, col: 0, path: '', message: `no manifest: ${shown(cwd, subDir)} has neither ${manifestFileNames.join(' nor ')} (docs/grading.md says what goes in it)` });
      continue;
    }
    try {
      const shownAs = shown(cwd, found);
      submissions.push({ ...parseManifest(readYamlInput(found, shownAs, 'manifest'), shownAs, subDir, folder, cwd, { warnUndeclared: true }), manifestPath: found });
    } catch (error) {
      if (error instanceof ScenarioError) issues.push(...error.issues);
      else throw error;
    }
  }
  const byName = new Map<string, Submission>();
  for (const s of submissions) {
    const other = byName.get(s.name);
    if (other !== undefined) issues.push({ file: s.manifest, line: 0, col: 0, path: 'name', message: `the name ${JSON.stringify(s.name)} is taken by ${other.manifest}; names must be unique (they name the report folders)` });
    byName.set(s.name, s);
  }
  if (issues.length > 0) throw new ScenarioError(issues);
  return submissions;
}

/**
 * Parses one manifest; `shownAs` names it in errors, `dir` is the submission's folder, `folder` its
 * default name. Its `kind: manifest` and `version:` are checked (src/scenario/file-format.ts); a
 * manifest without them (protosim 0.x) loads, with one warning line when `warnUndeclared`.
 */
export function parseManifest(text: string, shownAs: string, dir: string, folder: string = basename(dir), cwd: string = process.cwd(), options: FormatOptions = {}): Submission {
  const { data, doc, locate, format } = parseYamlMapping(text, shownAs, 'expected a mapping with kind: manifest, version: 1, name and server: {command: [...]} or client: {adapter: ...}', 'manifest');
  if (options.warnUndeclared) warnIfUndeclared(format, shownAs);
  const parsed = submissionManifestSchema.safeParse(data, { reportInput: true });
  if (!parsed.success) throw new ScenarioError(parsed.error.issues.map((issue) => zodIssue(issue, shownAs, locate, submissionManifestSchema)));
  const spec = parsed.data;
  const issues: ScenarioIssue[] = [];
  const issue = (path: readonly PropertyKey[], message: string): void => {
    issues.push({ file: shownAs, ...locate(path), path: formatPath(path), message });
  };
  const base = { name: spec.name ?? folder, dir, manifest: shownAs, manifestPath: resolve(dir, shownAs) };
  if ((spec.server === undefined) === (spec.client === undefined)) {
    issue([], 'a manifest needs exactly one of server: {command: [...]} (a server submission) or client: {adapter: ...} (a client program)');
    throw new ScenarioError(issues);
  }
  if (spec.server !== undefined) {
    const server = spec.server;
    const takesPort = [...server.command, ...Object.values(server.env ?? {})].some((a) => a.includes('{port}'));
    const saysAddress = server.ready !== undefined && /\((?!\?[:=!<])/.test('stdout' in server.ready ? server.ready.stdout : server.ready.stderr);
    if (!takesPort && !saysAddress) {
      issue(['server', 'command'], 'the server must listen on the port protosim gives it: put {port} in its command (or env), or let it pick a port and print it (ready: { stdout: "listening on (\\\\S+)" }); a fixed port would collide when submissions run in parallel');
    }
    if (server.ready !== undefined) {
      const pattern = 'stdout' in server.ready ? server.ready.stdout : server.ready.stderr;
      const problem = userPatternProblem(pattern);
      if (problem !== null) issue(['server', 'ready', 'stdout' in server.ready ? 'stdout' : 'stderr'], problem);
    }
    if (issues.length > 0) throw new ScenarioError(issues);
    return { ...base, kind: 'server', server };
  }
  const client = spec.client!;
  let adapter: Adapter;
  try {
    if (typeof client.adapter === 'string') {
      const path = resolve(dir, client.adapter);
      adapter = loadAdapterFile(path, shown(cwd, path));
      // A shared adapter without a cwd of its own runs each student's program in the student's
      // folder (an adapter's cwd is otherwise its own folder, where no student's program is).
      if (adapter.spec.cwd === undefined) adapter = { ...adapter, spec: { ...adapter.spec, cwd: dir } };
    } else {
      adapter = parseInlineAdapter(text, doc.getIn(['client', 'adapter'], true) as { range?: [number, number, number] } | undefined, shownAs, dir);
    }
  } catch (error) {
    if (!(error instanceof ScenarioError)) throw error;
    if (typeof client.adapter === 'string' && error.issues.some((i) => /cannot read the adapter/.test(i.message))) {
      issue(['client', 'adapter'], `no adapter file at ${resolve(dir, client.adapter)}`);
      throw new ScenarioError(issues);
    }
    throw error;
  }
  const vars: Record<string, string> = {};
  for (const [k, v] of Object.entries(client.vars ?? {})) vars[k] = String(v);
  return { ...base, kind: 'client', adapter, vars, ...(client.io !== undefined ? { io: client.io } : {}) };
}

/**
 * An adapter written inline in the manifest, validated by the adapter loader with positions in the
 * manifest: the text before the adapter's node is blanked (newlines kept), so the loader's
 * line:col are the manifest's.
 */
function parseInlineAdapter(text: string, node: { range?: [number, number, number] } | undefined, shownAs: string, dir: string): Adapter {
  const [start, , end] = node?.range ?? [0, text.length, text.length];
  const blanked = text.slice(0, start).replace(/[^\n]/g, ' ') + text.slice(start, end);
  return { ...parseAdapter(blanked, shownAs, dir, shownAs) };
}

function shown(cwd: string, path: string): string {
  const rel = relative(cwd, path);
  return rel && !rel.startsWith('..') ? rel : path;
}
