/**
 * Small formatting helpers shared by the renderers.
 */
import type { ProtocolMessage } from '../models/types.js';
import type { FaultSpec } from '../sim/config.js';

/** `SET key=connected value="1"` style, compact and readable. */
export function formatMessage(msg: ProtocolMessage): string {
  const parts: string[] = [msg.type];
  for (const [k, v] of Object.entries(msg)) {
    if (k === 'type') continue;
    parts.push(`${k}=${formatValue(v)}`);
  }
  return parts.join(' ');
}

function formatValue(v: unknown): string {
  if (v === null || v === undefined) return '∅';
  if (typeof v === 'string') return /^[\w.:/-]+$/.test(v) && v.length > 0 ? v : JSON.stringify(v);
  return JSON.stringify(v);
}

export function formatFault(f: FaultSpec): string {
  switch (f.kind) {
    case 'crash':
      return `crash ${f.node} (${f.mode === 'reset' ? 'killed: connections reset' : 'silent: host vanished'})`;
    case 'restart':
      return `restart ${f.node} (${f.state === 'fresh' ? 'fresh state' : 'state kept'})`;
    case 'pause':
      return `pause ${f.node}`;
    case 'resume':
      return `resume ${f.node}`;
    case 'partition':
      return `partition ${f.from.join(',')} ${f.direction === 'both' ? '<-/->' : '-/->'} ${f.to.join(',')}`;
    case 'heal':
      return 'heal all partitions';
    case 'drop':
    case 'duplicate':
      return `${f.kind} next ${f.count > 1 ? `${f.count} ` : ''}${f.msgType ?? 'message'}${f.from ? ` from ${f.from}` : ''}${f.to ? ` to ${f.to}` : ''}`;
  }
}

/** ANSI colours, off unless the output is a terminal. */
export interface Palette {
  bold(s: string): string;
  red(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
  dim(s: string): string;
  cyan(s: string): string;
}

const wrap = (open: number, close: number) => (s: string) => `\u001b[${open}m${s}\u001b[${close}m`;

export function palette(color: boolean): Palette {
  if (!color) {
    const id = (s: string): string => s;
    return { bold: id, red: id, green: id, yellow: id, dim: id, cyan: id };
  }
  return { bold: wrap(1, 22), red: wrap(31, 39), green: wrap(32, 39), yellow: wrap(33, 39), dim: wrap(2, 22), cyan: wrap(36, 39) };
}
