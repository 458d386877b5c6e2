/**
 * How a job of the launcher (launcher.ts) is contained: its own PID namespace where one can be had
 * (unshare as root, bubblewrap, an unprivileged user namespace), detected once per process, else a
 * process group plus a sweep; and the submission sandbox a grading worker's jobs run under.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { platform } from 'node:os';

export type IsolationKind = 'pid-namespace' | 'bubblewrap' | 'user-namespace' | 'process-group';

export interface Isolation {
  kind: IsolationKind;
  /** the wrapper command put before the init */
  prefix: readonly string[];
  /** for reports: how processes are contained */
  description: string;
  /** true when the job has its own PID namespace */
  namespaced: boolean;
}

const candidates: readonly Isolation[] = [
  {
    kind: 'pid-namespace',
    prefix: ['unshare', '--pid', '--fork', '--kill-child', '--mount-proc'],
    description: 'own PID namespace (unshare --pid --fork --kill-child)',
    namespaced: true,
  },
  {
    kind: 'bubblewrap',
    prefix: ['bwrap', '--dev-bind', '/', '/', '--unshare-pid', '--die-with-parent', '--as-pid-1', '--proc', '/proc'],
    description: 'own PID namespace (bwrap --unshare-pid --die-with-parent)',
    namespaced: true,
  },
  {
    kind: 'user-namespace',
    prefix: ['unshare', '--user', '--map-root-user', '--pid', '--fork', '--kill-child', '--mount-proc'],
    description: 'own user and PID namespace (unshare --user --pid --fork --kill-child)',
    namespaced: true,
  },
];

const processGroup: Isolation = {
  kind: 'process-group',
  prefix: [],
  description: 'process group plus a sweep of its marked descendants (no PID namespace available here)',
  namespaced: false,
};

/** The isolation found here (or forced), once per process. */
let detected: Isolation | undefined;

/** Forces an isolation kind (tests: the fallback where namespaces exist); undefined: detect again. */
export function overrideIsolation(kind: IsolationKind | undefined): Isolation {
  detected = undefined;
  if (kind === 'process-group') return (detected = processGroup);
  if (kind !== undefined) {
    const c = candidates.find((x) => x.kind === kind);
    if (c !== undefined) return (detected = c);
  }
  return isolation();
}

/**
 * The sandbox option (`protosim grade`, src/conformance/grading/sandbox.ts): a grading worker runs
 * with `PROTOSIM_SANDBOX` set to a JSON array, the command prefix the grader built for its
 * submission (its cgroups, then `bwrap` with the submission's own file system, PID, IPC and UTS
 * namespaces, `prlimit` CPU-time and file-size limits, and `setpriv` to its unprivileged uid: no
 * groups, no capabilities, not even in the bounding set). Every job the worker starts runs under
 * it (the submission's server, its client programs), except a job launched `trusted` (protosim's
 * own reference server of a client suite: it stays the grader's, outside the sandbox). Unset:
 * nothing changes.
 */
export const sandboxVariable = 'PROTOSIM_SANDBOX';

/** The submission sandbox's prefix the grader asked for, or undefined. */
export function sandboxPrefix(env: Readonly<Record<string, string | undefined>> = process.env): string[] | undefined {
  const spec = env[sandboxVariable];
  if (spec === undefined || spec === '') return undefined;
  let prefix: unknown;
  try {
    prefix = JSON.parse(spec);
  } catch {
    prefix = undefined;
  }
  if (!Array.isArray(prefix) || prefix.length === 0 || !prefix.every((a) => typeof a === 'string')) throw new Error(`${sandboxVariable}: expected a JSON array of strings (a command prefix)`);
  const reuid = (prefix as string[]).find((a) => a.startsWith('--reuid='));
  if (!prefix.includes('setpriv') || reuid === undefined || reuid === '--reuid=0') throw new Error(`${sandboxVariable}: refusing a sandbox that does not drop to an unprivileged uid with setpriv`);
  return prefix as string[];
}

/** The isolation of a sandboxed job: the grader's bwrap gives it a PID namespace where the init is PID 1. */
function sandboxIsolation(prefix: readonly string[]): Isolation {
  return { kind: 'bubblewrap', prefix, description: "the submission's sandbox (bubblewrap: own PID, mount and IPC namespaces, an unprivileged uid)", namespaced: true };
}

/** The isolation of a new job: the submission's sandbox when there is one, unless the job is protosim's own. */
export function jobIsolation(trusted: boolean): Isolation {
  const prefix = trusted ? undefined : sandboxPrefix();
  return prefix === undefined ? isolation() : sandboxIsolation(prefix);
}

/**
 * The isolation in use: the first that works here, tried once per process (a few ms).
 * `PROTOSIM_ISOLATION=process-group` (or another kind) forces one, for tests.
 */
export function isolation(): Isolation {
  if (detected !== undefined) return detected;
  const forced = process.env.PROTOSIM_ISOLATION;
  if (forced === 'process-group') return (detected = processGroup);
  const tried = forced === undefined ? candidates : candidates.filter((c) => c.kind === forced);
  detected = processGroup;
  if (platform() === 'linux' && existsSync('/proc/self/stat')) {
    for (const c of tried) {
      const probe = spawnSync(c.prefix[0]!, [...c.prefix.slice(1), '/bin/sh', '-c', 'test "$$" = 1'], { stdio: 'ignore', timeout: 5000 });
      if (probe.status === 0) {
        detected = c;
        break;
      }
    }
  }
  return detected;
}
