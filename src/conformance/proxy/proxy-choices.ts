/**
 * The proxy's choices: what it asks the kernel's choice source (src/sim/kernel/choice.ts) when a
 * policy leaves a decision open, the record of every answer, and the replay of a record through
 * `ControlledChoices` (STYLE 4 and 19: inject the choice, record it, replay it).
 *
 * A record is kept per stream (one direction of one connection): messages within a stream arrive
 * in the order TCP gives them, so the questions a stream asks come in the same order on a second
 * run, whereas the interleaving of two streams' questions depends on the wall clock. Replaying one
 * `ControlledChoices` per stream therefore gives every message its recorded decisions, whatever the
 * interleaving.
 */
import type { Distribution } from '../../sim/config.js';
import { ControlledChoices, PrngChoices, type ChoicePurpose, type ChoiceScript, type ChoiceSource } from '../../sim/kernel/choice.js';

export type ProxyDirection = 'to-target' | 'from-target';

/** One direction of one connection through a proxy; connections are numbered from 0 in accept order. */
export interface StreamRef {
  connection: number;
  direction: ProxyDirection;
}

/** One message of one stream; `index` counts the stream's messages from 0. */
export interface MessageRef extends StreamRef {
  index: number;
}

/** One answer the proxy was given: what for, about which message, and the answer. */
export interface ProxyDecision extends MessageRef {
  purpose: ChoicePurpose;
  value: number | boolean;
}

/** Where a proxy's choices come from: one source for every stream, or one per stream. */
export type ProxyChoices = ChoiceSource | ((stream: StreamRef) => ChoiceSource);

/** The most decisions a proxy records before it stops recording (and says so). */
export const maxRecordedDecisions = 100_000;

/**
 * Asks a stream's choice source on behalf of one message and records the answer. Chances whose
 * ratio leaves nothing open (0 or 1) are not asked and not recorded, as `ControlledChoices` takes no
 * answer for them either, so a record replays one to one.
 */
export class StreamChooser {
  constructor(
    private readonly source: ChoiceSource,
    private readonly record: (decision: ProxyDecision) => void,
  ) {}

  chance(message: MessageRef, purpose: ChoicePurpose, ratio: number | undefined): boolean {
    if (ratio === undefined || ratio <= 0) return false;
    if (ratio >= 1) return true;
    const value = this.source.chance(purpose, ratio);
    this.record({ ...message, purpose, value });
    return value;
  }

  sample(message: MessageRef, purpose: ChoicePurpose, d: Distribution): number {
    const value = this.source.sample(purpose, d);
    this.record({ ...message, purpose, value });
    return value;
  }
}

/** The source a stream asks, given the proxy's choices. */
export function sourceFor(choices: ProxyChoices, stream: StreamRef): ChoiceSource {
  return typeof choices === 'function' ? choices(stream) : choices;
}

/** The answers of one stream in a record, as a script for `ControlledChoices`. */
export function scriptOf(decisions: readonly ProxyDecision[], stream: StreamRef): ChoiceScript {
  const script: Partial<Record<ChoicePurpose, (number | boolean)[]>> = {};
  for (const d of decisions) {
    if (d.connection !== stream.connection || d.direction !== stream.direction) continue;
    (script[d.purpose] ??= []).push(d.value);
  }
  return script;
}

/**
 * Choices that replay a record: each stream gets a `ControlledChoices` over its own recorded
 * answers. Without a fallback, a question the record has no answer for stops the stream's
 * decisions with `ChoiceScriptExhausted` (a replay that left the record says so).
 */
export function replayChoices(decisions: readonly ProxyDecision[], fallback: ChoiceSource | null = null): (stream: StreamRef) => ChoiceSource {
  return (stream) => new ControlledChoices(scriptOf(decisions, stream), fallback);
}

/**
 * Seeded choices with one PRNG per stream (derived from the seed, the connection and the
 * direction), so a stream's draws do not depend on how the streams interleave in time.
 */
export function seededChoices(seed: number): (stream: StreamRef) => ChoiceSource {
  return (stream) => new PrngChoices(streamSeed(seed, stream));
}

function streamSeed(seed: number, stream: StreamRef): number {
  let h = (seed >>> 0) ^ 0x9e3779b9;
  for (const n of [stream.connection + 1, stream.direction === 'to-target' ? 1 : 2]) h = Math.imul(h ^ n, 0x01000193) >>> 0;
  return h;
}
