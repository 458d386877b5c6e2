/** Finding the processes a test started (by a marker in their environment) in /proc. */
import { readdirSync, readFileSync } from 'node:fs';

/** Pids of live processes whose environment holds `marker`. */
export function markedPids(marker: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue;
      if (readFileSync(`/proc/${name}/environ`, 'latin1').includes(`LIFECYCLE_MARKER=${marker}\0`)) out.push(Number(name));
    } catch {
      // gone, or not ours
    }
  }
  return out;
}

/** Waits until no process carries the marker; the ones left after `ms`. */
export async function leftAfter(marker: string, ms = 3000): Promise<number[]> {
  const until = performance.now() + ms;
  for (;;) {
    const left = markedPids(marker);
    if (left.length === 0 || performance.now() > until) return left;
    await new Promise((r) => setTimeout(r, 25));
  }
}
