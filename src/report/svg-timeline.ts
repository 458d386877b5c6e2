/**
 * A timeline of a trace as inline SVG: one lane per node with its states as coloured segments
 * (crashed and paused spans hatched), faults as red markers across the lanes, the finding as a
 * marker at the time it was made. Time runs left to right on a compressed axis: quiet gaps (a
 * 500 ms poll interval) are shortened so the busy first milliseconds stay legible.
 */
import type { TraceEvent } from '../sim/trace.js';
import { formatFault } from './format.js';
import { sequenceNodes, type NodeId } from './sequence.js';
import { boltPath, escapeXml, fitText, monoFont, px, stateFill, textWidthPx } from './svg.js';
import { timeText, timeTick } from './time-label.js';

export interface SvgTimelineOptions {
  /** drawing width in px (default 1000) */
  widthPx?: number;
  /** prefix for the SVG pattern ids, unique per page (a pattern inside a hidden SVG does not paint) */
  idPrefix?: string;
  /** the trace is untimed (exhaustive): its times are step numbers, not ms */
  steps?: boolean;
}

interface Segment {
  node: NodeId;
  label: string;
  kind: 'state' | 'down' | 'paused';
  fromMs: number;
  toMs: number;
}

const laneHeight = 30;
const labelWidth = 90;
const axisHeight = 34;
const markerHeight = 22;

/** The states of every node over time, from `start`, `state` and process-fault events. */
export function timelineSegments(trace: readonly TraceEvent[]): { nodes: NodeId[]; segments: Segment[]; endMs: number } {
  const nodes = sequenceNodes(trace);
  const endMs = trace.reduce((m, e) => Math.max(m, e.t), 0);
  const open = new Map<NodeId, Omit<Segment, 'toMs'>>();
  const segments: Segment[] = [];
  const lastState = new Map<NodeId, string>();
  const close = (node: NodeId, t: number): void => {
    const s = open.get(node);
    if (s) segments.push({ ...s, toMs: t });
    open.delete(node);
  };
  const begin = (node: NodeId, label: string, kind: Segment['kind'], t: number): void => {
    close(node, t);
    open.set(node, { node, label, kind, fromMs: t });
  };
  for (const e of trace) {
    if (e.k === 'start') {
      lastState.set(e.node, e.state);
      begin(e.node, e.state, 'state', e.t);
    } else if (e.k === 'state') {
      lastState.set(e.node, e.state);
      if (open.get(e.node)?.kind !== 'down') begin(e.node, e.state, 'state', e.t);
    } else if (e.k === 'fault') {
      const f = e.fault;
      if (f.kind === 'crash') begin(f.node, 'crashed', 'down', e.t);
      else if (f.kind === 'pause') begin(f.node, 'paused', 'paused', e.t);
      else if (f.kind === 'resume') begin(f.node, lastState.get(f.node) ?? 'running', 'state', e.t);
    }
  }
  for (const node of [...open.keys()]) close(node, endMs);
  return { nodes, segments, endMs };
}

/** A compressed time axis: each gap between event times gets a width that grows with its log. */
function timeScale(times: number[], widthPx: number): (t: number) => number {
  const sorted = [...new Set(times)].sort((a, b) => a - b);
  if (sorted.length <= 1) return () => 0;
  const xs = [0];
  for (let i = 1; i < sorted.length; i++) xs.push(xs[i - 1]! + 4 + 30 * Math.log10(1 + (sorted[i]! - sorted[i - 1]!)));
  const k = widthPx / xs[xs.length - 1]!;
  return (t: number): number => {
    // Times are event times, or between two of them: interpolate.
    let lo = 0;
    let hi = sorted.length - 1;
    if (t <= sorted[0]!) return 0;
    if (t >= sorted[hi]!) return xs[hi]! * k;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (sorted[mid]! <= t) lo = mid;
      else hi = mid;
    }
    const f = (t - sorted[lo]!) / (sorted[hi]! - sorted[lo]!);
    return (xs[lo]! + f * (xs[hi]! - xs[lo]!)) * k;
  };
}

