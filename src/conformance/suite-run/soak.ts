/**
 * A soak: a case whose steps run `rounds` times over (`${round}` the round's number), each round
 * leaving the server's model as it found it. The soak checks that (the model after the first round
 * and after the last hold as much) and, when the run checks the named bounds, `memory-returned`
 * (src/models/live-bounds.ts): the resident memory of the target's processes after the warm-up
 * rounds and after the last may differ by at most the bound's slack. A server that keeps something
 * per request, message, connection or user that left grows with every round.
 */
import { boundNames, type MemoryReturned } from '../../models/live-bounds.js';
import { StepError, StepFailure, StepSkip } from '../engine/verdicts.js';
import type { CaseContext } from './case-context.js';
import { sleep } from './case-context.js';
import { mib, residentBytes, watchTarget, type MemoryWatch } from './process-memory.js';

/** What a model holds, as a soak compares it: entries (keys, list elements) and characters of text; numbers (counters) aside. */
export interface ModelHeld {
  entries: number;
  chars: number;
}

/** Counts what `value` holds: every key and element, every character of its strings. */
export function modelHeld(value: unknown): ModelHeld {
  const held = { entries: 0, chars: 0 };
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === 'string') held.chars += v.length;
    else if (Array.isArray(v)) {
      held.entries += v.length;
      stack.push(...v);
    } else if (typeof v === 'object' && v !== null) {
      for (const [k, x] of Object.entries(v)) {
        held.entries++;
        held.chars += k.length;
        stack.push(x);
      }
    }
  }
  return held;
}

/** The model's state as the soak reads it: the server model's context, or the kv stores the case's clients use. */
function modelNow(cx: CaseContext): unknown {
  if (cx.streamOracle !== undefined) return cx.streamOracle.context();
  const stores = new Set([...cx.clients.values()].map((c) => c.store ?? ''));
  return [...stores].map((store) => cx.kvHistory.oracle.context(store));
}

/** How many times a sample over the bound is taken again (a GC that was due may give memory back meanwhile). */
const resamples = 3;
const resampleGapMs = 300;

export class Soak {
  /** the round after which memory is first read */
  readonly warmRound: number;
  private firstHeld: ModelHeld | undefined;
  private watch: MemoryWatch | undefined;
  private warmBytes: number | undefined;
  private endBytes: number | undefined;
  private allowedBytes = 0;

  constructor(
    readonly rounds: number,
    readonly stepsPerRound: number,
    private readonly cx: CaseContext,
    /** the bound, when the run checks the named bounds */
    private readonly bound: MemoryReturned | undefined,
  ) {
    this.warmRound = Math.min(rounds - 1, Math.max(1, Math.round(rounds * (bound?.warmupFraction ?? 0.2))));
  }

  /** The round (1...) of the step at `index` of the case's steps run over (a cleanup step: the last round). */
  roundOf(index: number): number {
    return Math.min(this.rounds, Math.floor(index / this.stepsPerRound) + 1);
  }

  /** Before the step at `index`: `${round}` is its round; a round starts with no captures (`$sid` is each round's own). */
  beginStep(index: number): void {
    const cx = this.cx;
    cx.vars.round = this.roundOf(index);
    if (index > 0 && index % this.stepsPerRound === 0 && index < this.rounds * this.stepsPerRound) {
      cx.captures.clear();
      cx.modelCaptures.clear();
    }
  }

  /** Before the first round: where the target's memory is read. */
  start(): void {
    if (this.bound === undefined) return;
    const cx = this.cx;
    this.watch = watchTarget(cx.port, cx.target.transport === 'quic' ? 'udp' : 'tcp', cx.process !== undefined ? () => cx.process!.programTree() : undefined);
    // the rounds judge nothing the other cases do not: without the memory to read, they are not run
    if ('unchecked' in this.watch) throw new StepSkip(`${boundNames.memoryReturned} not checked: ${this.watch.unchecked}; the soak's ${this.rounds} rounds were not run`);
  }

  /** The step at `index` held: at a round's end, what the soak samples. */
  async stepHeld(index: number): Promise<void> {
    if ((index + 1) % this.stepsPerRound !== 0) return;
    const round = (index + 1) / this.stepsPerRound;
    if (round === 1) this.firstHeld = modelHeld(modelNow(this.cx));
    if (round === this.warmRound && this.watch !== undefined && 'pids' in this.watch) this.warmBytes = residentBytes(this.watch);
  }

  /**
   * After the last round: the model must hold what it held after the first (else the case is not a
   * soak: ERROR), and the target's memory must be within the bound (else FAIL naming it; SKIP when
   * it cannot be read).
   */
  async judge(): Promise<void> {
    const last = modelHeld(modelNow(this.cx));
    const first = this.firstHeld!;
    if (last.entries > first.entries || last.chars > first.chars) {
      throw new StepError(
        'suite',
        `the soak's rounds are not net-zero in the model: after round 1 it held ${first.entries} entries (${first.chars} characters), after round ${this.rounds} ${last.entries} (${last.chars}); each round must leave the model as it found it (users that register then leave, a key set then unset), else growing memory is no leak`,
      );
    }
    if (this.bound === undefined || this.watch === undefined) return;
    const name = boundNames.memoryReturned;
    if ('unchecked' in this.watch) return;
    const warm = this.warmBytes;
    if (warm === undefined) throw new StepSkip(`${name} not checked: the target's memory could not be read (/proc/PID/status) (the ${this.rounds} rounds held)`);
    this.allowedBytes = Math.max(this.bound.slackBytes, this.bound.slackFraction * warm);
    let end = residentBytes(this.watch);
    for (let i = 0; i < resamples && end !== undefined && end - warm > this.allowedBytes; i++) {
      await sleep(resampleGapMs);
      const again = residentBytes(this.watch);
      if (again !== undefined) end = Math.min(end, again);
    }
    if (end === undefined) throw new StepSkip(`${name} not checked: the target's memory could not be read after the last round (the ${this.rounds} rounds held)`);
    this.endBytes = end;
    const growth = end - warm;
    if (growth <= this.allowedBytes) return;
    const perRound = growth / (this.rounds - this.warmRound);
    throw new StepFailure(
      `${name}: the target's memory grew by ${mib(growth)} over rounds ${this.warmRound + 1} to ${this.rounds}, each of which left the model holding no more than before (${mib(warm)} after round ${this.warmRound}, ${mib(end)} after round ${this.rounds}; the bound allows ${mib(this.allowedBytes)}): about ${Math.round(perRound / 1024)} KiB kept per round, without limit over a long run`,
      `at most ${mib(this.allowedBytes)} more resident memory (max(${mib(this.bound.slackBytes)}, ${Math.round(this.bound.slackFraction * 100)} % of ${mib(warm)}))`,
      `${mib(growth)} more`,
    );
  }

  /** The figures of a soak that held, for its PASS reason. */
  passNote(): string {
    if (this.warmBytes === undefined || this.endBytes === undefined) return `all ${this.rounds} rounds of ${this.stepsPerRound} steps held`;
    return `all ${this.rounds} rounds of ${this.stepsPerRound} steps held; ${boundNames.memoryReturned}: ${mib(this.warmBytes)} resident after round ${this.warmRound}, ${mib(this.endBytes)} after round ${this.rounds} (growth ${mib(this.endBytes - this.warmBytes)}, allowed ${mib(this.allowedBytes)})`;
  }
}
