/**
 * What is wrong with an input file, and where: the positioned issues that loading a scenario (or a
 * suite, an adapter, a manifest) finds, and the ScenarioError (exit 2) that carries them all.
 */
import { InputError } from '../errors.js';

export interface ScenarioIssue {
  file: string;
  /** 1-based; 0 when the problem has no position in the file (it cannot be read, or it is data) */
  line: number;
  col: number;
  /** field path, e.g. `nodes[1].role` */
  path: string;
  message: string;
}

/** At most this many issues are printed; the rest are counted (every issue stays in `issues`). */
export const maxIssuesShown = 20;

/** A scenario file that is not valid: every issue found, each with its position. Exit code 2. */
export class ScenarioError extends InputError {
  readonly issues: ScenarioIssue[];
  constructor(issues: ScenarioIssue[]) {
    const shown = issues.slice(0, maxIssuesShown).map(formatIssue);
    if (issues.length > maxIssuesShown) shown.push(`... and ${issues.length - maxIssuesShown} more problems in ${issues[maxIssuesShown]!.file}`);
    super(shown.join('\n'), 'invalid-scenario');
    this.issues = issues;
  }
}

/** `file:line:col: path: message`, or `file: path: message` when the issue has no position. */
export function formatIssue(i: ScenarioIssue): string {
  const where = i.line > 0 ? `${i.file}:${i.line}:${i.col}` : i.file;
  return `${where}: ${i.path ? `${i.path}: ` : ''}${i.message}`;
}

/** An issue that the file as a whole has (it cannot be read, it is too large): no position. */
export function fileIssue(file: string, message: string): ScenarioIssue {
  return { file, line: 0, col: 0, path: '', message };
}

/** A field path as messages show it: `nodes[1].role`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out ? `.${String(seg)}` : String(seg);
  }
  return out;
}
