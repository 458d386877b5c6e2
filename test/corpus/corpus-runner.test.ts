/**
 * The corpus runner (scripts/corpus/run.mjs, `npm run corpus`) on a subset of corpus/, through the
 * same code path as the full run: build in a work copy, target file or adapter from the manifest,
 * `protosim run` under a hard timeout, leftover sweep. About 2 minutes on two cores: three
 * implementations at a time, as their suites mostly wait (the client suites' silences and timeouts;
 * 55 % of one core in all, measured).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = resolve(__dirname, '../..');
const haveGo = spawnSync('sh', ['-c', 'command -v go'], { stdio: 'ignore' }).status === 0;
const havePython = existsSync('/usr/bin/python3');
const missing = [!haveGo ? 'go (Debian golang-go) is not installed' : '', !havePython ? '/usr/bin/python3 is not installed' : ''].filter(Boolean).join('; ');

interface CaseResult { id: string; level: string; verdict: string; reason: string }
interface ImplResult {
  id: string;
  kind: string;
  status: string;
  cases: CaseResult[];
  leftovers: { pid: number; cmd: string }[];
  caughtBy?: string[];
  judgement: { ok: boolean; summary: string };
}

/** Processes whose working directory or command line is inside `dir`. */
function processesIn(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmd = readFileSync(`/proc/${name}/cmdline`, 'utf8').replaceAll('\0', ' ');
      let cwd = '';
      try {
        cwd = readlinkSync(`/proc/${name}/cwd`);
      } catch {}
      if (cmd.includes(dir) || cwd.startsWith(dir)) out.push(`${name} ${cmd}`);
    } catch {}
  }
  return out;
}

const work = mkdtempSync(join(tmpdir(), 'corpus-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/**
 * The fast subset of `npm run corpus` (issue 14): per role the suites test, one correct
 * implementation and its defective twin, run as the full corpus runs them. A correct one must have no
 * FAIL and no ERROR on a required case; a twin must be caught; the published table
 * (docs/corpus-results.md, written by `npm run corpus`) must say the same of each.
 */
const subset: [correct: string, twin: string][] = [
  ['kv-store/server-py-b', 'kv-store/server-go-defective'],
  ['lock-alternation/client-go-b', 'lock-alternation/client-py-defective'],
  ['status-handshake/client-py-a', 'status-handshake/client-go-defective'],
  ['ping-liveness/server-py-a', 'ping-liveness/server-go-defective'],
  ['ping-liveness/client-go-b', 'ping-liveness/client-py-defective'],
  ['register-exit/server-py-b', 'register-exit/server-go-defective'],
  ['register-exit/client-go-a', 'register-exit/client-py-defective'],
  ['offline-queue/server-py-a', 'offline-queue/server-go-defective'],
  ['offline-queue/client-go-b', 'offline-queue/client-py-defective'],
];

/** The published table's row of an implementation: its counts and judgement. */
function tableRow(id: string): { pass: number; fail: number; error: number; judgement: string } | null {
  const table = readFileSync(join(root, 'docs', 'corpus-results.md'), 'utf8');
  const row = table.split('\n').find((l) => l.startsWith(`| ${id} |`));
  if (row === undefined) return null;
  const cells = row.split('|').map((c) => c.trim());
  return { pass: Number(cells[4]), fail: Number(cells[5]), error: Number(cells[6]), judgement: cells[8]! };
}

describe.skipIf(missing !== '')(`corpus subset: one correct implementation and one twin per role${missing ? ` (skipped: ${missing})` : ''}`, () => {
  it('every correct one passes its required cases, every twin is caught, as the published table says, and nothing is left running', () => {
    const json = join(work, 'subset.json');
    const only = subset.flat().join(',');
    const run = spawnSync(process.execPath, [join(root, 'scripts/corpus/run.mjs'), '--only', only, '--work', join(work, 's'), '--json', json, '--no-write', '--quiet', '--jobs', '3', '--timeout-ms', '240000'], {
      cwd: root,
      encoding: 'utf8',
      timeout: 600_000,
    });
    expect(run.status === 0 || run.status === 1, `runner exit ${run.status}: ${run.stderr}`).toBe(true);
    const { results, processesAfter } = JSON.parse(readFileSync(json, 'utf8')) as { results: ImplResult[]; processesAfter: unknown[] };
    const problems: string[] = [];
    for (const [correctId, twinId] of subset) {
      const correct = results.find((r) => r.id === correctId);
      const twin = results.find((r) => r.id === twinId);
      if (correct === undefined || twin === undefined) {
        problems.push(`${correctId} / ${twinId}: not run`);
        continue;
      }
      const bad = correct.cases.filter((c) => c.level !== 'recommended' && c.verdict !== 'PASS');
      if (correct.status !== 'ran' || correct.cases.length === 0) problems.push(`${correctId}: ${correct.status}`);
      for (const c of bad) problems.push(`${correctId}: ${c.verdict} ${c.id}: ${c.reason}`);
      if (!/^CAUGHT/.test(twin.judgement.summary)) problems.push(`${twinId}: not caught (${twin.judgement.summary})`);
      for (const r of [correct, twin]) {
        if (r.leftovers.length > 0) problems.push(`${r.id}: left ${JSON.stringify(r.leftovers)}`);
        const row = tableRow(r.id);
        const counts = (v: string) => r.cases.filter((c) => c.verdict === v).length;
        if (row === null) problems.push(`${r.id}: no row in docs/corpus-results.md`);
        else if (/^CAUGHT/.test(row.judgement) !== /^CAUGHT/.test(r.judgement.summary) || (r === correct && (row.fail > 0) !== (counts('FAIL') > 0))) {
          problems.push(`${r.id}: the table says "${row.judgement}" (${row.pass}/${row.fail}/${row.error}), this run "${r.judgement.summary}" (${counts('PASS')}/${counts('FAIL')}/${counts('ERROR')}): run npm run corpus`);
        }
      }
    }
    // the kv twin (`keys` without the closing empty line) is caught by the case made for it
    expect(results.find((r) => r.id === 'kv-store/server-go-defective')?.caughtBy ?? []).toContain('kv/clear-and-keys');
    expect(problems).toEqual([]);
    expect(processesAfter).toEqual([]);
    expect(processesIn(work)).toEqual([]);
  }, 620_000);
});

