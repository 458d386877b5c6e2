/**
 * What a proxy tells its observers, and the controller hook: every message seen, held, dropped and
 * written, each named by its stream and index, so a report, a fuzzer or a schedule explorer sees
 * the same messages the proxy decides about.
 */
import type { MessageRef } from './proxy-choices.js';

/** A message as the proxy first sees it. */
export interface SeenMessage extends MessageRef {
  /** the message's bytes (gob type definitions sent before it included) */
  bytes: Buffer;
  /** what the proxy's `preview` made of it, if one was given */
  preview?: string;
}

/** A message the proxy holds, until `release`. */
export interface HeldMessage extends MessageRef {
  bytes: number;
  preview?: string;
}

export type ProxyEvent =
  | ({ kind: 'seen' } & SeenMessage)
  | ({ kind: 'held' } & HeldMessage)
  | ({ kind: 'released' } & MessageRef)
  | ({ kind: 'dropped' } & MessageRef)
  /** a piece of a message was written to the peer: copy 0 is the original, part of parts */
  | ({ kind: 'written'; copy: number; part: number; parts: number; bytes: number } & MessageRef);

export type ProxyListener = (event: ProxyEvent) => void;

/**
 * Decides about each message before the proxy's operations and policy do: `hold` keeps it for the
 * controller to `release` in the order it chooses (a schedule explorer holds every message);
 * `pass` lets the operations and the policy decide.
 */
export interface ProxyController {
  decide(message: SeenMessage): 'hold' | 'pass';
}
