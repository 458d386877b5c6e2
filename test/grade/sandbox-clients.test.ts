/**
 * The sandbox of `protosim grade` for client programs (src/conformance/grading/sandbox.ts): a
 * malicious client program is graded next to an honest one with a whole-live-system client suite
 * (register-exit's: protosim starts its reference server and the clients connect to it). The
 * malicious one reads its own files but nothing of the suite or of protosim's folder, and does not
 * see the reference server's process; the reference server is protosim's: it runs as the grader,
 * not as a submission's uid, outside every submission's PID and mount namespaces and cgroups; the
 * honest client, which talks to it over the sandbox's loopback, gets full marks. Needs root and
 * bubblewrap (skipped otherwise).
 */
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/program.js';
import { sandboxUnavailable } from '../../src/conformance/grading/sandbox.js';
import { parseCsv } from './csv.js';

const root = resolve(__dirname, '../..');
const canSandbox = sandboxUnavailable() === undefined;
const suiteFile = join(root, 'scenarios/conformance/register-exit/clients.yaml');
const caseId = 'register-exit/system/send';

interface ProcessSeen {
  uid: number;
  pidNs: string;
  mntNs: string;
  cgroups: string;
}

let work: string;
let out: string;
let code = -1;
let stdout = '';
let stderr = '';
let attacks: Record<string, string | number> | undefined;
const servers = new Map<number, ProcessSeen>();
const clients = new Map<number, ProcessSeen>();

function evilClient(): string {
  return `
import fs from 'node:fs';
const R = {};
const attempt = (name, f) => { try { R[name] = 'ALLOWED: ' + String(f()).slice(0, 80); } catch (e) { R[name] = 'refused: ' + (e.code ?? e.message); } };
attempt('read-own', () => fs.readFileSync('evil-client.mjs', 'utf8').slice(0, 20));
attempt('read-suite', () => fs.readFileSync(${JSON.stringify(suiteFile)}, 'utf8'));
attempt('read-protosim', () => fs.readFileSync(${JSON.stringify(join(root, 'package.json'))}, 'utf8'));
attempt('list-protosim', () => fs.readdirSync(${JSON.stringify(root)}).join(' '));
attempt('read-adapters', () => fs.readdirSync(${JSON.stringify(join(root, 'adapters'))}).join(' '));
R['server-seen'] = fs.readdirSync('/proc').filter((p) => /^\\d+$/.test(p)).some((p) => { try { return fs.readFileSync('/proc/' + p + '/cmdline', 'utf8').includes('serve'); } catch { return false; } }) ? 'yes' : 'no';
R.uid = process.getuid();
fs.writeFileSync('attacks-' + process.argv[2] + '.json', JSON.stringify(R));
process.stdout.write('> ');
setInterval(() => {}, 1000);
`;
}

const evilManifest = `client:
  adapter:
    adapter: evil-client
    protocol: register-exit
    command: ['{node}', evil-client.mjs, '{name}', '{address}']
    patterns:
      prompt: '^> $'
      message: '^(?<from>\\S+): (?<text>.*)$'
    input:
      message: "send {to} {text}\\n"
      quit: "EXIT\\n"
`;

/** The honest client: protosim's example register-exit client, copied into the submission's folder. */
const honestManifest = `client:
  adapter:
    adapter: honest-client
    protocol: register-exit
    command: ['{node}', register-exit.mjs, '{address}', '{name}']
    patterns:
      prompt: '^> $'
      message: '^(?<from>(?:[^\\sE]\\S*|E(?:|[^\\sr]\\S*|r(?:|[^\\sr]\\S*|r(?:|[^\\so]\\S*|o(?:|[^\\sr]\\S*|r[^\\s:]\\S*)))))): (?<text>.*)$'
      joined: '^Registered as '
      refused: '^Error: '
      serverShutdown: ['^Server has shut down', '^Connection to the server lost']
      error: '^error: '
    input:
      message: "send {to} {text}\\n"
      quit: "EXIT\\n"
`;

function seen(pid: string): ProcessSeen | undefined {
  try {
    return {
      uid: Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]),
      pidNs: readlinkSync(`/proc/${pid}/ns/pid`),
      mntNs: readlinkSync(`/proc/${pid}/ns/mnt`),
      cgroups: readFileSync(`/proc/${pid}/cgroup`, 'utf8'),
    };
  } catch {
    return undefined;
  }
}

/** Whether `pid` was started, through any chain of parents, by this test's process. */
function descendsFromThisTest(pid: string): boolean {
  let current = pid;
  for (let hops = 0; hops < 64; hops++) {
    let parent: string;
    try {
      parent = /^PPid:\s+(\d+)/m.exec(readFileSync(`/proc/${current}/status`, 'utf8'))![1]!;
    } catch {
      return false;
    }
    if (Number(parent) === process.pid) return true;
    if (parent === '0' || parent === '1') return false;
    current = parent;
  }
  return false;
}

