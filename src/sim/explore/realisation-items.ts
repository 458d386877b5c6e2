/**
 * The vocabulary of the timed realisation of a path (timed-realisation.ts): the events the timed
 * simulator queues (items), the sends and draws the timed run makes, the labels of the constraints
 * on their times, and the bounds a link puts on an arrival.
 */
import { distributionBounds } from '../kernel/choice.js';
import type { LinkConfig } from '../config.js';

export interface Label {
  /** order: the path's order; bound: a scenario bound (delay, think, start, timer, fault time) */
  kind: 'order' | 'bound';
  text: string;
}

export type ItemKind = 'start' | 'msg' | 'refused' | 'reset' | 'closed' | 'timer' | 'input' | 'fault';

/** One event the timed simulator queues. */
export interface Item {
  kind: ItemKind;
  v: number;
  /** the timed queue's tie-break: items with an equal time pop in this order */
  seq: number;
  /** the step (1-based) that created it, 0 for the initial ones */
  cause: number;
  what: string;
  /** network items: the link's config, its from/to */
  link?: LinkConfig;
  from?: number;
  to?: number;
  send?: SendRec;
  /** messages: the recorder's send id */
  sendId?: number;
}

/** A send the timed simulator draws for (loss, duplicate, then a delay per copy). */
export interface SendRec {
  copies: Item[];
  lost: boolean;
  duplicated: boolean;
  /** dropped by a drop rule (scripted or injected): no draws */
  ruleDropped: boolean;
  /** carried twice by a duplicate rule */
  ruleDuplicated: boolean;
  link: LinkConfig;
  step: number;
  msgType: string;
  from: number;
  to: number;
}

/** A draw the timed run makes, in the order it makes them. */
export type Draw = { kind: 'send'; rec: SendRec } | { kind: 'conn'; item: Item } | { kind: 'think'; item: Item; prompt: number };

/** The timed queue's tie-break order of the items of each kind (see `Item.seq`). */
export const SEQ_START = 0;
export const SEQ_SCRIPTED = 1_000;
export const SEQ_BUDGET = 2_000;
export const SEQ_HEAL = 3_000;
export const SEQ_LATER = 10_000;

/**
 * When an item put on a link arrives, after its cause: within the delay's bounds, or, on a non-FIFO
 * link that reorders, up to a second draw + 1 ms later (every time, when the ratio is 1).
 */
export function arrivalBounds(link: LinkConfig, onLink: boolean): { lo: number; hi: number } {
  const { minMs, maxMs } = distributionBounds(link.delay);
  if (!onLink || link.fifo || link.reorderRatio <= 0) return { lo: minMs, hi: maxMs };
  if (link.reorderRatio >= 1) return { lo: 2 * minMs + 1, hi: 2 * maxMs + 1 };
  // held back or not: [min, max] or [2 min + 1, 2 max + 1], one interval when they touch
  return { lo: minMs, hi: 2 * minMs <= maxMs ? 2 * maxMs + 1 : maxMs };
}

export function shortTimer(id: string): string {
  const m = /^xstate\.after\.(\w+)\./.exec(id);
  return m ? m[1]! : id;
}
