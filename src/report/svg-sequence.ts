/**
 * The sequence diagram of a trace as inline SVG, for the HTML report: node boxes on top (and at
 * the bottom), lifelines that turn red and dashed while a node is down, messages as arrows that
 * slope from the moment they were sent down to the row they arrived (so crossing messages show as
 * crossing arrows), lost messages ending in a red cross, notes beside lifelines, faults as red
 * bands across, and the repeating cycle framed as a loop. Every arrow has a tooltip with the full
 * message. Drawn here, from the trace alone: the report must open without any network.
 */
import type { TraceEvent } from '../sim/trace.js';
import { buildSequence, elideRows, type LaneStatus, type NodeId, type NoteTone, type Sequence, type SequenceOptions, type SequenceRow } from './sequence.js';
import { cycleMarkerText } from './terminal-sequence.js';
import { boltPath, escapeXml, fitText, monoFont, px, textWidthPx } from './svg.js';
import { timeText, timeTick } from './time-label.js';

export interface SvgSequenceOptions extends SequenceOptions {
  /** at most this many rows; the middle is elided (default 400) */
  maxRows?: number;
}

const rowHeight = 30;
const headerHeight = 56;
const gutter = 78;
const fontSize = 12;

const noteStyle: Record<NoteTone, { fill: string; stroke: string; text: string; icon: string; box: boolean }> = {
  start: { fill: '#f8fafc', stroke: '#cbd5e1', text: '#334155', icon: '▶ ', box: true },
  print: { fill: '#eff6ff', stroke: '#93c5fd', text: '#1e3a8a', icon: '', box: true },
  shown: { fill: '#dcfce7', stroke: '#4ade80', text: '#14532d', icon: '', box: true },
  error: { fill: '#fee2e2', stroke: '#f87171', text: '#7f1d1d', icon: '', box: true },
  input: { fill: '#f3e8ff', stroke: '#c084fc', text: '#581c87', icon: '', box: true },
  timer: { fill: 'none', stroke: 'none', text: '#64748b', icon: 'timer: ', box: false },
  state: { fill: 'none', stroke: 'none', text: '#64748b', icon: '→ ', box: false },
  conn: { fill: '#fef3c7', stroke: '#f59e0b', text: '#78350f', icon: '', box: true },
  left: { fill: '#fef3c7', stroke: '#f59e0b', text: '#78350f', icon: '', box: true },
};

const laneStroke: Record<LaneStatus, { color: string; dash: string; width: number }> = {
  running: { color: '#94a3b8', dash: '', width: 2 },
  down: { color: '#dc2626', dash: '4 4', width: 2 },
  paused: { color: '#d97706', dash: '2 4', width: 2 },
  absent: { color: '#e2e8f0', dash: '2 5', width: 1.5 },
};

