/**
 * What the offline-queue server accepts: names, messages, patterns, how many accounts and queued
 * messages. Pure; read by the server rules (serve.ts), so the model and the reference server
 * refuse exactly the same input. Every count is in characters = Unicode code points (match.ts).
 *
 * Readings decided here:
 *  - an account name has 1..maxNameChars (25, the seed's "assumption") characters and contains
 *    none of `:` (it separates sender and text in `sender:text\n`), `*` (the list wildcard, which a
 *    pattern cannot escape: an account named `a*b` could never be listed alone), control characters
 *    (`\n` separates list results and letters). `_` stays allowed: it is common in names and a
 *    pattern's `_` matches it like any character. The old model accepted any name; the old server
 *    accepted `*`;
 *  - a message has at most maxMessageChars (100) characters;
 *  - a pattern has at most maxPatternChars (64) characters (the model said 50 in UTF-16 units, the
 *    server 64 code points; 64 is kept: any 25-character name can be written with room to spare);
 *  - maxEntries and maxQueuedMessages are the reference server's hardening (the model's variants
 *    leave them unbounded, so they never change a model result).
 */
import { chars } from './match.js';
import { messageLengthMax, nameLengthMax } from './messages.js';

export interface QueueLimits {
  maxNameChars: number;
  maxMessageChars: number;
  maxPatternChars: number;
  /** most accounts */
  maxEntries: number;
  /** most messages queued for one account */
  maxQueuedMessages: number;
}

export const patternLengthMax = 64;

export const modelQueueLimits: Readonly<QueueLimits> = {
  maxNameChars: nameLengthMax,
  maxMessageChars: messageLengthMax,
  maxPatternChars: patternLengthMax,
  maxEntries: Number.POSITIVE_INFINITY,
  maxQueuedMessages: Number.POSITIVE_INFINITY,
};

/** Why `name` cannot be an account name, or null. */
export function nameProblem(name: string, limits: QueueLimits): string | null {
  if (name === '') return 'an account name cannot be empty';
  if (chars(name).length > limits.maxNameChars) return `account name longer than maxNameChars=${limits.maxNameChars}`;
  // eslint-disable-next-line no-control-regex
  if (/[:*\u0000-\u001f\u007f]/.test(name)) return 'an account name cannot contain ":", "*" or control characters';
  return null;
}

/** Why `text` cannot be sent, or null. */
export function messageProblem(text: string, limits: QueueLimits): string | null {
  return chars(text).length > limits.maxMessageChars ? `message longer than maxMessageChars=${limits.maxMessageChars}` : null;
}

/** Why `pattern` cannot be listed, or null. */
export function patternProblem(pattern: string, limits: QueueLimits): string | null {
  return chars(pattern).length > limits.maxPatternChars ? `pattern longer than maxPatternChars=${limits.maxPatternChars}` : null;
}
