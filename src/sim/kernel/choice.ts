/**
 * Choice sources: what the drivers of the kernel ask when the world leaves something open (STYLE 4:
 * inject the choice, not the randomness). The kernel's rules never decide a delay, a loss or a think
 * time themselves; they ask a `ChoiceSource`, which does not say how it answers:
 *
 * - `PrngChoices`: the seeded PRNG of a random run (the same draws, in the same streams, as
 *   protosim always made, so recorded traces do not move);
 * - `ControlledChoices`: a given sequence of answers, per purpose, so a schedule can be replayed or
 *   imposed (the timed realisation of an exhaustive counterexample uses it);
 * - the exhaustive explorer's enumerated choice is not a source of values but of events: it asks
 *   `UntimedSystem.enumerate` for every enabled event and takes each in turn (src/sim/explore);
 * - a live run's choices are made by the wall clock and the real processes (src/conformance).
 */
import type { Distribution } from '../config.js';
import { Prng } from '../prng.js';

/** What a choice is for. */
export type ChoicePurpose =
  /** a message's (or a connection event's) time on the network, ms */
  | 'delay'
  /** whether a message on a non-FIFO link is held back, letting later ones overtake */
  | 'reorder'
  /** the extra time a held-back message waits, ms (the link's delay is drawn again) */
  | 'reorder-delay'
  /** whether the network loses a message */
  | 'loss'
  /** whether the network duplicates a message */
  | 'duplicate'
  /** a person's think time between a prompt and the typed line, ms */
  | 'think'
  /** whether a live proxy writes a message as several writes, so the peer's reads see parts */
  | 'split'
  /** how many writes a split message becomes (at least 2) */
  | 'split-parts'
  /** whether a live proxy writes a message together with the ones after it, in one write */
  | 'merge'
  /** how many messages one merged write carries (at least 2) */
  | 'merge-messages';

export interface ChoiceSource {
  /** An integer drawn from a distribution (a delay, a think time). */
  sample(purpose: ChoicePurpose, d: Distribution): number;
  /** True with probability `ratio` (a loss, a duplication, a reordering). */
  chance(purpose: ChoicePurpose, ratio: number): boolean;
}

/** Draws an integer delay from a distribution. */
export function sample(prng: Prng, d: Distribution): number {
  switch (d.kind) {
    case 'fixed':
      return d.ms;
    case 'uniform':
      return prng.int(d.minMs, d.maxMs);
    case 'exponential': {
      const x = -d.meanMs * Math.log(1 - prng.float());
      return Math.min(d.maxMs, Math.round(x));
    }
  }
}

/** The bounds a distribution's draws stay within, ms. */
export function distributionBounds(d: Distribution): { minMs: number; maxMs: number } {
  switch (d.kind) {
    case 'fixed':
      return { minMs: d.ms, maxMs: d.ms };
    case 'uniform':
      return { minMs: d.minMs, maxMs: d.maxMs };
    case 'exponential':
      return { minMs: 0, maxMs: d.maxMs };
  }
}

/**
 * The seeded choices of a random run: the network's from the seed's `net` stream, people's think
 * times from its `workload` stream (two streams, so a change of workload does not move the
 * network's draws).
 */
export class PrngChoices implements ChoiceSource {
  private readonly net: Prng;
  private readonly workload: Prng;

  constructor(seed: number) {
    this.net = Prng.derive(seed, 'net');
    this.workload = Prng.derive(seed, 'workload');
  }

  sample(purpose: ChoicePurpose, d: Distribution): number {
    return sample(purpose === 'think' ? this.workload : this.net, d);
  }

  chance(purpose: ChoicePurpose, ratio: number): boolean {
    return (purpose === 'think' ? this.workload : this.net).chance(ratio);
  }
}

/** The answers a controlled run is given, per purpose, in the order the run asks. */
export type ChoiceScript = Partial<Record<ChoicePurpose, readonly (number | boolean)[]>>;

/** Thrown when a controlled run asks more than its script holds and no fallback is given. */
export class ChoiceScriptExhausted extends Error {}

/**
 * A given sequence of choices (a schedule to replay or impose). Each purpose has its own list,
 * consumed in order; when a list runs out, the fallback answers (or, without one, the run stops
 * with `ChoiceScriptExhausted`). Records every answer it gave, so a controlled run is replayable
 * from its record alone.
 */
export class ControlledChoices implements ChoiceSource {
  private readonly cursor = new Map<ChoicePurpose, number>();
  /** every answer given, in order */
  readonly given: { purpose: ChoicePurpose; value: number | boolean }[] = [];

  constructor(
    private readonly script: ChoiceScript,
    private readonly fallback: ChoiceSource | null = null,
  ) {}

  private next(purpose: ChoicePurpose): number | boolean | undefined {
    const list = this.script[purpose];
    const at = this.cursor.get(purpose) ?? 0;
    if (list === undefined || at >= list.length) return undefined;
    this.cursor.set(purpose, at + 1);
    return list[at];
  }

  sample(purpose: ChoicePurpose, d: Distribution): number {
    let v = this.next(purpose);
    if (typeof v !== 'number') {
      if (this.fallback === null) throw new ChoiceScriptExhausted(`controlled choices: no ${purpose} value left (asked ${this.used(purpose) + 1} times)`);
      v = this.fallback.sample(purpose, d);
    }
    this.given.push({ purpose, value: v });
    return v;
  }

  chance(purpose: ChoicePurpose, ratio: number): boolean {
    // A choice the scenario never leaves open (ratio 0 or 1) takes no answer, as the PRNG draws none.
    if (ratio <= 0) return false;
    if (ratio >= 1) return true;
    let v = this.next(purpose);
    if (typeof v !== 'boolean') {
      if (this.fallback === null) {
        throw new ChoiceScriptExhausted(`controlled choices: no ${purpose} answer left (asked ${this.used(purpose) + 1} times)`);
      }
      v = this.fallback.chance(purpose, ratio);
    }
    this.given.push({ purpose, value: v });
    return v;
  }

  /** How many answers of a purpose were taken from the script. */
  used(purpose: ChoicePurpose): number {
    return this.cursor.get(purpose) ?? 0;
  }
}
