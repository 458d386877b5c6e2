/**
 * Small helpers for the SVG the HTML report draws: escaping, text widths in the monospace font
 * the diagrams use (so boxes fit their text without measuring in a browser), and colours.
 */

/** Escapes text for XML/HTML content and attribute values. */
export function escapeXml(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '\uFFFD').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The diagrams' font: monospace, so a character is 0.6 em wide in every fallback that matters. */
export const monoFont = "ui-monospace, 'DejaVu Sans Mono', 'Liberation Mono', Menlo, Consolas, monospace";

/** Width of `s` in px at `fontSizePx` in the monospace font. */
export function textWidthPx(s: string, fontSizePx: number): number {
  return [...s].length * fontSizePx * 0.61;
}

/** Cuts `s` to fit `widthPx` at `fontSizePx`, ending with … when cut. */
export function fitText(s: string, widthPx: number, fontSizePx: number): string {
  const max = Math.floor(widthPx / (fontSizePx * 0.61));
  const chars = [...s];
  if (chars.length <= max) return s;
  return max <= 1 ? '…' : chars.slice(0, max - 1).join('') + '…';
}

/** A number for an SVG attribute: at most one decimal, no trailing zeros. */
export function px(n: number): string {
  return String(Math.round(n * 10) / 10);
}

/** Soft fills for node states, picked by a stable hash of the state name. */
const stateFills = ['#dbeafe', '#dcfce7', '#fef3c7', '#ede9fe', '#cffafe', '#fce7f3', '#e0e7ff', '#ecfccb', '#ffedd5', '#f1f5f9'];

export function stateFill(name: string): string {
  let h = 2166136261;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 16777619) >>> 0;
  return stateFills[h % stateFills.length]!;
}

/** A lightning bolt path (faults), drawn rather than typed so no font needs the glyph. */
export function boltPath(x: number, y: number, size: number): string {
  const s = size / 12;
  const pts = [
    [7, 0],
    [1, 7],
    [5.5, 7],
    [4, 12],
    [11, 4.5],
    [6.5, 4.5],
    [8, 0],
  ];
  return `<path d="M${pts.map(([a, b]) => `${px(x + a! * s)},${px(y + b! * s)}`).join(' L')} Z" fill="#dc2626"/>`;
}