/** The reference server's processes (`protosim serve register-exit`) and the client programs', as the host sees them. */
function sample(): void {
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    let args: string[];
    try {
      args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    // the programs themselves (node ...), not the wrappers that start them
    const isServer = args[0]!.endsWith('node') && args[1]!.endsWith('bin/protosim.js') && args[2] === 'serve' && args[3] === 'register-exit';
    const isClient = args[0]!.endsWith('node') && (args[1] === 'evil-client.mjs' || args[1] === 'register-exit.mjs');
    if (!isServer && !isClient) continue;
    // only this test's grading run: other test files may run the same programs at the same time
    if (!descendsFromThisTest(pid)) continue;
    const s = seen(pid);
    if (s !== undefined) (isServer ? servers : clients).set(Number(pid), s);
  }
}

beforeAll(async () => {
  if (!canSandbox) return;
  work = mkdtempSync(join(tmpdir(), 'protosim-sandbox-clients-'));
  const subs = join(work, 'subs');
  out = join(work, 'grades');
  mkdirSync(join(subs, 'evil'), { recursive: true });
  writeFileSync(join(subs, 'evil', 'protosim.yaml'), evilManifest);
  writeFileSync(join(subs, 'evil', 'evil-client.mjs'), evilClient());
  mkdirSync(join(subs, 'honest'));
  writeFileSync(join(subs, 'honest', 'protosim.yaml'), honestManifest);
  cpSync(join(root, 'examples/clients/register-exit.mjs'), join(subs, 'honest', 'register-exit.mjs'));
  // The private copies live in the temp folder: read what the evil one wrote while grading runs.
  const sampler = setInterval(() => {
    sample();
    for (const d of readdirSync(tmpdir()).filter((n) => n.startsWith('protosim-sandbox-') && !n.startsWith('protosim-sandbox-clients-'))) {
      try {
        for (const f of readdirSync(join(tmpdir(), d, 'submission')).filter((n) => /^attacks-.*\.json$/.test(n))) {
          attacks = JSON.parse(readFileSync(join(tmpdir(), d, 'submission', f), 'utf8')) as Record<string, string | number>;
        }
      } catch {
        // not there (yet), or gone
      }
    }
  }, 50);
  try {
    code = await runCli(['grade', subs, '--suite', suiteFile, '--case', caseId, '--time-limit-ms', '40000', '--retries', '0', '--jobs', '2', '--no-progress', '--out', out], {
      stdout: (s) => (stdout += s),
      stderr: (s) => (stderr += s),
      cwd: root,
      isTTY: false,
      stderrIsTTY: false,
    });
  } finally {
    clearInterval(sampler);
  }
}, 90_000);

afterAll(() => {
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
});

describe.runIf(canSandbox)('protosim grade: client programs in bubblewrap sandboxes, protosim\'s reference server outside them', () => {
  it('grades both; the honest client, talking to the reference server over the loopback, gets full marks', () => {
    expect(code, stderr + stdout).toBe(0);
    const rows = parseCsv(readFileSync(join(out, 'summary.csv'), 'utf8'));
    const row = (name: string): string[] => rows.find((r) => r[0] === name)!;
    const honest = row('honest');
    expect(Number(honest[2])).toBeGreaterThan(0);
    expect(honest[1], readFileSync(join(out, 'honest', 'report.json'), 'utf8').slice(0, 2000)).toBe(honest[2]);
    expect(row('evil').slice(0, 2)).toEqual(['evil', '0']);
  });

  it("the malicious client reads its own files, nothing of the suite or of protosim's folder, and does not see the server's process", () => {
    expect(attacks, 'attacks.json was never seen in the private copy').toBeDefined();
    expect(attacks!['read-own']).toMatch(/^ALLOWED: /);
    expect(attacks!['read-suite']).toMatch(/^refused: ENOENT/);
    expect(attacks!['read-protosim']).toMatch(/^refused: ENOENT/);
    expect(attacks!['list-protosim']).toMatch(/^refused: ENOENT/);
    expect(attacks!['read-adapters']).toMatch(/^refused: ENOENT/);
    expect(attacks!['server-seen']).toBe('no');
    expect(Number(attacks!.uid)).toBeGreaterThanOrEqual(200_000);
  });

  it("runs protosim's reference server as the grader, outside the submissions' namespaces and cgroups", () => {
    expect(servers.size, 'the reference server was never seen while grading ran').toBeGreaterThan(0);
    expect(clients.size, 'no client program was seen while grading ran').toBeGreaterThan(0);
    const clientUids = new Set([...clients.values()].map((c) => c.uid));
    for (const s of servers.values()) {
      expect(s.uid).toBe(process.getuid!());
      expect(clientUids.has(s.uid)).toBe(false);
      expect(s.cgroups).not.toMatch(/protosim-\d+/);
      for (const c of clients.values()) {
        expect(s.pidNs).not.toBe(c.pidNs);
        expect(s.mntNs).not.toBe(c.mntNs);
      }
    }
    for (const c of clients.values()) {
      expect(c.uid).toBeGreaterThanOrEqual(200_000);
      expect(c.cgroups).toMatch(/protosim-\d+/);
    }
  });
});
