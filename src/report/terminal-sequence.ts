/**
 * The sequence diagram of a trace, drawn with box characters for the terminal: one column per
 * node, time on the left, a message as an arrow from sender to receiver on the row it arrives (or
 * is lost, marked ✗), notes (prints, typed lines, timers) beside their node's lifeline, faults
 * across the whole width. Fits `width` columns, abbreviating message text; colour only when asked.
 */
import type { TraceEvent } from '../sim/trace.js';
import { palette, type Palette } from './format.js';
import { buildSequence, elideRows, type LaneStatus, type NodeId, type NoteTone, type Sequence, type SequenceOptions, type SequenceRow } from './sequence.js';
import { charWidth, displayWidth, truncateToWidth, wrapToWidth } from './text-width.js';
import { timeColumn } from './time-label.js';

export interface TerminalSequenceOptions extends SequenceOptions {
  color: boolean;
  /** terminal columns to fit (default 100) */
  width?: number;
  /** at most this many rows; the middle is elided (default 80) */
  maxRows?: number;
}

/** The cycle marker line's words, shared with the list view. */
export const cycleMarkerText = 'from here the same states repeat for ever';

type Style = 'plain' | 'dim' | 'red' | 'green' | 'yellow' | 'cyan' | 'bold' | 'boldRed';

interface Cell {
  ch: string;
  style: Style;
}

/** One line of cells; wide characters take their cell plus an empty one after it. */
class Line {
  readonly cells: Cell[];
  constructor(width: number) {
    this.cells = Array.from({ length: width }, () => ({ ch: ' ', style: 'plain' as Style }));
  }
  put(x: number, text: string, style: Style): void {
    let at = x;
    for (const ch of text) {
      const w = charWidth(ch);
      if (w === 0) continue;
      while (this.cells.length < at + w) this.cells.push({ ch: ' ', style: 'plain' });
      this.cells[at] = { ch, style };
      if (w === 2) this.cells[at + 1] = { ch: '', style };
      at += w;
    }
  }
  render(p: Palette): string {
    let end = this.cells.length;
    while (end > 0 && this.cells[end - 1]!.ch === ' ') end--;
    let out = '';
    let run = '';
    let style: Style = 'plain';
    const flush = (): void => {
      if (run) out += paint(p, style, run);
      run = '';
    };
    for (let i = 0; i < end; i++) {
      const c = this.cells[i]!;
      if (c.style !== style) {
        flush();
        style = c.style;
      }
      run += c.ch;
    }
    flush();
    return out;
  }
}

function paint(p: Palette, style: Style, s: string): string {
  switch (style) {
    case 'plain':
      return s;
    case 'boldRed':
      return p.red(p.bold(s));
    default:
      return p[style](s);
  }
}

const noteStyle: Record<NoteTone, Style> = {
  start: 'plain',
  print: 'plain',
  shown: 'green',
  error: 'red',
  input: 'cyan',
  timer: 'dim',
  state: 'dim',
  conn: 'yellow',
  left: 'yellow',
};

const noteIcon: Record<NoteTone, string> = {
  start: '▷ ',
  print: '',
  shown: '',
  error: '',
  input: '⌨ ',
  timer: '⏲ ',
  state: '→ ',
  conn: '',
  left: '',
};

/** Renders a trace as a terminal sequence diagram. */
export function renderSequenceText(trace: readonly TraceEvent[], options: TerminalSequenceOptions): string {
  return drawSequenceText(buildSequence(trace, options), options);
}

/** A terminal diagram being drawn: its geometry, and the lines drawn so far. */
interface TextDrawing {
  seq: Sequence;
  options: TerminalSequenceOptions;
  p: Palette;
  /** columns of a line: the width asked for, or more when the lifelines need it */
  total: number;
  /** columns left of the lifelines: cycle bracket, time, " ms " (or "#" and the step) */
  gutter: number;
  timeWidth: number;
  /** room for a node's name over its lifeline */
  columnWidth: number;
  xOf: number[];
  column: Map<NodeId, number>;
  lines: string[];
  /** the time last written in the gutter (written again only when it changes) */
  lastT: number | null;
}

/** Draws an already built sequence (see `buildSequence`). */
export function drawSequenceText(seq: Sequence, options: TerminalSequenceOptions): string {
  const d = layoutText(seq, options);
  drawHeader(d);
  const plan = elideRows(seq.rows.length, options.maxRows ?? 80, seq.cycleRow);
  seq.rows.forEach((row, i) => {
    if (plan && i >= plan.head && i < plan.tailStart) {
      if (i === plan.head) drawElision(d, row, plan);
      return;
    }
    drawRow(d, row, i);
  });
  return d.lines.join('\n');
}