export function renderTimelineSvg(trace: readonly TraceEvent[], options: SvgTimelineOptions = {}): string {
  const { nodes, segments, endMs } = timelineSegments(trace);
  const plotWidth = (options.widthPx ?? 1000) - labelWidth - 20;
  const faults = trace.filter((e): e is Extract<TraceEvent, { k: 'fault' }> => e.k === 'fault');
  const findings = trace.filter((e): e is Extract<TraceEvent, { k: 'finding' }> => e.k === 'finding');
  const scale = timeScale([0, endMs, ...segments.flatMap((s) => [s.fromMs, s.toMs]), ...faults.map((f) => f.t), ...findings.map((f) => f.t)], plotWidth);
  const x = (t: number): number => labelWidth + scale(t);
  const markerRows = Math.min(4, faults.length + findings.length);
  const lanesTop = 8 + markerRows * markerHeight + 6;
  const lanesBottom = lanesTop + nodes.length * laneHeight;
  const width = labelWidth + plotWidth + 20;
  const height = lanesBottom + axisHeight;
  const out: string[] = [];
  const id = options.idPrefix ?? 'tl';
  out.push(
    `<defs><pattern id="${id}-hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#fee2e2"/><line x1="0" y1="0" x2="0" y2="6" stroke="#f87171" stroke-width="2"/></pattern>` +
      `<pattern id="${id}-pause" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#fef3c7"/><line x1="0" y1="0" x2="0" y2="6" stroke="#f59e0b" stroke-width="2"/></pattern></defs>`,
  );
  nodes.forEach((node, i) => {
    const y = lanesTop + i * laneHeight;
    out.push(`<rect x="${labelWidth}" y="${px(y)}" width="${px(plotWidth)}" height="${laneHeight}" fill="${i % 2 ? '#f8fafc' : '#fff'}"/>`);
    out.push(`<text class="lane-label" x="${labelWidth - 10}" y="${px(y + laneHeight / 2 + 4)}" text-anchor="end" font-size="12" font-weight="700" fill="#0f172a">${escapeXml(fitText(node, labelWidth - 14, 12))}</text>`);
  });
  for (const s of segments) {
    const i = nodes.indexOf(s.node);
    const y = lanesTop + i * laneHeight + 4;
    const x1 = x(s.fromMs);
    const w = Math.max(2, x(s.toMs) - x1);
    const fill = s.kind === 'down' ? `url(#${id}-hatch)` : s.kind === 'paused' ? `url(#${id}-pause)` : stateFill(s.label);
    const stroke = s.kind === 'down' ? '#dc2626' : s.kind === 'paused' ? '#d97706' : '#94a3b8';
    const label = w > 30 ? fitText(s.label, w - 8, 11) : '';
    out.push(
      `<g class="segment ${s.kind}"><rect x="${px(x1)}" y="${px(y)}" width="${px(w)}" height="${laneHeight - 8}" rx="3" fill="${fill}" stroke="${stroke}" stroke-width="0.8"/>` +
        (label ? `<text x="${px(x1 + 4)}" y="${px(y + 15)}" font-size="11" fill="#0f172a">${escapeXml(label)}</text>` : '') +
        `<title>${escapeXml(`${s.node}: ${s.label} from ${timeText(s.fromMs, options.steps)} to ${timeText(s.toMs, options.steps)}`)}</title></g>`,
    );
  }
  const markers = [
    ...faults.map((f) => ({ t: f.t, text: formatFault(f.fault), color: '#dc2626', kind: 'fault' })),
    ...findings.map((f) => ({ t: f.t, text: f.summary, color: '#7f1d1d', kind: 'finding' })),
  ].sort((a, b) => a.t - b.t);
  markers.forEach((m, k) => {
    const mx = x(m.t);
    const row = markerRows > 0 ? k % markerRows : 0;
    const ty = 8 + row * markerHeight;
    const text = fitText(m.kind === 'finding' ? `✖ ${m.text}` : m.text, 320, 11);
    const tw = textWidthPx(text, 11) + 26;
    // Labels near the right edge open to the left so they stay inside the drawing.
    const leftward = mx + tw > width;
    const lx = leftward ? mx - tw : mx;
    out.push(
      `<g class="marker ${m.kind}"><line x1="${px(mx)}" y1="${px(ty + 16)}" x2="${px(mx)}" y2="${px(lanesBottom)}" stroke="${m.color}" stroke-width="2" stroke-dasharray="${m.kind === 'fault' ? '4 3' : ''}"/>` +
        `<rect x="${px(lx)}" y="${px(ty)}" width="${px(tw)}" height="17" rx="3" fill="${m.kind === 'fault' ? '#fee2e2' : '#b91c1c'}" stroke="${m.color}" stroke-width="0.8"/>` +
        (m.kind === 'fault' ? boltPath(lx + 4, ty + 2.5, 12) : '') +
        `<text x="${px(lx + (m.kind === 'fault' ? 20 : 6))}" y="${px(ty + 12.5)}" font-size="11" fill="${m.kind === 'fault' ? '#991b1b' : '#fff'}" font-weight="700">${escapeXml(text)}</text>` +
        `<title>${escapeXml(`${timeText(m.t, options.steps)}: ${m.text}`)}</title></g>`,
    );
  });
  // Axis: a tick at event times, labelled where there is room.
  out.push(`<line x1="${labelWidth}" y1="${px(lanesBottom)}" x2="${px(labelWidth + plotWidth)}" y2="${px(lanesBottom)}" stroke="#475569"/>`);
  const tickTimes = [...new Set([0, ...segments.map((s) => s.fromMs), ...markers.map((m) => m.t), endMs])].sort((a, b) => a - b);
  let lastLabel = -Infinity;
  for (const t of tickTimes) {
    const tx = x(t);
    out.push(`<line x1="${px(tx)}" y1="${px(lanesBottom)}" x2="${px(tx)}" y2="${px(lanesBottom + 4)}" stroke="#475569"/>`);
    const label = timeTick(t, options.steps);
    if (tx - lastLabel > textWidthPx(label, 10) + 10) {
      out.push(`<text class="tick" x="${px(tx)}" y="${px(lanesBottom + 16)}" text-anchor="middle" font-size="10" fill="#475569">${label}</text>`);
      lastLabel = tx;
    }
  }
  out.push(`<text x="${px(labelWidth + plotWidth)}" y="${px(lanesBottom + 30)}" text-anchor="end" font-size="10" fill="#94a3b8" font-style="italic">${options.steps ? 'steps of the untimed search (no time)' : 'time axis compressed: quiet gaps are shortened'}</text>`);
  return (
    `<svg class="timeline" role="img" aria-label="timeline of node states and faults" viewBox="0 0 ${px(width)} ${px(height)}" width="${px(width)}" height="${px(height)}" font-family="${escapeXml(monoFont)}">` +
    out.join('') +
    `</svg>`
  );
}
