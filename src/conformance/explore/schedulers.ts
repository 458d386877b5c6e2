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
  /** The client decision `step` is for, when the scheduler names one: the decision waits for its request. */
  awaits?(step: number): string | undefined;
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

/**
 * A schedule repeated by the clients' names (`--choices c1.c2.c1`): each decision waits for the
 * named client's request, so the repeat does not depend on which other clients happen to be
 * waiting at that moment on a slower or busier machine.
 */
export class NamedScheduler implements Scheduler {
  constructor(private readonly names: readonly string[]) {}

  awaits(step: number): string | undefined {
    return this.names[step];
  }

  choose(step: number, waiting: readonly string[]): number {
    return Math.max(0, waiting.indexOf(this.names[step] ?? ''));
  }
}

/** The enumeration's next prefix after a run that took `taken`: the last decision with an alternative left, advanced; null when every order was tried. */
export function nextPrefix(taken: readonly { of: number; chose: number }[]): number[] | null {
  for (let i = taken.length - 1; i >= 0; i--) {
    if (taken[i]!.chose + 1 < taken[i]!.of) return [...taken.slice(0, i).map((t) => t.chose), taken[i]!.chose + 1];
  }
  return null;
}

/** The option that kills `client` at a decision (`explore --target --kills`): its connection reset. */
export const killOption = (client: string): string => `kill ${client}`;

/**
 * PCT over the clients' requests, with `kills` kill points drawn from the same seed: at a kill
 * point (a decision, and a client), that client's kill is chosen when it is offered; every other
 * decision is PCT's among the requests. Options list the requests first, then the kills.
 */
export class PctKillScheduler implements Scheduler {
  private readonly pct: PctScheduler;
  private readonly killAt = new Map<number, string>();

  constructor(seed: number, clients: readonly string[], steps: number, depth: number, kills: number) {
    this.pct = new PctScheduler(seed, clients, steps, depth);
    const prng = new Prng((seed ^ 0x5bd1e995) >>> 0);
    for (let i = 0; i < kills && clients.length > 0; i++) this.killAt.set(prng.int(0, steps - 1), clients[prng.int(0, clients.length - 1)]!);
  }

  choose(step: number, options: readonly string[]): number {
    const victim = this.killAt.get(step);
    const kill = victim === undefined ? -1 : options.indexOf(killOption(victim));
    if (kill >= 0) return kill;
    const requests = options.filter((o) => !o.startsWith('kill '));
    return requests.length === 0 ? 0 : this.pct.choose(step, requests);
  }
}