/** Lays the diagram out in `options.width` columns: the gutter, then the lifelines, spread so that arrows get most of the width. */
function layoutText(seq: Sequence, options: TerminalSequenceOptions): TextDrawing {
  const width = Math.max(40, options.width ?? 100);
  const maxT = seq.rows.reduce((m, r) => Math.max(m, r.t), 0);
  const timeWidth = Math.max(2, String(maxT).length);
  // gutter: cycle bracket, time, " ms " (or "#" and the step)
  const gutter = 1 + timeWidth + 4;
  const n = Math.max(1, seq.nodes.length);
  // The first lifeline sits just right of the gutter; the last leaves a margin for notes (which
  // go left of their lifeline when the right has no room), so arrows get most of the width.
  const first = gutter + 3;
  const rightMargin = Math.min(16, Math.floor((width - first) / 4));
  const spacing = n === 1 ? 0 : Math.max(8, Math.floor((width - first - rightMargin) / (n - 1)));
  const columnWidth = n === 1 ? width - first : spacing;
  const total = Math.max(width, first + spacing * (n - 1) + 2);
  const xOf = seq.nodes.map((_, i) => first + spacing * i);
  const column = new Map(seq.nodes.map((node, i) => [node, i]));
  return { seq, options, p: palette(options.color), total, gutter, timeWidth, columnWidth, xOf, column, lines: [], lastT: null };
}

/** Header: node names centred over their lifelines, and the lifelines' tops. */
function drawHeader(d: TextDrawing): void {
  const { seq, total, gutter, columnWidth, xOf, p } = d;
  const header = new Line(total);
  seq.nodes.forEach((node, i) => {
    const name = truncateToWidth(node, columnWidth - 1);
    const at = Math.min(total - displayWidth(name), Math.max(gutter, xOf[i]! - Math.floor(displayWidth(name) / 2)));
    header.put(at, name, 'bold');
  });
  d.lines.push(header.render(p));
  const firstLanes: LaneStatus[] = seq.rows[0]?.lanes ?? seq.nodes.map(() => 'running');
  const top = new Line(total);
  seq.nodes.forEach((_, i) => top.put(xOf[i]!, '┬', firstLanes[i] === 'absent' ? 'dim' : 'plain'));
  d.lines.push(top.render(p));
}

/** Each node's lifeline on the line, drawn as its status is. */
function putLifelines(d: TextDrawing, line: Line, lanes: readonly LaneStatus[]): void {
  lanes.forEach((status, i) => {
    if (status === 'running') line.put(d.xOf[i]!, '│', 'plain');
    else if (status === 'down') line.put(d.xOf[i]!, '╎', 'red');
    else if (status === 'paused') line.put(d.xOf[i]!, '┆', 'yellow');
    else line.put(d.xOf[i]!, '┊', 'dim');
  });
}

/** Whether the row is in the repeating cycle (its gutter has the cycle bracket). */
function inCycle(d: TextDrawing, rowIndex: number): boolean {
  return d.seq.cycleRow !== null && rowIndex >= d.seq.cycleRow;
}

/** The gutter of a row's first line: the cycle bracket, and the time when it changed. */
function putGutter(d: TextDrawing, line: Line, row: SequenceRow, rowIndex: number): void {
  if (inCycle(d, rowIndex)) line.put(0, '┃', 'yellow');
  if (row.t !== d.lastT) line.put(1, timeColumn(row.t, d.timeWidth, d.options.steps), 'dim');
  d.lastT = row.t;
}

/** A row across the whole width (a fault, the finding): centred in a rule, or wrapped under it. */
function drawFullWidth(d: TextDrawing, text: string, style: Style, rule: string, rowIndex: number, row: SequenceRow | null): void {
  const { total, gutter } = d;
  const room = total - gutter - 2;
  const wrapped = wrapToWidth(text, room - 6);
  wrapped.forEach((part, k) => {
    const line = new Line(total);
    if (row) {
      if (k === 0) putGutter(d, line, row, rowIndex);
      else if (inCycle(d, rowIndex)) line.put(0, '┃', 'yellow');
    }
    if (k === 0 && wrapped.length === 1) {
      const label = ` ${part} `;
      const w = displayWidth(label);
      const left = Math.max(2, Math.floor((room - w) / 2));
      line.put(gutter, rule.repeat(left), style);
      line.put(gutter + left, label, style);
      line.put(gutter + left + w, rule.repeat(Math.max(2, room - left - w)), style);
    } else {
      line.put(gutter, `${k === 0 ? rule.repeat(2) : '  '} ${part}`, style);
    }
    d.lines.push(line.render(d.p));
  });
}

