/**
 * What a proxy does to one whole message, and how it decides: the operations a caller sets for
 * the next N messages of a direction (rules), the ratios and distributions of a policy asked of a
 * choice source, and the plan that results for each message. Deciding is pure here (no timers, no
 * sockets); the pipe carries the plan out (src/conformance/proxy/proxy-pipe.ts).
 */
import type { Distribution } from '../../sim/config.js';
import type { MessageRef, ProxyDirection, StreamChooser } from './proxy-choices.js';

/** One operation on whole messages. */
export type MessageOp =
  /** kept until `release` */
  | { op: 'hold' }
  /** written `ms` later than it would be (a TCP stream keeps order: what follows waits too) */
  | { op: 'delay'; ms: number }
  /** delivered `copies` more times (default 1: twice in all) */
  | { op: 'duplicate'; copies?: number }
  /** written as `parts` writes (default 2), `gapMs` apart (default 25), so the peer's reads see parts */
  | { op: 'split'; parts?: number; gapMs?: number }
  /** written in one write with the `messages - 1` after it (default 2 in all); written as it is after `waitMsMax` (default 500) */
  | { op: 'merge'; messages?: number; waitMsMax?: number }
  /** never delivered */
  | { op: 'drop' }
  /** held back until `overtakenBy` later messages (default 1) have passed, or `waitMsMax` (default 500) */
  | { op: 'reorder'; overtakenBy?: number; waitMsMax?: number };

export type MessageOpName = MessageOp['op'];

/**
 * Decisions a proxy asks its choice source about every message of a direction. A ratio of 0 (or
 * none) is never asked. Counts are drawn from the kernel's `Distribution` (its fields say `Ms`
 * because the kernel draws times with it; here `minMs`/`maxMs` bound a count).
 */
export interface MessagePolicy {
  lossRatio?: number;
  duplicateRatio?: number;
  reorderRatio?: number;
  splitRatio?: number;
  mergeRatio?: number;
  /** an extra delay drawn for every message, ms */
  delay?: Distribution;
  /** how many writes a split message becomes (default uniform 2..4) */
  splitParts?: Distribution;
  /** how many messages a merged write carries (default uniform 2..3) */
  mergeMessages?: Distribution;
  splitGapMs?: number;
  mergeWaitMsMax?: number;
  reorderOvertakenBy?: number;
  reorderWaitMsMax?: number;
}

/** What happens to one message. */
export interface MessagePlan {
  drop: boolean;
  hold: boolean;
  delayMs: number;
  /** deliveries in all (1: once) */
  copies: number;
  /** writes the message becomes (1: one) */
  splitParts: number;
  splitGapMs: number;
  /** messages in the write this one opens (1: no merge) */
  mergeMessages: number;
  mergeWaitMsMax: number;
  /** later messages that pass this one first (0: none) */
  reorderOvertakenBy: number;
  reorderWaitMsMax: number;
}

export const defaultSplitGapMs = 25;
export const defaultWaitMsMax = 500;

export function plainPlan(): MessagePlan {
  return {
    drop: false,
    hold: false,
    delayMs: 0,
    copies: 1,
    splitParts: 1,
    splitGapMs: defaultSplitGapMs,
    mergeMessages: 1,
    mergeWaitMsMax: defaultWaitMsMax,
    reorderOvertakenBy: 0,
    reorderWaitMsMax: defaultWaitMsMax,
  };
}

interface Rule {
  direction: ProxyDirection;
  /** only this connection's messages; undefined: every connection's */
  connection: number | undefined;
  op: MessageOp;
  /** messages still to take; Infinity: until cleared */
  remaining: number;
}

/**
 * The operations set on a proxy, per direction. Rules of one kind queue one after another (a
 * second `drop` of 1 drops the message after the first's); rules of different kinds combine on one
 * message (a message can be delayed and duplicated).
 */
export class MessageRules {
  private rules: Rule[] = [];

  add(direction: ProxyDirection, op: MessageOp, count: number, connection?: number): void {
    if (!(count > 0)) return;
    const same = this.rules.find((r) => r.direction === direction && r.connection === connection && JSON.stringify(r.op) === JSON.stringify(op));
    if (same !== undefined) same.remaining += count;
    else this.rules.push({ direction, connection, op, remaining: count });
  }

  /** Counts one message against the first rule of `op` in a direction; false when there is none. */
  consume(direction: ProxyDirection, op: MessageOpName): boolean {
    const rule = this.rules.find((r) => r.direction === direction && r.op.op === op);
    if (rule === undefined) return false;
    if (--rule.remaining <= 0) this.rules = this.rules.filter((r) => r !== rule);
    return true;
  }

