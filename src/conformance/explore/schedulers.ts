/**
 * How `protosim explore` picks the next request to let through at each decision: PCT (randomized
 * priorities with d − 1 priority change points, Burckhardt et al., ASPLOS 2010) beyond small bounds,
 * a stateless depth-first enumeration of every order within the bound, or a fixed list of choices
 * (a schedule repeated exactly). A decision is an index into the clients with a request waiting,
 * sorted by name; past the bound, requests go as they come.
 */
import { Prng } from '../../sim/prng.js';

export interface Scheduler {
  /** The client to let through at decision `step` (0-based), among those waiting (sorted by name). */
  choose(step: number, waiting: readonly string[]): number;
}

/** PCT's guarantee: a bug of depth d shows in one schedule with probability at least 1 / (n · k^(d−1)). */
export function pctBound(clients: number, steps: number, depth: number, schedules: number): { perSchedule: number; missAfter: number } {
  const perSchedule = 1 / (clients * Math.pow(steps, depth - 1));
  return { perSchedule, missAfter: Math.pow(1 - perSchedule, schedules) };
}

/** PCT: each client a random distinct priority above d; at the i-th change point the running client drops to priority i. */
export class PctScheduler implements Scheduler {
  private readonly priority = new Map<string, number>();
  private readonly changeAt: number[];

  constructor(
    seed: number,
    clients: readonly string[],
    steps: number,
    private readonly depth: number,
  ) {
    const prng = new Prng(seed);
    const order = [...clients];
    for (let i = order.length - 1; i > 0; i--) {
      const j = prng.int(0, i);
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    order.forEach((c, i) => this.priority.set(c, depth + i));
    const points = new Set<number>();
    while (points.size < Math.min(depth - 1, steps)) points.add(prng.int(0, steps - 1));
    this.changeAt = [...points].sort((a, b) => a - b);
  }

  choose(step: number, waiting: readonly string[]): number {
    let best = 0;
    for (let i = 1; i < waiting.length; i++) if ((this.priority.get(waiting[i]!) ?? 0) > (this.priority.get(waiting[best]!) ?? 0)) best = i;
    const change = this.changeAt.indexOf(step);
    if (change >= 0) this.priority.set(waiting[best]!, change + 1);
    return best;
  }
}

/** A fixed list of choices (an enumeration's prefix, or a schedule repeated); past its end, the first waiting client. */
export class ListScheduler implements Scheduler {
  /** at each decision: how many were waiting, and which was taken */
  readonly taken: { of: number; chose: number }[] = [];

  constructor(private readonly choices: readonly number[]) {}

  choose(step: number, waiting: readonly string[]): number {
    const chose = Math.min(this.choices[step] ?? 0, waiting.length - 1);
    this.taken.push({ of: waiting.length, chose });
    return chose;
  }
}

/** The enumeration's next prefix after a run that took `taken`: the last decision with an alternative left, advanced; null when every order was tried. */
export function nextPrefix(taken: readonly { of: number; chose: number }[]): number[] | null {
  for (let i = taken.length - 1; i >= 0; i--) {
    if (taken[i]!.chose + 1 < taken[i]!.of) return [...taken.slice(0, i).map((t) => t.chose), taken[i]!.chose + 1];
  }
  return null;
}
