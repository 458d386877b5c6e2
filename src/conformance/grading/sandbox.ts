/**
 * A sandbox per submission for `protosim grade` (docs/grading.md, "The sandbox"), with bubblewrap:
 *
 *  - the grading worker of one submission runs in `bwrap` as root with every capability dropped but
 *    those it needs to start and stop the submission (CAP_SETUID, CAP_SETGID, CAP_KILL,
 *    CAP_SYS_PTRACE for the launcher's sweep), in its own PID, network (loopback only: the worker
 *    and the submission talk over it, nothing on the host is reachable), IPC and UTS namespaces;
 *  - every process of the submission is started by the worker's launcher through `setpriv` as a
 *    dedicated unprivileged uid/gid on the host (no groups, no capabilities, no-new-privs) under
 *    `prlimit` CPU-time and file-size limits (launcher.ts, `PROTOSIM_SANDBOX_DROP`);
 *  - the file system: the system (/usr, /etc...) and protosim's own folder read-only; the folder of
 *    submissions and the output folder covered by empty tmpfs; the shared `_`/`.` folders read-only;
 *    a private copy of the submission's folder (owned by its uid) bound at the folder's path, its
 *    only writable place besides a private /tmp;
 *  - a minimal environment (PATH, HOME, LANG, TMPDIR);
 *  - cgroup limits on processes (pids.max) and memory, v1 or v2, when the cgroup file system can be
 *    written here (`limits` says which held).
 *
 * `close()` after the worker ended kills whatever still runs as the submission's uid or in its
 * cgroups, waits until none is left, and removes the copy: only then is the score written.
 */
import { spawnSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { chmodSync, chownSync, cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve, sep } from 'node:path';
import { sandboxDropVariable } from '../launcher.js';
import type { Submission } from './loadSubmissions.js';

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
  /** protosim's own folder (dist/, node_modules/, scenarios/, adapters/...): read-only */
  protosimRoot: string;
  /** the folder of submissions: hidden (only this submission's copy and the shared folders show) */
  submissionsRoot: string;
  /** the output folder: hidden */
  outDir: string;
  /** more folders the worker must read (the suite's folder when outside protosim's) */
  readOnly: readonly string[];
  limits: SandboxLimits;
}

export interface Sandbox {
  /** the host uid and gid the submission runs as */
  uid: number;
  gid: number;
  /** the private copy of the submission's folder (host path) */
  copy: string;
  /** the worker's command wrapped in the sandbox */
  wrap(argv: readonly string[]): string[];
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

/** Makes the sandbox of one submission (its private copy, its uid, its cgroups). */
export function openSandbox(submission: Submission, plan: SandboxPlan): Sandbox {
  const uid = freshUid();
  const gid = uid;
  const staging = mkdtempSync(join(tmpdir(), 'protosim-sandbox-'));
  chmodSync(staging, 0o711);
  const copy = join(staging, 'submission');
  cpSync(submission.dir, copy, { recursive: true, verbatimSymlinks: true });
  chownTree(copy, uid, gid);
  const cgroups = makeCgroups(`protosim-${uid}`, plan.limits);

  const args: string[] = [
    'bwrap',
    '--die-with-parent', '--new-session',
    '--unshare-pid', '--unshare-net', '--unshare-ipc', '--unshare-uts', '--unshare-cgroup-try',
    '--hostname', 'sandbox',
    ...systemBinds(),
    '--proc', '/proc', '--dev', '/dev',
  ];
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
  mountAt('--perms', '1777', '--tmpfs', '/tmp');
  const readOnly = [plan.protosimRoot, ...plan.readOnly, dirname(process.execPath)];
  if (submission.kind === 'client' && submission.adapter.file !== '' && !inside(submission.adapter.dir, submission.dir)) {
    readOnly.push(submission.adapter.dir, resolve(submission.adapter.dir, submission.adapter.spec.cwd ?? '.'));
  }
  for (const dir of readOnly) if (existsSync(dir) && !inside(dir, '/usr')) mountAt('--ro-bind', dir, dir);
  // What a read-only folder above would show and the submission must not see.
  for (const hidden of [plan.submissionsRoot, plan.outDir]) mountAt('--tmpfs', hidden);
  const shared = readdirSync(plan.submissionsRoot).filter((e) => (e.startsWith('_') || e.startsWith('.')) && lstatSync(join(plan.submissionsRoot, e)).isDirectory());
  for (const e of shared) mountAt('--ro-bind', join(plan.submissionsRoot, e), join(plan.submissionsRoot, e));
  mountAt('--bind', copy, submission.dir);
  args.push('--chdir', submission.dir);
  args.push(
    '--clearenv',
    '--setenv', 'PATH', '/usr/local/bin:/usr/bin:/bin',
    '--setenv', 'HOME', submission.dir,
    '--setenv', 'LANG', 'C.UTF-8',
    '--setenv', 'TMPDIR', '/tmp',
    '--setenv', 'PROTOSIM_ISOLATION', 'process-group',
    '--setenv', sandboxDropVariable, `${uid}:${gid}:${plan.limits.cpuSeconds}:${plan.limits.fileBytes}`,
    '--cap-drop', 'ALL',
    '--cap-add', 'CAP_SETUID', '--cap-add', 'CAP_SETGID', '--cap-add', 'CAP_KILL', '--cap-add', 'CAP_SYS_PTRACE',
    '--',
  );
  const join_ = cgroups.dirs.map((d) => `echo $$ > ${d}/cgroup.procs`).join(' && ');

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
    wrap: (argv) => (join_ === '' ? [...args, ...argv] : ['/bin/sh', '-c', `${join_} && exec "$@"`, 'protosim-sandbox', ...args, ...argv]),
    close: async () => {
      const problems: string[] = [];
      const deadline = performance.now() + 5000;
      for (;;) {
        const left = [...new Set([...processesOfUid(uid), ...cgroupPids(cgroups.dirs)])];
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
      for (const dir of cgroups.dirs) removeCgroup(dir);
      rmSync(staging, { recursive: true, force: true });
      openSandboxes.delete(removeNow);
      return problems;
    },
  };
}
