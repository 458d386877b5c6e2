/**
 * Grades that don't flicker (issue 19 item 4): the example server submissions
 * (examples/submissions/register-exit: a full-marks reference, a planted defect, a crash at start,
 * a hang, an output flood) are graded twice, as a grader would, with the default re-runs and the
 * sandbox. summary.csv is the same byte for byte; summary.json and each submission's report.json,
 * junit.xml and results.json are the same byte for byte once the values docs/grading.md ("Grading
 * twice") lists as varying are masked: wall-clock times, durations, the time of each traced event,
 * and the step at which the flood's clock ran out. Nothing else may differ.
 */
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/program.js';
import { sandboxUnavailable } from '../../src/conformance/grading/sandbox.js';

const root = resolve(__dirname, '../..');
const names = ['crash-at-start', 'flood', 'hang', 'reference', 'spoofable'];

let work: string;
const outs: string[] = [];
const logs: string[] = [];

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'protosim-repeatable-'));
  // a copy, so that other tests watching the examples' processes do not see these
  const subs = join(work, 'register-exit');
  cpSync(join(root, 'examples/submissions/register-exit'), subs, { recursive: true });
  for (const run of [1, 2]) {
    const out = join(work, `grades-${run}`);
    let log = '';
    const code = await runCli(
      [
        'grade', subs, '--suite', 'scenarios/conformance/register-exit', '--case', 're/route,re/spoofed-from,re/exit',
        // a time limit no submission but a broken one comes near, even on a loaded machine (which case
        // a limit cuts is the clock's call); the hang's cases each end in a 1 s reply timeout
        '--time-limit-ms', '120000', '--reply-timeout-ms', '1000', '--jobs', '2', '--no-progress', '--out', out,
        // where bubblewrap cannot run, the same check without it
        ...(sandboxUnavailable() === undefined ? [] : ['--no-sandbox']),
      ],
      { stdout: (s) => (log += s), stderr: (s) => (log += s), cwd: root, isTTY: false, stderrIsTTY: false },
    );
    expect(code, log).toBe(0);
    outs.push(out);
    logs.push(log);
  }
}, 180_000);

afterAll(() => {
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
});

/**
 * The step during which a crash was seen, when a clock caused it: the flood dies when its output
 * passes maxOutputBytes, whichever step the case is at then (docs/grading.md lists it as varying).
 */
const clockedCrash = /crashed during step \d+ \([^)]*\) \(killed by SIGKILL: it printed more than maxOutputBytes/g;

/** JSON with the documented varying values (wall-clock times, durations, event times) masked. */
function maskedJson(file: string): string {
  const mask = (key: string, value: unknown): unknown => {
    if (['startedAt', 'finishedAt', 'durationMs', 't', 'execution_time'].includes(key)) return '<varies>';
    // a trace printed as text (Gradescope's output): the time column of each line
    return typeof value === 'string' ? value.replace(/(^|\n)( *)\d+ ms /g, '$1$2<t> ms ').replace(clockedCrash, 'crashed during step <n> (killed by SIGKILL: it printed more than maxOutputBytes') : value;
  };
  return JSON.stringify(JSON.parse(readFileSync(file, 'utf8'), mask), null, 1);
}

/** The first line where two texts differ, with the line of each, for the failure message. */
function firstDifference(a: string, b: string): string {
  const [la, lb] = [a.split('\n'), b.split('\n')];
  const i = la.findIndex((line, k) => line !== lb[k]);
  return i < 0 ? (la.length === lb.length ? 'same' : `lengths ${la.length} and ${lb.length}`) : `line ${i + 1}:\n  first:  ${la[i]?.slice(0, 400)}\n  second: ${lb[i]?.slice(0, 400)}`;
}

/** A text report with its durations (time="…") and the times of its trace lines masked. */
function maskedText(file: string): string {
  return readFileSync(file, 'utf8')
    .replace(/\btime="[\d.]+"/g, 'time="<varies>"')
    .replace(clockedCrash, 'crashed during step <n> (killed by SIGKILL: it printed more than maxOutputBytes')
    .replace(/^( *)\d+ ms /gm, '$1<t> ms ');
}

describe('protosim grade twice over the same submissions', () => {
  it('gives the same grades: every submission has its expected score both times', () => {
    for (const log of logs) {
      expect(log).toMatch(/^ {2}reference +3\/3 +100 +✓ ✓ ✓$/m);
      expect(log).toMatch(/^ {2}spoofable +2\/3 +67 +✓ F ✓$/m);
    }
  });

  it('writes the same summary.csv, byte for byte', () => {
    const [a, b] = outs.map((o) => readFileSync(join(o, 'summary.csv'), 'utf8'));
    expect(b, firstDifference(a!, b!)).toBe(a);
    expect(a).not.toMatch(/duration|\d{4}-\d\d-\d\dT/); // nothing that varies is in it
  });

  it('writes the same summary.json but for its times and durations', () => {
    const [a, b] = outs.map((o) => maskedJson(join(o, 'summary.json')));
    expect(b, firstDifference(a!, b!)).toBe(a);
  });

  it("writes the same results for each submission (report.json, junit.xml, results.json) but for times and durations", () => {
    expect(readdirSync(outs[0]!).filter((n) => !n.startsWith('summary')).sort()).toEqual(names);
    for (const name of names) {
      const json = outs.map((o) => maskedJson(join(o, name, 'report.json')));
      expect(json[1], `${name}/report.json: ${firstDifference(json[0]!, json[1]!)}`).toBe(json[0]);
      const gradescope = outs.map((o) => maskedJson(join(o, name, 'results.json')));
      expect(gradescope[1], `${name}/results.json: ${firstDifference(gradescope[0]!, gradescope[1]!)}`).toBe(gradescope[0]);
      const junit = outs.map((o) => maskedText(join(o, name, 'junit.xml')));
      expect(junit[1], `${name}/junit.xml: ${firstDifference(junit[0]!, junit[1]!)}`).toBe(junit[0]);
    }
  });
});
