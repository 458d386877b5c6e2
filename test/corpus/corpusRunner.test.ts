/**
 * The corpus runner (scripts/corpus/run.mjs, `npm run corpus`) on one correct kv-store server
 * (corpus/kv-store/server-py-b, Python) and its defective twin (server-go-defective, Go: `keys`
 * without the closing empty line), through the same code path as the full run: build in a work
 * copy, target file from the manifest, `protosim run` under a hard timeout, leftover sweep.
 * The kv suite is the fastest of the server suites (about 10 s per server).
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

describe.skipIf(missing !== '')(`corpus runner: a correct server and its defective twin${missing ? ` (skipped: ${missing})` : ''}`, () => {
  it('catches the twin, passes every required case of the correct one, and leaves nothing running', () => {
    const json = join(work, 'result.json');
    const run = spawnSync(process.execPath, [join(root, 'scripts/corpus/run.mjs'), '--only', 'kv-store/server-py-b,kv-store/server-go-defective', '--work', join(work, 'w'), '--json', json, '--no-write', '--quiet', '--timeout-ms', '90000'], {
      cwd: root,
      encoding: 'utf8',
      timeout: 150_000,
    });
    expect(run.status === 0 || run.status === 1, `runner exit ${run.status}: ${run.stderr}`).toBe(true);
    const { results, processesAfter } = JSON.parse(readFileSync(json, 'utf8')) as { results: ImplResult[]; processesAfter: unknown[] };
    const correct = results.find((r) => r.id === 'kv-store/server-py-b')!;
    const twin = results.find((r) => r.id === 'kv-store/server-go-defective')!;
    expect(correct.status).toBe('ran');
    expect(twin.status).toBe('ran');
    // The correct server: every required case passes (the recommended ones test protosim's own extensions).
    const requiredBad = correct.cases.filter((c) => c.level !== 'recommended' && c.verdict !== 'PASS');
    expect(requiredBad, JSON.stringify(requiredBad)).toEqual([]);
    expect(correct.cases.length).toBeGreaterThan(10);
    // The twin: caught by a case the correct one passes — the keys listing without its closing empty line.
    expect(twin.judgement.summary).toMatch(/^CAUGHT/);
    expect(twin.caughtBy).toContain('kv/clear-and-keys');
    expect(twin.cases.find((c) => c.id === 'kv/clear-and-keys')?.verdict).toBe('FAIL');
    // Nothing left: per implementation, after the run, and by our own look at /proc.
    expect(correct.leftovers).toEqual([]);
    expect(twin.leftovers).toEqual([]);
    expect(processesAfter).toEqual([]);
    expect(processesIn(work)).toEqual([]);
    expect(readdirSync(join(work, 'w'))).toEqual([]);
  }, 180_000);
});
