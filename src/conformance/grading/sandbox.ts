/**
 * A sandbox per submission for `protosim grade` (docs/grading.md, "The sandbox"), with bubblewrap.
 * Two sides share one network namespace (loopback only, nothing of the host reachable):
 *
 *  - **protosim's side**, trusted: the grading worker runs as the grader, on the grader's file
 *    system, in its own PID namespace and a fresh network namespace (`bwrap --dev-bind / /
 *    --unshare-net`), with a minimal environment. It starts the submission's programs and, for a
 *    client suite, protosim's reference server (a `trusted` job: the grader's user, outside the
 *    submission's sandbox);
 *  - **the submission's side**: every program of the submission (its server, its client programs)
 *    is started by the worker's launcher under `PROTOSIM_SANDBOX`, a prefix this module builds
 *    (launcher.ts): it joins the submission's cgroups (pids.max, memory; v1 or v2, where
 *    `/sys/fs/cgroup` can be written), then `bwrap` gives it a file system of its own — the system
 *    (/usr, /etc...) read-only, a private copy of its folder (owned by its uid) at the folder's
 *    path as its only writable place besides a private /tmp, the shared `_` folders read-only, a
 *    client program's working folder outside its own (an adapter's `cwd`) read-only, protosim's
 *    program (package.json, bin/, dist/, node_modules/) read-only only when its command names
 *    `{protosim}`; never the suite, protosim's folder, another submission or the grades — and its
 *    own PID, IPC and UTS namespaces; `prlimit` bounds CPU time and file size; `setpriv` drops it
 *    to a fresh unprivileged uid/gid (no groups, no capabilities, not even in the bounding set,
 *    no-new-privs) before any of its code runs.
 *
 * `close()` after the worker ended kills whatever still runs as the submission's uid or in its
 * cgroups, waits until none is left, and removes the copy: only then is the score written.
 */
import { spawnSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { chmodSync, chownSync, cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve, sep } from 'node:path';
import { sandboxVariable } from '../launcher.js';
import type { Submission } from './load-submissions.js';

export interface SandboxLimits {
  /** CPU seconds of each process (RLIMIT_CPU) */
  cpuSeconds: number;
  /** largest file a process may write (RLIMIT_FSIZE) */
  fileBytes: number;
  /** processes and threads of the whole sandbox, worker included (cgroup pids.max) */
  processes: number;
  /** memory of the whole sandbox, worker included (cgroup memory limit) */
  memoryBytes: number;
}

export const defaultSandboxLimits: Omit<SandboxLimits, 'cpuSeconds'> = {
  fileBytes: 16 * 1024 * 1024,
  processes: 256,
  memoryBytes: 1024 * 1024 * 1024,
};

export interface SandboxPlan {
  /** protosim's own folder: hidden; its program (package.json, bin/, dist/, node_modules/) shown read-only to a submission whose command names {protosim} */
  protosimRoot: string;
  /** the suite's folder: hidden */
  suiteDir: string;
  /** the folder of submissions: hidden (only this submission's copy and the shared `_` folders show) */
  submissionsRoot: string;
  /** the output folder: hidden */
  outDir: string;
  limits: SandboxLimits;
}

export interface Sandbox {
  /** the host uid and gid the submission runs as */
  uid: number;
  gid: number;
  /** the private copy of the submission's folder (host path) */
  copy: string;
  /** the worker's command: in the network namespace it shares with the submission, with the submission's sandbox to start its programs in */
  wrap(argv: readonly string[]): string[];
  /** the prefix every program of the submission is started under (launcher.ts, PROTOSIM_SANDBOX) */
  prefix: readonly string[];
  /** which limits hold: `cgroup v1 pids+memory`, or why not */
  limits: string;
  /** kills what is left of the submission, waits until it is gone, removes the copy; problems found */
  close(): Promise<string[]>;
}

const bubblewrapInstallHint =
  'protosim grade runs each submission in a bubblewrap sandbox; install it (Debian/Ubuntu: `sudo apt-get install bubblewrap`, Fedora: `sudo dnf install bubblewrap`) and grade as root, or give --no-sandbox to run the submissions unconfined as your own user (trusted code only)';

/** Undefined when a sandbox can be had here; otherwise why not and how to get one. */
export function sandboxUnavailable(): string | undefined {
  const which = spawnSync('bwrap', ['--version'], { stdio: 'ignore' });
  if (which.error !== undefined || which.status !== 0) return `bubblewrap (bwrap) is not installed: ${bubblewrapInstallHint}`;
  for (const tool of ['setpriv', 'prlimit']) {
    const t = spawnSync(tool, ['--version'], { stdio: 'ignore' });
    if (t.error !== undefined || t.status !== 0) return `${tool} (util-linux) is not installed: ${bubblewrapInstallHint}`;
  }
  if (process.getuid?.() !== 0) return `the sandbox drops each submission to a user of its own, which takes root: ${bubblewrapInstallHint}`;
  const probe = spawnSync('bwrap', ['--ro-bind', '/', '/', '--unshare-pid', '--unshare-net', '--cap-drop', 'ALL', '--', '/bin/true'], { stdio: 'ignore', timeout: 10_000 });
  if (probe.status !== 0) return `bubblewrap is installed but cannot make namespaces here: ${bubblewrapInstallHint}`;
  return undefined;
}

const inside = (path: string, dir: string): boolean => path === dir || path.startsWith(dir.endsWith(sep) ? dir : dir + sep);

function systemBinds(): string[] {
  const out: string[] = [];
  for (const dir of ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32', '/etc', '/opt']) {
    let st;
    try {
      st = lstatSync(dir);
    } catch {
      continue;
    }
    if (st.isSymbolicLink()) out.push('--symlink', readlinkSync(dir), dir);
    else out.push('--ro-bind', dir, dir);
  }
  return out;
}

/** cgroup folders for one sandbox (v1: one per controller, v2: one), with the limits written. */
function makeCgroups(name: string, limits: SandboxLimits): { dirs: string[]; description: string } {
  const root = '/sys/fs/cgroup';
  const made: string[] = [];
  try {
    if (existsSync(join(root, 'cgroup.controllers'))) {
      const dir = join(root, name);
      mkdirSync(dir);
      made.push(dir);
      writeFileSync(join(dir, 'pids.max'), String(limits.processes));
      writeFileSync(join(dir, 'memory.max'), String(limits.memoryBytes));
      writeFileSync(join(dir, 'memory.swap.max'), '0');
      return { dirs: made, description: `cgroup v2: pids.max=${limits.processes}, memory.max=${limits.memoryBytes}` };
    }
    const pids = join(root, 'pids', name);
    const memory = join(root, 'memory', name);
    mkdirSync(pids);
    made.push(pids);
    writeFileSync(join(pids, 'pids.max'), String(limits.processes));
    mkdirSync(memory);
    made.push(memory);
    writeFileSync(join(memory, 'memory.limit_in_bytes'), String(limits.memoryBytes));
    try {
      writeFileSync(join(memory, 'memory.memsw.limit_in_bytes'), String(limits.memoryBytes));
    } catch {
      // no swap accounting
    }
    return { dirs: made, description: `cgroup v1: pids.max=${limits.processes}, memory.limit_in_bytes=${limits.memoryBytes}` };
  } catch (error) {
    for (const dir of made.reverse()) removeCgroup(dir);
    return { dirs: [], description: `no cgroup limits (${(error as Error).message}): processes and memory are not bounded` };
  }
}

function removeCgroup(dir: string): void {
  try {
    rmdirSync(dir);
  } catch {
    // still busy or gone
  }
}

function cgroupPids(dirs: readonly string[]): number[] {
  const out: number[] = [];
  for (const dir of dirs) {
    try {
      for (const line of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n')) if (line.trim() !== '') out.push(Number(line));
    } catch {
      // gone
    }
  }
  return out;
}

/** Processes whose real or effective uid is `uid` (not zombies). */
export function processesOfUid(uid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const status = readFileSync(`/proc/${name}/status`, 'utf8');
      const uids = /^Uid:\s+(\d+)\s+(\d+)/m.exec(status);
      const state = /^State:\s+(\S)/m.exec(status);
      if (uids !== null && (Number(uids[1]) === uid || Number(uids[2]) === uid) && state?.[1] !== 'Z') out.push(Number(name));
    } catch {
      // gone
    }
  }
  return out;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Sandboxes not yet closed: removed at once if the grader is interrupted. */
const openSandboxes = new Set<() => void>();

/**
 * Synchronously kills what runs as any open sandbox's uid and removes its copy and cgroups (the
 * grader is interrupted: no time to wait). Best effort.
 */
export function removeSandboxesNow(): void {
  for (const remove of [...openSandboxes]) remove();
  openSandboxes.clear();
}

/** A uid (and gid) for one submission: random, high, unused by any account or process here. */
function freshUid(): number {
  for (;;) {
    const uid = randomInt(200_000, 2_000_000_000);
    if (processesOfUid(uid).length === 0) return uid;
  }
}

function chownTree(path: string, uid: number, gid: number): void {
  const st = lstatSync(path);
  if (st.isSymbolicLink()) return;
  chownSync(path, uid, gid);
  if (st.isDirectory()) for (const entry of readdirSync(path)) chownTree(join(path, entry), uid, gid);
}

/** True when a submission's commands name `{protosim}` (then protosim's program must be readable). */
function usesProtosim(submission: Submission): boolean {
  const words = submission.kind === 'server' ? [...submission.server.command, ...Object.values(submission.server.env ?? {})] : [...submission.adapter.spec.command, ...Object.values(submission.adapter.spec.env ?? {})];
  return words.some((w) => w.includes('{protosim}'));
}

/** A client program's working folder, when it lies outside the submission's folder (an adapter's `cwd`). */
function programFolderOutside(submission: Submission): string | undefined {
  if (submission.kind !== 'client') return undefined;
  const cwd = submission.adapter.spec.cwd ?? '.';
  // {adapterDir} is the only placeholder a folder needs; others are per client and stay inside.
  const dir = resolve(submission.adapter.dir, cwd.replaceAll('{adapterDir}', submission.adapter.dir));
  return inside(dir, submission.dir) || /\{[A-Za-z_]/.test(cwd.replaceAll('{adapterDir}', '')) ? undefined : dir;
}

/** The host folders of one sandbox: its staging folder, the submission's private copy and /tmp, the worker's /tmp. */
interface SandboxFolders {
  staging: string;
  copy: string;
  privateTmp: string;
  workerTmp: string;
}

/** Makes the sandbox of one submission (its private copy and /tmp, its uid, its cgroups). */
export function openSandbox(submission: Submission, plan: SandboxPlan): Sandbox {
  const uid = freshUid();
  const gid = uid;
  const folders = stageFolders(submission, uid, gid);
  const { staging, copy, workerTmp } = folders;
  const cgroups = makeCgroups(`protosim-${uid}`, plan.limits);
  const args = submissionArgs(submission, plan, folders, uid, gid);
  const joinCgroups = cgroups.dirs.map((d) => `echo $$ > ${d}/cgroup.procs`).join(' && ');
  const prefix = joinCgroups === '' ? args : ['/bin/sh', '-c', `${joinCgroups} && exec "$@"`, 'protosim-sandbox', ...args];
  const workerArgs = [
    'bwrap', '--dev-bind', '/', '/', '--unshare-net', '--die-with-parent',
    '--clearenv',
    '--setenv', 'PATH', '/usr/local/bin:/usr/bin:/bin',
    '--setenv', 'HOME', submission.dir,
    '--setenv', 'LANG', 'C.UTF-8',
    '--setenv', 'TMPDIR', workerTmp,
    '--setenv', sandboxVariable, JSON.stringify(prefix),
    '--',
  ];

  const removeNow = (): void => {
    for (const pid of [...processesOfUid(uid), ...cgroupPids(cgroups.dirs)]) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    for (const dir of cgroups.dirs) removeCgroup(dir);
    rmSync(staging, { recursive: true, force: true });
  };
  openSandboxes.add(removeNow);

  return {
    uid,
    gid,
    copy,
    limits: cgroups.description,
    prefix,
    wrap: (argv) => [...workerArgs, ...argv],
    close: () => closeSandbox(uid, cgroups.dirs, staging, removeNow),
  };
}

/** Makes the sandbox's folders: the submission's copy (owned by its uid), its /tmp, the worker's /tmp. */
function stageFolders(submission: Submission, uid: number, gid: number): SandboxFolders {
  const staging = mkdtempSync(join(tmpdir(), 'protosim-sandbox-'));
  chmodSync(staging, 0o711);
  const copy = join(staging, 'submission');
  cpSync(submission.dir, copy, { recursive: true, verbatimSymlinks: true });
  chownTree(copy, uid, gid);
  const privateTmp = join(staging, 'tmp');
  // 1777 as /tmp is (not 0700 and the submission's): bubblewrap walks through it without any
  // capability that would let root pass a folder it does not own.
  mkdirSync(privateTmp);
  chmodSync(privateTmp, 0o1777);
  // the worker's own temporary files (none expected), out of the submission's reach
  const workerTmp = join(staging, 'worker-tmp');
  mkdirSync(workerTmp, { mode: 0o700 });
  return { staging, copy, privateTmp, workerTmp };
}

/** The submission's side of the prefix: `bwrap` with its own file system and namespaces, then prlimit and setpriv to its uid. */
function submissionArgs(submission: Submission, plan: SandboxPlan, folders: SandboxFolders, uid: number, gid: number): string[] {
  const args: string[] = ['bwrap', ...systemBinds(), '--proc', '/proc', '--dev', '/dev'];
  // Folders bubblewrap makes on its own for a mount point are 0700 (root's): make them 0755, so the
  // submission's user can walk to what it may read.
  const made = new Set<string>(['/']);
  const mountAt = (...op: string[]): void => {
    const dest = op[op.length - 1]!;
    const parents: string[] = [];
    for (let d = dirname(dest); !made.has(d) && d !== dirname(d); d = dirname(d)) parents.unshift(d);
    for (const d of parents) {
      made.add(d);
      args.push('--dir', d);
    }
    made.add(dest);
    args.push(...op);
  };
  mountAt('--bind', folders.privateTmp, '/tmp');
  // What the submission may read besides the system: node, protosim's program when it runs it, a
  // client program's folder outside its own. Parents before children.
  const shown = new Set<string>([dirname(process.execPath)]);
  if (usesProtosim(submission)) for (const part of ['package.json', 'bin', 'dist', 'node_modules']) shown.add(join(plan.protosimRoot, part));
  const programFolder = programFolderOutside(submission);
  if (programFolder !== undefined) shown.add(programFolder);
  const readable = [...shown].filter((p) => existsSync(p) && !['/usr', '/bin', '/sbin', '/lib', '/lib64', '/etc'].some((sys) => inside(p, sys))).sort((a, b) => a.length - b.length);
  const binds = readable.filter((p, i) => !readable.slice(0, i).some((q) => inside(p, q)));
  for (const p of binds) mountAt('--ro-bind', p, p);
  // What a folder shown above would reveal and the submission must not see: covered by empty folders.
  for (const hidden of [plan.suiteDir, plan.submissionsRoot, plan.outDir]) if (binds.some((p) => inside(hidden, p))) mountAt('--tmpfs', hidden);
  // Shared files of the class (`_shared/`); not `.` folders (.git of the whole class, for one).
  const shared = readdirSync(plan.submissionsRoot).filter((e) => e.startsWith('_') && lstatSync(join(plan.submissionsRoot, e)).isDirectory());
  for (const e of shared) mountAt('--ro-bind', join(plan.submissionsRoot, e), join(plan.submissionsRoot, e));
  mountAt('--bind', folders.copy, submission.dir);
  args.push(
    '--unshare-pid', '--as-pid-1', '--unshare-ipc', '--unshare-uts', '--unshare-cgroup-try', '--hostname', 'sandbox', '--die-with-parent',
    '--unsetenv', sandboxVariable,
    '--setenv', 'HOME', submission.dir,
    '--setenv', 'TMPDIR', '/tmp',
    // setpriv needs these to drop to the submission's uid and empty the bounding set; it then drops them all.
    '--cap-drop', 'ALL', '--cap-add', 'CAP_SETUID', '--cap-add', 'CAP_SETGID', '--cap-add', 'CAP_SETPCAP',
    '--',
    'prlimit', `--cpu=${plan.limits.cpuSeconds}`, `--fsize=${plan.limits.fileBytes}`, '--core=0', '--',
    'setpriv', `--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', '--inh-caps=-all', '--bounding-set=-all', '--no-new-privs', '--',
  );
  return args;
}

/** A sandbox's `close`: kills what is left of the submission until none is, removes its cgroups and folders; problems found. */
async function closeSandbox(uid: number, cgroupDirs: readonly string[], staging: string, removeNow: () => void): Promise<string[]> {
  const problems: string[] = [];
  const deadline = performance.now() + 5000;
  for (;;) {
    const left = [...new Set([...processesOfUid(uid), ...cgroupPids(cgroupDirs)])];
    if (left.length === 0) break;
    if (performance.now() > deadline) {
      problems.push(`processes of the submission still alive after SIGKILL: ${left.join(', ')}`);
      break;
    }
    for (const pid of left) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    await sleep(50);
  }
  for (const dir of cgroupDirs) removeCgroup(dir);
  rmSync(staging, { recursive: true, force: true });
  openSandboxes.delete(removeNow);
  return problems;
}