  /** Messages still to take for finite rules of `op` in a direction. */
  pending(direction: ProxyDirection, op: MessageOpName): number {
    return this.rules.filter((r) => r.direction === direction && r.op.op === op && Number.isFinite(r.remaining)).reduce((n, r) => n + r.remaining, 0);
  }

  clear(direction?: ProxyDirection, op?: MessageOpName): void {
    this.rules = this.rules.filter((r) => (direction !== undefined && r.direction !== direction) || (op !== undefined && r.op.op !== op));
  }

  /** The operations that take this message, one per kind, each rule counting it. */
  take(message: MessageRef): MessageOp[] {
    const taken = new Map<MessageOpName, MessageOp>();
    for (const r of this.rules) {
      if (r.direction !== message.direction || taken.has(r.op.op)) continue;
      if (r.connection !== undefined && r.connection !== message.connection) continue;
      taken.set(r.op.op, r.op);
      r.remaining--;
    }
    this.rules = this.rules.filter((r) => r.remaining > 0);
    return [...taken.values()];
  }
}

/** The plan the operations given by rules make. */
export function planOf(ops: readonly MessageOp[]): { plan: MessagePlan; decided: Set<MessageOpName> } {
  const plan = plainPlan();
  const decided = new Set<MessageOpName>();
  for (const op of ops) {
    decided.add(op.op);
    switch (op.op) {
      case 'hold':
        plan.hold = true;
        break;
      case 'drop':
        plan.drop = true;
        break;
      case 'delay':
        plan.delayMs = Math.max(0, op.ms);
        break;
      case 'duplicate':
        plan.copies = 1 + Math.max(1, op.copies ?? 1);
        break;
      case 'split':
        plan.splitParts = Math.max(2, op.parts ?? 2);
        plan.splitGapMs = op.gapMs ?? defaultSplitGapMs;
        break;
      case 'merge':
        plan.mergeMessages = Math.max(2, op.messages ?? 2);
        plan.mergeWaitMsMax = op.waitMsMax ?? defaultWaitMsMax;
        break;
      case 'reorder':
        plan.reorderOvertakenBy = Math.max(1, op.overtakenBy ?? 1);
        plan.reorderWaitMsMax = op.waitMsMax ?? defaultWaitMsMax;
        break;
    }
  }
  return { plan, decided };
}

const defaultSplitParts: Distribution = { kind: 'uniform', minMs: 2, maxMs: 4 };
const defaultMergeMessages: Distribution = { kind: 'uniform', minMs: 2, maxMs: 3 };

/**
 * Completes a plan with the policy's decisions, asked of the chooser in a fixed order (loss,
 * duplicate, reorder, split and its parts, merge and its size, delay), skipping what a rule
 * already decided. A lost message asks nothing more.
 */
export function applyPolicy(plan: MessagePlan, decided: ReadonlySet<MessageOpName>, policy: MessagePolicy, chooser: StreamChooser, m: MessageRef): void {
  if (plan.drop) return;
  if (!decided.has('drop') && chooser.chance(m, 'loss', policy.lossRatio)) {
    plan.drop = true;
    return;
  }
  if (!decided.has('duplicate') && chooser.chance(m, 'duplicate', policy.duplicateRatio)) plan.copies = 2;
  if (!decided.has('reorder') && chooser.chance(m, 'reorder', policy.reorderRatio)) {
    plan.reorderOvertakenBy = Math.max(1, policy.reorderOvertakenBy ?? 1);
    plan.reorderWaitMsMax = policy.reorderWaitMsMax ?? defaultWaitMsMax;
  }
  if (!decided.has('split') && chooser.chance(m, 'split', policy.splitRatio)) {
    plan.splitParts = Math.max(2, chooser.sample(m, 'split-parts', policy.splitParts ?? defaultSplitParts));
    plan.splitGapMs = policy.splitGapMs ?? defaultSplitGapMs;
  }
  if (!decided.has('merge') && chooser.chance(m, 'merge', policy.mergeRatio)) {
    plan.mergeMessages = Math.max(2, chooser.sample(m, 'merge-messages', policy.mergeMessages ?? defaultMergeMessages));
    plan.mergeWaitMsMax = policy.mergeWaitMsMax ?? defaultWaitMsMax;
  }
  if (!decided.has('delay') && policy.delay !== undefined) plan.delayMs = Math.max(0, chooser.sample(m, 'delay', policy.delay));
}

/** `bytes` cut into `parts` pieces of (nearly) equal size, none empty. */
export function splitBytes(bytes: Buffer, parts: number): Buffer[] {
  const n = Math.max(1, Math.min(parts, bytes.length));
  const out: Buffer[] = [];
  for (let i = 0; i < n; i++) out.push(bytes.subarray(Math.floor((i * bytes.length) / n), Math.floor(((i + 1) * bytes.length) / n)));
  return out;
}
