/**
 * The resident memory of a target, as the `memory-returned` bound reads it (Linux /proc): VmRSS
 * summed over the target's processes and their descendants (a wrapper script that starts the
 * server, a server that forks workers). The target's processes are the program protosim started
 * (a command target), or the processes holding its listening socket (an address target).
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { listeningInodes } from '../proc-net.js';

/** Where the target's memory is read: its processes, or why they cannot be found. */
export type MemoryWatch = { pids: () => number[] } | { unchecked: string };

const isPid = (name: string): boolean => /^\d+$/.test(name);

function procPids(): number[] {
  try {
    return readdirSync('/proc').filter(isPid).map(Number);
  } catch {
    return [];
  }
}

/** The processes holding one of the socket `inodes` (their fd links read `socket:[INODE]`). */
function socketOwners(inodes: readonly number[]): number[] {
  const wanted = new Set(inodes.map((i) => `socket:[${i}]`));
  const owners: number[] = [];
  for (const pid of procPids()) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      let link: string;
      try {
        link = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      if (wanted.has(link)) {
        owners.push(pid);
        break;
      }
    }
  }
  return owners;
}

/** `roots` and every process descended from one of them. */
export function processTree(roots: readonly number[]): number[] {
  const children = new Map<number, number[]>();
  for (const pid of procPids()) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue;
    }
    // pid (comm) state ppid ...: comm may hold spaces and parentheses; ppid follows the last ')'
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  }
  const out = new Set<number>();
  const queue = [...roots];
  while (queue.length > 0) {
    const pid = queue.shift()!;
    if (out.has(pid)) continue;
    out.add(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return [...out];
}

/**
 * The processes whose memory is the target's: `programTree` (a command target: the program and what
 * it started, read again at each sample), else the owners of the socket listening on `port` and theirs. Unchecked, and why, when none can
 * be found or the target runs inside protosim's own process (an in-process server: its memory and
 * the harness's cannot be told apart).
 */
export function watchTarget(port: number, transport: 'tcp' | 'udp', programTree: (() => number[]) | undefined): MemoryWatch {
  if (programTree !== undefined) return { pids: programTree };
  const inodes = listeningInodes(port, transport);
  if (inodes === undefined) return { unchecked: '/proc/net cannot be read here (not Linux)' };
  if (inodes.length === 0) return { unchecked: `no socket listening on port ${port} was found in /proc/net (in another network namespace?)` };
  const owners = socketOwners(inodes);
  if (owners.includes(process.pid)) return { unchecked: "the target runs inside protosim's own process: its memory cannot be told apart from the harness's" };
  if (owners.length === 0) return { unchecked: `the process listening on port ${port} is not visible (another user's, or another PID namespace): its memory cannot be read` };
  return { pids: () => processTree(owners) };
}

/** VmRSS of one process, bytes; undefined when it is gone or unreadable. */
function rssOf(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m === null ? undefined : Number(m[1]) * 1024;
  } catch {
    return undefined;
  }
}

/**
 * The resident memory of the watched processes now, bytes (the tree is read again: a worker forked
 * since counts); undefined when none of them can be read any more.
 */
export function residentBytes(watch: { pids: () => number[] }): number | undefined {
  let total = 0;
  let read = false;
  for (const pid of watch.pids()) {
    const rss = rssOf(pid);
    if (rss === undefined) continue;
    total += rss;
    read = true;
  }
  return read ? total : undefined;
}

/** Bytes in MiB with one decimal, for verdicts. */
export function mib(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}