interface Box {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

function overlaps(a: Box, b: Box): boolean {
  return a.x1 < b.x2 && b.x1 < a.x2 && a.y1 < b.y2 && b.y1 < a.y2;
}

/** True when the segment (x1,y1)-(x2,y2) passes through the box (Liang–Barsky clipping). */
function segmentCrosses(x1: number, y1: number, x2: number, y2: number, b: Box): boolean {
  const dx = x2 - x1;
  const dy = y2 - y1;
  let t0 = 0;
  let t1 = 1;
  for (const [p, q] of [
    [-dx, x1 - b.x1],
    [dx, b.x2 - x1],
    [-dy, y1 - b.y1],
    [dy, b.y2 - y1],
  ] as const) {
    if (p === 0) {
      if (q < 0) return false;
      continue;
    }
    const r = q / p;
    if (p < 0) t0 = Math.max(t0, r);
    else t1 = Math.min(t1, r);
    if (t0 > t1) return false;
  }
  return true;
}

/** Extra space above the repeating cycle's first row, where the loop frame's tab hangs (no label goes there). */
const cycleTabGap = 22;
/** A label's box around its baseline (12 px monospace: ascent and descent, with a pixel to spare). */
const labelAbove = fontSize - 1;
const labelBelow = 4;
/** Room kept between two labels, so that they read apart. */
const labelGap = 2;

/** A message arrow as drawn, and where its label goes. */
interface Arrow {
  row: number;
  x1: number;
  y1: number;
  x2: number;
  y2: number;
  /** receiver minus sender, as a sign */
  dir: number;
  sloped: boolean;
  label: string;
  labelWidth: number;
  /** the head (or the cross of a lost message): no other label may cover it */
  head: Box;
  /** chosen by placeLabels */
  mx: number;
  my: number;
}

/** Room right of the last lifeline, for notes and self messages. */
const rightMargin = 300;

/** Where everything of one diagram goes: the columns, the row slots (an elision takes one), the size. */
interface Layout {
  seq: Sequence;
  options: SvgSequenceOptions;
  /** the rows left out in the middle, if any */
  plan: { head: number; tailStart: number } | null;
  /** between two lifelines */
  spacing: number;
  /** each node's lifeline */
  xOf: number[];
  width: number;
  height: number;
  /** where the rows start, and where the lifelines end */
  top: number;
  bottom: number;
  column: Map<NodeId, number>;
  /** each visible row's slot; the elided rows share the elision's */
  slotOf: Map<number, number>;
  elisionSlot: { slot: number; hidden: number } | null;
  yOfSlot: (s: number) => number;
  /** a row's middle; -1 is just above the first */
  yOfRow: (i: number) => number;
  visible: (i: number) => boolean;
}

/** Renders the trace as an `<svg class="sequence">` element (no XML prolog; for inline HTML). */
export function renderSequenceSvg(trace: readonly TraceEvent[], options: SvgSequenceOptions = {}): string {
  const layout = layoutSequence(buildSequence(trace, options), options);
  const { seq, width, height } = layout;
  const back: string[] = [];
  const front: string[] = [];
  // The repeating cycle: a loop frame behind its rows.
  const cycle = cycleFrame(layout);
  if (cycle !== null) back.push(cycle.frame);
  const lines = lifelines(layout);
  front.push(...participants(layout));
  const arrows = layoutArrows(layout);
  // No label may cover the loop tab, besides the notes, faults and other labels placeLabels knows.
  placeLabels(layout, arrows, cycle !== null ? [cycle.tabBox] : []);
  drawRows(layout, arrows, back, front);
  return (
    `<svg class="sequence" role="img" aria-label="sequence diagram: ${seq.nodes.length} nodes, ${seq.rows.filter((r) => r.k === 'message').length} messages" ` +
    `viewBox="0 0 ${px(width)} ${px(height)}" width="${px(width)}" height="${px(height)}" font-family="${escapeXml(monoFont)}">` +
    `<rect width="100%" height="100%" fill="#fff"/>` +
    back.join('') +
    lines.join('') +
    front.join('') +
    (cycle !== null ? cycle.tab : '') +
    `</svg>`
  );
}

/** Lays the diagram out: column spacing from the longest message, a slot per visible row, the loop tab's gap. */
function layoutSequence(seq: Sequence, options: SvgSequenceOptions): Layout {
  const n = Math.max(1, seq.nodes.length);
  const longestLabel = seq.rows.reduce((m, r) => (r.k === 'message' ? Math.max(m, r.label.length) : m), 12);
  // Wide enough for most messages between neighbours, not so wide that the page scrolls for 3 nodes.
  const spacing = Math.max(200, Math.min(320, Math.round(longestLabel * fontSize * 0.61 + 50)));
  const xOf = seq.nodes.map((_, i) => gutter + 70 + i * spacing);
  const width = gutter + 70 + (n - 1) * spacing + rightMargin;
  const column = new Map(seq.nodes.map((node, i) => [node, i]));

  const plan = elideRows(seq.rows.length, options.maxRows ?? 400, seq.cycleRow);
  // Visible rows with their slot numbers (an elision takes one slot).
  const slotOf = new Map<number, number>();
  let slots = 0;
  let elisionSlot: { slot: number; hidden: number } | null = null;
  seq.rows.forEach((_, i) => {
    if (plan && i >= plan.head && i < plan.tailStart) {
      if (i === plan.head) elisionSlot = { slot: slots++, hidden: plan.tailStart - plan.head };
      slotOf.set(i, elisionSlot!.slot);
      return;
    }
    slotOf.set(i, slots++);
  });
  const top = headerHeight + 14;
  // The loop frame's tab hangs in a gap of its own above the cycle's first row, clear of every label.
  const cycleSlot = seq.cycleRow !== null && seq.rows.length > 0 ? (slotOf.get(seq.cycleRow) ?? null) : null;
  const gapAbove = (s: number): number => (cycleSlot !== null && s >= cycleSlot ? cycleTabGap : 0);
  const yOfSlot = (s: number): number => top + s * rowHeight + rowHeight / 2 + gapAbove(s);
  const yOfRow = (i: number): number => (i < 0 ? top - 4 : yOfSlot(slotOf.get(i) ?? 0));
  const bottom = top + slots * rowHeight + 10 + (cycleSlot !== null ? cycleTabGap : 0);
  const height = bottom + headerHeight;
  const visible = (i: number): boolean => !(plan && i >= plan.head && i < plan.tailStart);
  return { seq, options, plan, spacing, xOf, width, height, top, bottom, column, slotOf, elisionSlot, yOfSlot, yOfRow, visible };
}

/** The repeating cycle's loop frame (behind its rows), its tab (drawn over everything), and the tab's box; null without a cycle. */
function cycleFrame(layout: Layout): { frame: string; tab: string; tabBox: Box } | null {
  const { seq, width, bottom, yOfRow } = layout;
  if (seq.cycleRow === null || seq.rows.length === 0) return null;
  const y0 = yOfRow(seq.cycleRow) - rowHeight / 2 - cycleTabGap;
  const label = `loop: ${cycleMarkerText}`;
  const tabWidth = textWidthPx(label, 11) + 16;
  const frame = `<rect class="cycle" x="${px(gutter - 6)}" y="${px(y0)}" width="${px(width - gutter - 4)}" height="${px(bottom - y0)}" rx="6" fill="#fffbeb" stroke="#f59e0b" stroke-dasharray="6 4"/>`;
  // The tab hangs from the frame's top right corner, right of the last lifeline, where arrows do not go.
  const right = width - 10;
  const tab =
    `<g class="cycle-label"><path d="M${px(right)},${px(y0 + 18)} L${px(right)},${px(y0 + 6)} Q${px(right)},${px(y0)} ${px(right - 6)},${px(y0)} L${px(right - tabWidth)},${px(y0)} L${px(right - tabWidth)},${px(y0 + 12)} L${px(right - tabWidth + 8)},${px(y0 + 18)} Z" fill="#f59e0b"/>` +
    `<text x="${px(right - tabWidth + 10)}" y="${px(y0 + 13)}" font-size="11" fill="#fff" font-weight="700">${escapeXml(label)}</text></g>`;
  return { frame, tab, tabBox: { x1: right - tabWidth, y1: y0, x2: right, y2: y0 + 18 } };
}

/** Lifelines: one segment per run of rows with the same status. */
function lifelines(layout: Layout): string[] {
  const { seq, xOf, top, bottom, yOfRow } = layout;
  const lines: string[] = [];
  seq.nodes.forEach((_, i) => {
    let start = top - 6;
    let status: LaneStatus = seq.rows[0]?.lanes[i] ?? 'running';
    const flush = (end: number): void => {
      const st = laneStroke[status];
      lines.push(`<line class="lifeline ${status}" x1="${px(xOf[i]!)}" y1="${px(start)}" x2="${px(xOf[i]!)}" y2="${px(end)}" stroke="${st.color}" stroke-width="${st.width}"${st.dash ? ` stroke-dasharray="${st.dash}"` : ''}/>`);
    };
    seq.rows.forEach((row, r) => {
      const s = row.lanes[i]!;
      if (s !== status) {
        const y = yOfRow(r) - rowHeight / 2;
        flush(y);
        start = y;
        status = s;
      }
    });
    flush(bottom);
  });
  return lines;
}

/** Node boxes, top and bottom. */
function participants(layout: Layout): string[] {
  const { seq, xOf, spacing, bottom } = layout;
  const out: string[] = [];
  seq.nodes.forEach((node, i) => {
    const label = fitText(node, spacing - 30, 13);
    const w = Math.max(64, textWidthPx(label, 13) + 24);
    for (const y of [10, bottom + 6]) {
      out.push(
        `<g class="participant"><rect x="${px(xOf[i]! - w / 2)}" y="${y}" width="${px(w)}" height="34" rx="6" fill="#1e293b"/>` +
          `<text x="${px(xOf[i]!)}" y="${y + 22}" text-anchor="middle" font-size="13" font-weight="700" fill="#fff">${escapeXml(label)}</text><title>${escapeXml(node)}</title></g>`,
      );
    }
  });
  return out;
}

/** The geometry of every message arrow between two lanes (self messages are drawn in place). */
function layoutArrows(layout: Layout): Map<number, Arrow> {
  const { seq, column, xOf, slotOf, yOfRow, visible } = layout;
  const out = new Map<number, Arrow>();
  seq.rows.forEach((row, i) => {
    if (row.k !== 'message' || !visible(i)) return;
    const a = column.get(row.from) ?? 0;
    const b = column.get(row.to) ?? 0;
    if (a === b) return;
    const y = yOfRow(i);
    const dropped = row.fate === 'dropped';
    const x1 = xOf[a]!;
    const x2full = xOf[b]!;
    const dir = x2full > x1 ? 1 : -1;
    // Horizontal when nothing happened between send and arrival; sloped from the send when the
    // message was in flight across other rows, so overtaking and crossing messages show.
    const sloped = row.sendAfterRow < i - 1 && slotOf.get(row.sendAfterRow + 1) !== slotOf.get(i);
    const y1 = sloped ? Math.min(y - 2, yOfRow(row.sendAfterRow) + rowHeight / 2) : y;
    // A lost message stops short of the receiver, where a cross marks the loss.
    const x2 = dropped ? x2full - dir * 26 : x2full - dir * 2;
    const full = `${row.label}${dropped ? ` — lost (${row.reason ?? 'dropped'})` : ''}`;
    const label = fitText(full, Math.abs(x2full - x1) - 30, fontSize);
    // the head's triangle (10 px, 0.38 rad each side) or the cross, as drawn below, with a pixel to spare
    const angle = Math.atan2(y - y1, x2 - x1);
    const tips = [0.38, -0.38].map((d) => [x2 - 10 * Math.cos(angle + d), y - 10 * Math.sin(angle + d)] as const);
    const head = dropped
      ? { x1: x2 - 7.5, y1: y - 7.5, x2: x2 + 7.5, y2: y + 7.5 }
      : { x1: Math.min(x2, ...tips.map((t) => t[0])) - 1, y1: Math.min(y, ...tips.map((t) => t[1])) - 1, x2: Math.max(x2, ...tips.map((t) => t[0])) + 1, y2: Math.max(y, ...tips.map((t) => t[1])) + 1 };
    out.set(i, { row: i, x1, y1, x2, y2: y, dir, sloped, label, labelWidth: textWidthPx(label, fontSize), head, mx: 0, my: 0 });
  });
  return out;
}

/**
 * Where each message's label goes: along its arrow, where it covers no other label, note, fault,
 * finding, loop tab or arrow head, and crosses as few other arrows and lifelines as can be.
 * Labels are placed row by row; each one also has a spot just above its own arrival point, in
 * the band of its own row that nothing of an earlier row reaches, so one is always free.
 * `placed`: boxes no label may cover besides those of the rows (the loop tab).
 */
function placeLabels(layout: Layout, arrows: Map<number, Arrow>, placed: readonly Box[]): void {
  const fixed: Box[] = [...placed, ...rowBoxes(layout)];
  const heads = [...arrows.values()].map((a) => ({ row: a.row, box: a.head }));
  const labels: Box[] = [];
  for (const arrow of arrows.values()) {
    const { x1, y1, x2, y2, labelWidth: w } = arrow;
    const lo = Math.min(x1, x2) + 6;
    const hi = Math.max(x1, x2) - 6;
    const at = (f: number): { mx: number; my: number } => {
      const mx = Math.max(lo + w / 2, Math.min(hi - w / 2, x1 + (x2 - x1) * f));
      // on a sloped arrow the label sits on the line (its own line runs behind it); above a flat one
      const yAt = x2 === x1 ? y2 : y1 + ((y2 - y1) * (mx - x1)) / (x2 - x1);
      return { mx, my: yAt - 5 };
    };
    const spots = (arrow.sloped ? [0.62, 0.75, 0.5, 0.85, 0.38, 0.25, 0.92] : [0.5, 0.35, 0.65, 0.25, 0.75, 0.15, 0.85]).map(at);
    // the spot of last resort: flat, just above the arrival point, next to the head
    spots.push({ mx: Math.max(lo + w / 2, Math.min(hi - w / 2, x2 - arrow.dir * (w / 2 + 14))), my: y2 - 6 });
    let best: { mx: number; my: number; cost: number } | undefined;
    spots.forEach((spot, k) => {
      const box = { x1: spot.mx - w / 2 - 1, y1: spot.my - labelAbove, x2: spot.mx + w / 2 + 1, y2: spot.my + labelBelow };
      const roomy = { x1: box.x1 - labelGap, y1: box.y1 - labelGap, x2: box.x2 + labelGap, y2: box.y2 + labelGap };
      if (fixed.some((b) => overlaps(b, box)) || labels.some((b) => overlaps(b, roomy))) return;
      if (heads.some((h) => h.row !== arrow.row && overlaps(h.box, box))) return;
      let cost = k * 0.5;
      for (const other of arrows.values()) if (other !== arrow && segmentCrosses(other.x1, other.y1, other.x2, other.y2, box)) cost += 10;
      for (const x of layout.xOf) if (x > box.x1 && x < box.x2) cost += 4;
      if (best === undefined || cost < best.cost) best = { ...spot, cost };
    });
    const chosen = best ?? spots[spots.length - 1]!;
    arrow.mx = chosen.mx;
    arrow.my = chosen.my;
    labels.push({ x1: chosen.mx - w / 2 - 1, y1: chosen.my - labelAbove, x2: chosen.mx + w / 2 + 1, y2: chosen.my + labelBelow });
  }
}

/** The boxes of what the visible rows draw besides arrows (notes, faults, findings, self messages) and of the elision line: no label may cover them. */
function rowBoxes(layout: Layout): Box[] {
  const { seq, column, xOf, width, plan, elisionSlot, yOfRow, yOfSlot, visible } = layout;
  const fixed: Box[] = [];
  seq.rows.forEach((row, i) => {
    if (!visible(i)) return;
    const y = yOfRow(i);
    if (row.k === 'note') {
      const x = xOf[column.get(row.node) ?? 0]!;
      const st = noteStyle[row.tone];
      fixed.push({ x1: x + 8, y1: y - 10, x2: x + 14 + textWidthPx(noteText(layout, row, x), 11.5) + (st.box ? 0 : 2), y2: y + 10 });
    } else if (row.k === 'fault' || row.k === 'finding') {
      fixed.push({ x1: gutter - 4, y1: y - 11, x2: width - 12, y2: y + 11 });
    } else if (row.k === 'message' && (column.get(row.from) ?? 0) === (column.get(row.to) ?? 0)) {
      const x = xOf[column.get(row.from) ?? 0]!;
      fixed.push({ x1: x, y1: y - 9, x2: x + 36 + textWidthPx(selfLabel(row), fontSize), y2: y + 9 });
    }
  });
  if (plan && elisionSlot) {
    const y = yOfSlot(elisionSlot.slot);
    fixed.push({ x1: gutter + 20, y1: y - 10, x2: width, y2: y + 10 });
  }
  return fixed;
}

/** A note's text as drawn (cut to the room right of its lane). */
function noteText(layout: Layout, row: Extract<SequenceRow, { k: 'note' }>, x: number): string {
  return fitText(`${noteStyle[row.tone].icon}${row.text}`, Math.min(Math.max(layout.spacing, rightMargin) + 40, layout.width - x - 30), 11.5);
}

/** A self message's label as drawn. */
function selfLabel(row: Extract<SequenceRow, { k: 'message' }>): string {
  return fitText(`${row.label}${row.fate === 'dropped' ? ` — lost (${row.reason ?? 'dropped'})` : ''}`, rightMargin, fontSize);
}

/** Draws the rows in order, each with its time when it changes: bands behind (`back`), the rest in front; the elided rows as one line. */
function drawRows(layout: Layout, arrows: ReadonlyMap<number, Arrow>, back: string[], front: string[]): void {
  const { seq, plan, elisionSlot, width, options, yOfRow, yOfSlot } = layout;
  let lastT: number | null = null;
  seq.rows.forEach((row, i) => {
    if (plan && i >= plan.head && i < plan.tailStart) {
      if (i === plan.head && elisionSlot) {
        const y = yOfSlot(elisionSlot.slot);
        front.push(`<text class="elided" x="${px(gutter + 20)}" y="${px(y + 4)}" font-size="12" fill="#64748b" font-style="italic">⋯ ${elisionSlot.hidden} more rows not shown ⋯</text>`);
        lastT = null;
      }
      return;
    }
    const y = yOfRow(i);
    if (row.t !== lastT) front.push(`<text class="time" x="${px(gutter - 12)}" y="${px(y + 4)}" text-anchor="end" font-size="11" fill="#64748b">${escapeXml(timeTick(row.t, options.steps))}</text>`);
    lastT = row.t;
    switch (row.k) {
      case 'message':
        front.push(messageSvg(layout, row, y, arrows.get(i)));
        break;
      case 'note':
        front.push(noteSvg(layout, row, y));
        break;
      case 'fault': {
        back.push(`<rect x="${px(gutter - 4)}" y="${px(y - 11)}" width="${px(width - gutter - 8)}" height="22" rx="4" fill="#fee2e2" stroke="#fca5a5"/>`);
        front.push(faultSvg(layout, row, y));
        break;
      }
      case 'finding': {
        const label = fitText(`✖ ${row.text}`, width - gutter - 20, 12);
        back.push(`<rect x="${px(gutter - 4)}" y="${px(y - 11)}" width="${px(width - gutter - 8)}" height="22" rx="4" fill="#b91c1c"/>`);
        front.push(`<g class="finding"><text x="${px(gutter + 6)}" y="${px(y + 4)}" font-size="12" font-weight="700" fill="#fff">${escapeXml(label)}</text><title>${escapeXml(row.text)}</title></g>`);
        break;
      }
      case 'end':
        front.push(`<text class="end" x="${px(gutter + 6)}" y="${px(y + 4)}" font-size="11" fill="#64748b">${escapeXml(row.text)}</text>`);
        break;
    }
  });
}

/** A message at height `y`: its arrow (laid out by layoutArrows) with its label, or a self message's loop; a lost one is dashed red and ends in a cross. */
function messageSvg(layout: Layout, row: Extract<SequenceRow, { k: 'message' }>, y: number, arrow: Arrow | undefined): string {
  const { column, xOf, options } = layout;
  const a = column.get(row.from) ?? 0;
  const b = column.get(row.to) ?? 0;
  const dropped = row.fate === 'dropped';
  const color = dropped ? '#dc2626' : '#0f172a';
  const full = `${row.label}${dropped ? ` — lost (${row.reason ?? 'dropped'})` : ''}`;
  const sent = row.sendT !== null ? `sent at ${timeText(row.sendT, options.steps)}, ` : '';
  const title = `${row.from} → ${row.to}: ${full} (${sent}${dropped ? 'lost' : 'arrived'} at ${timeText(row.t, options.steps)})`;
  if (a === b) {
    const x = xOf[a]!;
    return (
      `<g class="msg self" data-from="${escapeXml(row.from)}" data-to="${escapeXml(row.to)}"><path d="M${px(x)},${px(y - 8)} h30 v16 h-26" fill="none" stroke="${color}" stroke-width="1.5"/>` +
      `<text class="label" x="${px(x + 36)}" y="${px(y + 4)}" font-size="${fontSize}" fill="${color}">${escapeXml(selfLabel(row))}</text><title>${escapeXml(title)}</title></g>`
    );
  }
  const { x1, y1, x2, y2, label, mx, my } = arrow!;
  const angle = Math.atan2(y2 - y1, x2 - x1);
  const head = (len: number, spread: number): string => {
    const p1 = [x2 - len * Math.cos(angle - spread), y2 - len * Math.sin(angle - spread)];
    const p2 = [x2 - len * Math.cos(angle + spread), y2 - len * Math.sin(angle + spread)];
    return `${px(x2)},${px(y2)} ${px(p1[0]!)},${px(p1[1]!)} ${px(p2[0]!)},${px(p2[1]!)}`;
  };
  let g = `<g class="msg${dropped ? ' dropped' : ''}" data-from="${escapeXml(row.from)}" data-to="${escapeXml(row.to)}">`;
  g += `<line x1="${px(x1)}" y1="${px(y1)}" x2="${px(x2)}" y2="${px(y2)}" stroke="${color}" stroke-width="1.6"${dropped ? ' stroke-dasharray="5 3"' : ''}/>`;
  if (dropped) {
    g += `<path class="lost" d="M${px(x2 - 6)},${px(y2 - 6)} L${px(x2 + 6)},${px(y2 + 6)} M${px(x2 - 6)},${px(y2 + 6)} L${px(x2 + 6)},${px(y2 - 6)}" stroke="#dc2626" stroke-width="3" stroke-linecap="round"/>`;
  } else {
    g += `<polygon class="head" points="${head(10, 0.38)}" fill="${color}"/>`;
  }
  g += `<text x="${px(mx)}" y="${px(my)}" text-anchor="middle" font-size="${fontSize}" fill="${color}" class="label" paint-order="stroke" stroke="#fff" stroke-width="4" stroke-linejoin="round">${escapeXml(label)}</text>`;
  g += `<title>${escapeXml(title)}</title></g>`;
  return g;
}

/** A note beside its node's lifeline at height `y`: boxed, or plain italic for timers and states. */
function noteSvg(layout: Layout, row: Extract<SequenceRow, { k: 'note' }>, y: number): string {
  const x = layout.xOf[layout.column.get(row.node) ?? 0]!;
  const st = noteStyle[row.tone];
  const text = noteText(layout, row, x);
  const w = textWidthPx(text, 11.5) + 14;
  const title = `${row.node} at ${timeText(row.t, layout.options.steps)}: ${row.text}`;
  if (st.box) {
    return (
      `<g class="note ${row.tone}"><rect x="${px(x + 8)}" y="${px(y - 10)}" width="${px(w)}" height="20" rx="4" fill="${st.fill}" stroke="${st.stroke}"/>` +
      `<text x="${px(x + 15)}" y="${px(y + 4)}" font-size="11.5" fill="${st.text}">${escapeXml(text)}</text><title>${escapeXml(title)}</title></g>`
    );
  }
  return `<g class="note ${row.tone}"><text x="${px(x + 10)}" y="${px(y + 4)}" font-size="11" fill="${st.text}" font-style="italic">${escapeXml(text)}</text><title>${escapeXml(title)}</title></g>`;
}

/** A fault's marks at height `y` (over its red band): a bolt, a dot on each lane it hits, then its text. */
function faultSvg(layout: Layout, row: Extract<SequenceRow, { k: 'fault' }>, y: number): string {
  const { column, xOf, width, options } = layout;
  const label = fitText(row.text, width - gutter - 60, 12);
  // the marks on the lanes it hits first, the text over them (with the band's colour as a halo)
  let g = `<g class="fault">${boltPath(gutter + 4, y - 8, 16)}`;
  for (const node of row.nodes) {
    const c = column.get(node);
    if (c !== undefined) g += `<circle cx="${px(xOf[c]!)}" cy="${px(y)}" r="6" fill="#dc2626" stroke="#fff" stroke-width="2"/>`;
  }
  g += `<text x="${px(gutter + 24)}" y="${px(y + 4)}" font-size="12" font-weight="700" fill="#991b1b" paint-order="stroke" stroke="#fee2e2" stroke-width="4" stroke-linejoin="round">${escapeXml(label)}</text>`;
  return `${g}<title>${escapeXml(`fault at ${timeText(row.t, options.steps)}: ${row.text}`)}</title></g>`;
}
