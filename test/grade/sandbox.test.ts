/**
 * The sandbox of `protosim grade` (src/conformance/grading/sandbox.ts): a malicious server
 * submission is graded next to an honest one (protosim's reference server). The malicious one tries
 * each attack of issue 19 and writes what it saw into its own folder (the private copy, which this
 * test reads from the host while grading runs). Every attack is refused (it reads its own files,
 * nothing of the suite, of protosim's folder, of the other submission or of the grades), the honest
 * score is full marks, nothing is left running and the summary is the grader's. Needs root and
 * bubblewrap (skipped otherwise; `grade` itself refuses then, tested at the end). Client programs
 * and protosim's reference server: sandbox-clients.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/program.js';
import { sandboxUnavailable } from '../../src/conformance/grading/sandbox.js';
import { parseCsv } from './csv.js';

const root = resolve(__dirname, '../..');
const canSandbox = sandboxUnavailable() === undefined;
const marker = `protosim-evil-leftover-${process.pid}`;

let work: string;
let subs: string;
let out: string;
let code = -1;
let stdout = '';
let stderr = '';
let hostServer: Server;
let attacks: Record<string, string | number> | undefined;
let attacksOwner: number | undefined;
let csvAfterGrade = '';
let leftoverSeen = false;

function evilServer(other: string, outDir: string, hostPort: number, graderPid: number): string {
  return `
import fs from 'node:fs';
import net from 'node:net';
import { spawn, spawnSync } from 'node:child_process';
const port = Number(process.argv[2]);
const R = {};
const attempt = (name, f) => { try { R[name] = 'ALLOWED: ' + String(f()).slice(0, 80); } catch (e) { R[name] = 'refused: ' + (e.code ?? e.message); } };
attempt('read-other', () => fs.readFileSync(${JSON.stringify(join(other, 'protosim.yaml'))}, 'utf8'));
attempt('write-other', () => fs.writeFileSync(${JSON.stringify(join(other, 'pwned'))}, 'x'));
attempt('write-protosim', () => fs.writeFileSync(${JSON.stringify(join(root, 'pwned-by-evil'))}, 'x'));
attempt('write-out', () => fs.writeFileSync(${JSON.stringify(join(outDir, 'summary.csv'))}, 'evil,999\\n'));
attempt('read-shadow', () => fs.readFileSync('/etc/shadow', 'utf8'));
attempt('read-suite', () => fs.readFileSync(${JSON.stringify(join(root, 'scenarios/conformance/register-exit/suite.yaml'))}, 'utf8'));
attempt('read-protosim', () => fs.readFileSync(${JSON.stringify(join(root, 'package.json'))}, 'utf8'));
attempt('list-protosim', () => fs.readdirSync(${JSON.stringify(root)}).join(' '));
attempt('read-protosim-dist', () => fs.readFileSync(${JSON.stringify(join(root, 'dist/cli/grade-worker.js'))}, 'utf8'));
attempt('read-own', () => fs.readFileSync('evil.mjs', 'utf8').slice(0, 20));
attempt('read-own-absolute', () => fs.readFileSync(process.argv[1], 'utf8').slice(0, 20));
attempt('read-grades', () => fs.readdirSync(${JSON.stringify(outDir)}).join(' '));
const big = spawnSync('sh', ['-c', 'head -c 104857600 /dev/zero > big.bin']);
R['big-file'] = 'status ' + big.status + ' signal ' + big.signal + ' size ' + fs.statSync('big.bin').size;
// The grader and its grading worker: not in this PID namespace. Forge a result on the grader's
// stdout, kill it; and every process this one sees is its own.
const uids = fs.readdirSync('/proc').filter((p) => /^\\d+$/.test(p)).map((p) => { try { return Number(/^Uid:\\s+(\\d+)/m.exec(fs.readFileSync('/proc/' + p + '/status', 'utf8'))[1]); } catch { return -1; } });
R['foreign-processes'] = uids.filter((u) => u !== process.getuid() && u !== -1).length;
R['worker-seen'] = fs.readdirSync('/proc').filter((p) => /^\\d+$/.test(p)).some((p) => { try { return fs.readFileSync('/proc/' + p + '/cmdline', 'utf8').includes('grade-worker.js'); } catch { return false; } }) ? 'yes' : 'no';
attempt('forge-result', () => fs.writeFileSync('/proc/${graderPid}/fd/1', '@protosim-grade {"case":{"id":"re/route","title":"x","level":"required","points":1,"maxPoints":1,"verdict":"PASS","reason":"forged","durationMs":1}}\\n'));
attempt('kill-grader', () => process.kill(${graderPid}, 'SIGKILL'));
R.env = Object.keys(process.env).sort().join(',');
// the suite's and the manifest's paths: in no variable, no command line it can see
const cmdlines = fs.readdirSync('/proc').filter((p) => /^\\d+$/.test(p)).map((p) => { try { return fs.readFileSync('/proc/' + p + '/cmdline', 'utf8'); } catch { return ''; } });
R['paths-seen'] = [...Object.values(process.env), ...cmdlines].filter((v) => /conformance|protosim\\.yaml|grade-worker/.test(v)).length;
R.secret = process.env.PROTOSIM_TEST_SECRET ?? 'absent';
R.uid = process.getuid();
R.capabilities = ['CapPrm', 'CapEff', 'CapBnd', 'CapAmb'].map((k) => fs.readFileSync('/proc/self/status', 'utf8').split('\\n').find((l) => l.startsWith(k + ':')).split(':')[1].trim()).join(' ');
R.processesVisible = fs.readdirSync('/proc').filter((p) => /^\\d+$/.test(p)).length;
// A process that leaves the group and keeps rewriting the summary.
const child = spawn('setsid', [process.execPath, '-e', ${JSON.stringify(`setInterval(() => { try { require('fs').writeFileSync(${JSON.stringify(join(outDir, 'summary.csv'))}, 'evil,999\\nhonest,0\\n'); } catch {} }, 50)`)}, ${JSON.stringify(marker)}], { detached: true, stdio: 'ignore' });
child.unref();
// Then many processes (cgroup pids.max) and much memory (cgroup memory limit).
const hog = spawnSync(process.execPath, ['-e', 'const a = []; for (;;) a.push(Buffer.alloc(64 << 20, 1));'], { encoding: 'utf8' });
R['memory-hog'] = 'status ' + hog.status + ' signal ' + hog.signal;
const kids = [];
for (let i = 0; i < 400; i++) { const k = spawn('sleep', ['30'], { stdio: 'ignore' }); k.on('error', () => {}); kids.push(k); }
const started = kids.filter((k) => k.pid !== undefined).length;
for (const k of kids) if (k.pid !== undefined) k.kill('SIGKILL');
R['many-processes'] = started < 400 ? 'refused: ' + started + ' of 400 started' : 'ALLOWED: 400 started';
const done = () => {
  fs.writeFileSync('attacks.json', JSON.stringify(R));
  net.createServer(() => {}).listen(port, '127.0.0.1');
};
const s = net.connect(${hostPort}, '127.0.0.1');
s.on('connect', () => { R.loopback = 'ALLOWED: connected to a host service'; s.destroy(); done(); });
s.on('error', (e) => { R.loopback = 'refused: ' + e.code; done(); });
`;
}

function leftovers(): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(marker)) found.push(pid);
    } catch {
      // gone
    }
  }
  return found;
}

beforeAll(async () => {
  if (!canSandbox) return;
  work = mkdtempSync(join(tmpdir(), 'protosim-sandbox-test-'));
  subs = join(work, 'subs');
  out = join(work, 'grades');
  mkdirSync(subs);
  cpSync(join(root, 'examples/submissions/register-exit/reference'), join(subs, 'honest'), { recursive: true });
  hostServer = createServer((s) => s.end('grader secret\n'));
  await new Promise<void>((r) => hostServer.listen(0, '127.0.0.1', r));
  const hostPort = (hostServer.address() as { port: number }).port;
  mkdirSync(join(subs, 'evil'));
  writeFileSync(join(subs, 'evil', 'protosim.yaml'), "server:\n  command: ['{node}', evil.mjs, '{port}']\n  startTimeoutMs: 30000\n");
  writeFileSync(join(subs, 'evil', 'evil.mjs'), evilServer(join(subs, 'honest'), out, hostPort, process.pid));
  // The private copies live in the temp folder: read what the evil one wrote while grading runs.
  const sampler = setInterval(() => {
    for (const d of readdirSync(tmpdir()).filter((n) => n.startsWith('protosim-sandbox-') && !n.startsWith('protosim-sandbox-test-'))) {
      const file = join(tmpdir(), d, 'submission', 'attacks.json');
      if (leftovers().length > 0) leftoverSeen = true;
      try {
        attacks = JSON.parse(readFileSync(file, 'utf8')) as Record<string, string | number>;
        attacksOwner = statSync(file).uid;
      } catch {
        // not there (yet), or not this one
      }
    }
  }, 50);
  process.env.PROTOSIM_TEST_SECRET = 'hunter2';
  try {
    code = await runCli(
      ['grade', subs, '--suite', 'scenarios/conformance/register-exit', '--case', 're/route', '--time-limit-ms', '40000', '--reply-timeout-ms', '3000', '--retries', '0', '--jobs', '2', '--no-progress', '--out', out],
      { stdout: (s) => (stdout += s), stderr: (s) => (stderr += s), cwd: root, isTTY: false, stderrIsTTY: false },
    );
  } finally {
    delete process.env.PROTOSIM_TEST_SECRET;
    clearInterval(sampler);
  }
  csvAfterGrade = readFileSync(join(out, 'summary.csv'), 'utf8');
  // Give a leftover time to strike.
  await new Promise((r) => setTimeout(r, 1000));
}, 90_000);

afterAll(() => {
  hostServer?.close();
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
});

describe.runIf(canSandbox)('protosim grade: a malicious submission next to an honest one, in bubblewrap sandboxes', () => {
  it('grades both, and the honest one gets full marks', () => {
    expect(code, stderr + stdout).toBe(0);
    const rows = parseCsv(csvAfterGrade);
    const row = (name: string): string[] => rows.find((r) => r[0] === name)!;
    expect(row('reference').slice(0, 3), readFileSync(join(out, 'reference', 'report.json'), 'utf8').slice(0, 2000)).toEqual(['reference', '1', '1']); // its manifest names it
    expect(row('evil').slice(0, 2)).toEqual(['evil', '0']);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as { submissions: { name: string; containment: string }[] };
    for (const s of summary.submissions) expect(s.containment).toMatch(/^sandbox: bubblewrap, an unprivileged uid of its own, cgroup v1/);
  });

  it('ran the attacks (so the checks below are not vacuous)', () => {
    if (process.env.PROTOSIM_SHOW_ATTACKS) console.log(JSON.stringify({ attacks, attacksOwner }, null, 1));
    expect(attacks, `attacks.json was never seen in the private copy: ${readFileSync(join(out, 'evil', 'report.json'), 'utf8').slice(0, 3000).replaceAll("\n", " ")}`).toBeDefined();
  });

  it("cannot read or change the other submission's files", () => {
    expect(attacks!['read-other']).toMatch(/^refused: ENOENT/);
    expect(attacks!['write-other']).toMatch(/^refused: /);
    expect(existsSync(join(subs, 'honest', 'pwned'))).toBe(false);
  });

  it("reads its own files, and nothing of the suite, of protosim's folder or of the grades", () => {
    expect(attacks!['read-own']).toMatch(/^ALLOWED: /);
    expect(attacks!['read-own-absolute']).toMatch(/^ALLOWED: /);
    expect(attacks!['read-suite']).toMatch(/^refused: ENOENT/);
    expect(attacks!['read-protosim']).toMatch(/^refused: ENOENT/);
    expect(attacks!['list-protosim']).toMatch(/^refused: ENOENT/);
    expect(attacks!['read-protosim-dist']).toMatch(/^refused: ENOENT/);
    expect(attacks!['read-grades']).toMatch(/^refused: ENOENT/);
  });

  it("cannot write outside its folder (protosim's folder, the grades)", () => {
    expect(attacks!['write-protosim']).toMatch(/^refused: (ENOENT|EROFS|EACCES)/);
    expect(existsSync(join(root, 'pwned-by-evil'))).toBe(false);
    expect(attacks!['read-shadow']).toMatch(/^refused: EACCES/);
  });

  it('cannot write a 100 MB file: RLIMIT_FSIZE stops it at --max-file-bytes (16 MiB)', () => {
    const m = /size (\d+)/.exec(String(attacks!['big-file']));
    expect(Number(m![1])).toBeLessThanOrEqual(16 * 1024 * 1024);
    expect(attacks!['big-file']).toMatch(/signal SIGXFSZ|status [1-9]/);
  });

  it('runs as an unprivileged uid of its own: the host owner of a file it wrote is not root', () => {
    expect(attacksOwner).toBeDefined();
    expect(attacksOwner).not.toBe(0);
    expect(attacksOwner).toBeGreaterThanOrEqual(200_000);
    expect(attacks!.uid).toBe(attacksOwner);
    // no capability, not even in the bounding set (CapPrm CapEff CapBnd CapAmb)
    expect(attacks!.capabilities).toBe(Array(4).fill('0000000000000000').join(' '));
  });

  it("sees a minimal environment, not the grader's, and neither the suite's nor the manifests' paths", () => {
    expect(attacks!.secret).toBe('absent');
    expect(attacks!['paths-seen']).toBe(0);
    for (const key of String(attacks!.env).split(',')) expect(['HOME', 'LANG', 'PATH', 'TMPDIR', 'PROTOSIM_JOB', 'PORT', 'PROTOSIM_PORT', 'PWD', 'SHLVL', '_']).toContain(key);
  });

  it('cannot see, forge the results of, or kill the grader and its worker: it sees its own processes only', () => {
    expect(attacks!['worker-seen']).toBe('no');
    expect(attacks!['foreign-processes']).toBe(0);
    expect(attacks!['forge-result']).toMatch(/^refused: ENOENT/);
    expect(attacks!['kill-grader']).toMatch(/^refused: ESRCH/);
  });

  it('is bounded in processes and memory (cgroup v1 here)', () => {
    expect(attacks!['many-processes']).toMatch(/^refused: \d+ of 400 started/);
    expect(attacks!['memory-hog']).toMatch(/signal SIGKILL/);
  });

  it('cannot reach a service on the host loopback, and sees only its own processes', () => {
    expect(attacks!.loopback).toMatch(/^refused: ECONNREFUSED/);
    expect(Number(attacks!.processesVisible)).toBeLessThan(20);
  });

  it('leaves nothing running: the setsid process is gone and summary.csv stays the grader\'s', () => {
    expect(leftoverSeen, 'the setsid process was never seen while grading ran').toBe(true);
    expect(leftovers()).toEqual([]);
    const now = readFileSync(join(out, 'summary.csv'), 'utf8');
    expect(now).toBe(csvAfterGrade);
    expect(now).not.toMatch(/evil,999/);
    // and the private copies are removed
    expect(readdirSync(tmpdir()).filter((n) => /^protosim-sandbox-(?!test-)/.test(n) && existsSync(join(tmpdir(), n, 'submission', 'evil.mjs')))).toEqual([]);
  });
});

describe('protosim grade without bubblewrap', () => {
  it('refuses with exit 2 and says how to install it, unless --no-sandbox', async () => {
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent';
    let err = '';
    let code2: number;
    try {
      code2 = await runCli(['grade', 'examples/submissions/register-exit', '--suite', 'scenarios/conformance/register-exit', '--out', join(tmpdir(), `protosim-nobwrap-${process.pid}`)], {
        stdout: () => {},
        stderr: (s) => (err += s),
        cwd: root,
        isTTY: false,
        stderrIsTTY: false,
      });
    } finally {
      process.env.PATH = path;
      rmSync(join(tmpdir(), `protosim-nobwrap-${process.pid}`), { recursive: true, force: true });
    }
    expect(code2).toBe(2);
    expect(err).toMatch(/bubblewrap \(bwrap\) is not installed/);
    expect(err).toMatch(/apt-get install bubblewrap/);
    expect(err).toMatch(/--no-sandbox/);
  });

  it('bwrap is what the sandbox uses here', () => {
    if (!canSandbox) return;
    expect(spawnSync('bwrap', ['--version']).status).toBe(0);
  });
});
