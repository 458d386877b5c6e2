/**
 * The `idle-requests` bound of a client program (src/models/live-bounds.ts): while nothing changes,
 * a program makes at most so many requests per second. "Nothing changes" is a stretch of the case
 * between two steps that act (a start, a person typing, a kill, a fault: every step but expect and
 * wait); within each stretch at least `windowMs` long, the busiest `windowMs` of each program's
 * requests is measured. The programs' own writes do not cut a stretch: a program that writes a
 * heartbeat on every turn of its loop must not hide its loop's rate, and what one program does on
 * another's write (read the message, hand the turn back) is a few requests, far under the bound.
 */
import { describeImRequest, type ImRequestRecord } from './im-server.js';

export interface IdleBound {
  perSecond: number;
  windowMs: number;
}

/** The busiest `windowMs` of `times` (sorted) inside [from, to): how many, and from when. */
function busiestWindow(times: readonly number[], from: number, to: number, windowMs: number): { count: number; startMs: number } {
  const inside = times.filter((t) => t >= from && t < to);
  let best = { count: 0, startMs: from };
  let lo = 0;
  let hi = 0;
  for (let i = 0; i < inside.length; i++) {
    // a window anchored at a request, moved back to end at `to` when it would run past it (the
    // starts only grow, so both ends move forward)
    const start = Math.min(inside[i]!, to - windowMs);
    while (lo < inside.length && inside[lo]! < start) lo++;
    while (hi < inside.length && inside[hi]! < start + windowMs) hi++;
    if (hi - lo > best.count) best = { count: hi - lo, startMs: start };
  }
  return best;
}

/**
 * The first program over the bound, in words (for a FAIL), or null. `changesMs` are the moments
 * the case acted; `endMs` the case's end.
 */
export function idleRequestsViolation(records: readonly ImRequestRecord[], changesMs: readonly number[], endMs: number, bound: IdleBound): string | null {
  const cuts = [0, ...changesMs, endMs].sort((a, b) => a - b);
  const clients = [...new Set(records.map((r) => r.client))].sort();
  for (const client of clients) {
    const mine = records.filter((r) => r.client === client);
    const times = mine.map((r) => r.atMs).sort((a, b) => a - b);
    for (let k = 0; k + 1 < cuts.length; k++) {
      const [from, to] = [cuts[k]!, cuts[k + 1]!];
      if (to - from < bound.windowMs) continue;
      const busiest = busiestWindow(times, from, to, bound.windowMs);
      if ((busiest.count * 1000) / bound.windowMs <= bound.perSecond) continue;
      const during = mine.filter((r) => r.atMs >= busiest.startMs && r.atMs < busiest.startMs + bound.windowMs);
      const what = [...new Set(during.map((r) => describeImRequest(r)))].slice(0, 3).join(', ');
      return `idle-requests: ${client} made ${busiest.count} requests in ${bound.windowMs} ms while the case did nothing (from ${Math.round(busiest.startMs)} ms; the bound is ${bound.perSecond} per second): ${what}`;
    }
  }
  return null;
}