/** One row: the cycle marker first when the cycle starts there, then the row's own line(s). */
function drawRow(d: TextDrawing, row: SequenceRow, rowIndex: number): void {
  const { total, gutter, p } = d;
  if (d.seq.cycleRow === rowIndex) {
    const line = new Line(total);
    line.put(0, '┏', 'yellow');
    const room = total - gutter - 2;
    const label = ` ${cycleMarkerText} `;
    const left = Math.max(2, Math.floor((room - displayWidth(label)) / 2));
    line.put(1, '━'.repeat(gutter - 1 + left), 'yellow');
    line.put(gutter + left, label, 'yellow');
    line.put(gutter + left + displayWidth(label), '━'.repeat(Math.max(2, room - left - displayWidth(label))), 'yellow');
    d.lines.push(line.render(p));
  }
  switch (row.k) {
    case 'message':
      drawMessage(d, row, rowIndex);
      return;
    case 'note': {
      const line = new Line(total);
      putLifelines(d, line, row.lanes);
      putGutter(d, line, row, rowIndex);
      putNote(d, line, d.column.get(row.node) ?? 0, `${noteIcon[row.tone]}${row.text}`, noteStyle[row.tone]);
      d.lines.push(line.render(p));
      return;
    }
    case 'fault':
      drawFullWidth(d, `⚡ ${row.text}`, 'red', '┄', rowIndex, row);
      return;
    case 'finding':
      drawFullWidth(d, `✖ ${row.text}`, 'boldRed', '━', rowIndex, row);
      return;
    case 'end': {
      const line = new Line(total);
      putGutter(d, line, row, rowIndex);
      line.put(gutter, row.text, 'dim');
      d.lines.push(line.render(p));
      return;
    }
  }
}

/** A message: an arrow from sender to receiver with its label on the shaft (a lost one red, ending in ✗), or a note for a self message. */
function drawMessage(d: TextDrawing, row: Extract<SequenceRow, { k: 'message' }>, rowIndex: number): void {
  const line = new Line(d.total);
  putLifelines(d, line, row.lanes);
  putGutter(d, line, row, rowIndex);
  const a = d.column.get(row.from) ?? 0;
  const b = d.column.get(row.to) ?? 0;
  const dropped = row.fate === 'dropped';
  const style: Style = dropped ? 'red' : 'plain';
  const label = dropped ? `${row.label} · lost (${row.reason ?? 'dropped'})` : row.label;
  if (a === b) {
    putNote(d, line, a, `↻ ${label}`, style);
  } else {
    const xa = d.xOf[a]!;
    const xb = d.xOf[b]!;
    const right = xb > xa;
    const lo = Math.min(xa, xb);
    const hi = Math.max(xa, xb);
    line.put(xa, right ? '├' : '┤', style);
    line.put(lo + 1, '─'.repeat(hi - lo - 1), style);
    if (dropped) line.put(right ? hi - 1 : lo + 1, '✗', 'boldRed');
    else line.put(right ? hi - 1 : lo + 1, right ? '▶' : '◀', style);
    // The label sits on the shaft, with a space either side; abbreviated to fit.
    // shaft lo+1..hi-1 holds: a dash, a space, the label, a space, the head.
    const room = hi - lo - 5;
    if (room >= 3) {
      const text = ` ${truncateToWidth(label, room)} `;
      const w = displayWidth(text);
      line.put(lo + 2 + Math.floor((hi - lo - 3 - w) / 2), text, style);
    }
  }
  d.lines.push(line.render(d.p));
}

/** A note beside the node's lifeline: to the right when it fits, else to the left. */
function putNote(d: TextDrawing, line: Line, i: number, text: string, style: Style): void {
  const x = d.xOf[i]!;
  const w = displayWidth(text);
  const rightRoom = d.total - (x + 2);
  const leftRoom = x - 1 - d.gutter;
  if (w <= rightRoom || rightRoom >= leftRoom) {
    line.put(x + 2, truncateToWidth(text, rightRoom), style);
  } else {
    const shown = truncateToWidth(text, leftRoom);
    line.put(x - 1 - displayWidth(shown), shown, style);
  }
}

/** The line that stands for the rows left out (`row` is the first of them), saying when the cycle starts among them. */
function drawElision(d: TextDrawing, row: SequenceRow, plan: { head: number; tailStart: number }): void {
  const { seq, gutter } = d;
  const hidden = plan.tailStart - plan.head;
  const cycleHidden = seq.cycleRow !== null && seq.cycleRow >= plan.head && seq.cycleRow < plan.tailStart;
  const line = new Line(d.total);
  putLifelines(d, line, row.lanes);
  line.put(gutter - 4, '⋮', 'dim');
  line.put(gutter + 1, ` … ${hidden} more row${hidden === 1 ? '' : 's'}${cycleHidden ? ` (the cycle starts among them: ${cycleMarkerText})` : ''} … `, cycleHidden ? 'yellow' : 'dim');
  d.lines.push(line.render(d.p));
  d.lastT = null;
}
