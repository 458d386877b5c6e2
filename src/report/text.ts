/**
 * Terminal rendering of traces and findings: a readable sequence of events between nodes.
 */
import type { Finding } from '../sim/finding.js';
import type { TraceEvent } from '../sim/trace.js';
import { formatFault, formatMessage, palette, type Palette } from './format.js';
import { timeColumn, timeText } from './time-label.js';

export interface TextOptions {
  color: boolean;
  /** show state changes (verbose) */
  states?: boolean;
  /** at most this many events; the middle is elided */
  maxEvents?: number;
  /** the trace is untimed (exhaustive): its times are step numbers, not ms */
  steps?: boolean;
}

/** One line per event; null for events not worth a line in this view. */
export function formatTraceEvent(e: TraceEvent, p: Palette, states = false): string | null {
  switch (e.k) {
    case 'start':
      return `${e.node} ${e.fresh ? 'starts' : 'restarts with its state kept'} as ${e.role} (${e.state})`;
    case 'send':
      return null; // shown when delivered or dropped
    case 'deliver':
      return `${e.from} → ${e.to}  ${formatMessage(e.msg)}`;
    case 'drop':
      return p.red(`${e.from} → ${e.to}  ${formatMessage(e.msg)}  ✗ lost (${e.reason})`);
    case 'duplicate':
      return p.yellow(`${e.from} → ${e.to}  message #${e.id} duplicated by the network`);
    case 'timer': {
      const m = /^xstate\.after\.([^.]+)\./.exec(e.event);
      return p.dim(`${e.node} ⏲ ${m ? `after ${m[1]}` : e.event}`);
    }
    case 'input':
      return `${e.node} ⌨ user types ${JSON.stringify(e.text)}`;
    case 'quit':
      return `${e.node} ⌨ user quits (Ctrl-C)`;
    case 'print':
      if (e.kind === 'prompt') return states ? p.dim(`${e.node} prompts ${JSON.stringify(e.text)}`) : null;
      if (e.kind === 'message') return p.green(`${e.node} shows message ${JSON.stringify(e.text)}`);
      return `${e.node} prints (${e.kind}) ${JSON.stringify(e.text)}`;
    case 'state':
      return states ? p.dim(`${e.node} is now ${e.state}`) : null;
    case 'conn':
      return p.yellow(`${e.node} sees connection to ${e.peer} ${e.event}`);
    case 'fault':
      return p.red(`⚡ ${formatFault(e.fault)}`);
    case 'finding':
      return p.red(p.bold(`✖ ${e.summary}`));
    case 'end':
      return p.dim(`end (${e.reason})`);
  }
}

export function renderTrace(trace: readonly TraceEvent[], options: TextOptions & { cycleStart?: number | null }): string {
  const p = palette(options.color);
  const lines: string[] = [];
  trace.forEach((e, index) => {
    if (options.cycleStart !== undefined && options.cycleStart !== null && index === options.cycleStart) {
      lines.push(p.yellow('      ──── from here the same states repeat for ever ────'));
    }
    const text = formatTraceEvent(e, p, options.states ?? false);
    if (text === null) return;
    lines.push(`${timeColumn(e.t, 7, options.steps)}  ${text}`);
  });
  const max = options.maxEvents ?? Infinity;
  if (lines.length > max) {
    const head = Math.floor(max / 2);
    const tail = max - head;
    return [...lines.slice(0, head), p.dim(`      … ${lines.length - max} more lines …`), ...lines.slice(-tail)].join('\n');
  }
  return lines.join('\n');
}

/** What deadlocked and why: each unfinished node and what it waits for. */
export function renderWaits(f: Finding, color: boolean, steps = false): string {
  const p = palette(color);
  const lines: string[] = [];
  for (const n of f.nodes) {
    let line = `  ${p.bold(n.id)} (${n.role}, ${n.status}, in ${n.state})`;
    if (n.status === 'crashed') line += ': crashed';
    else if (n.waitsFor) line += `: waits for ${n.waitsFor}`;
    else if (n.status === 'done') line += ': has exited';
    const details: string[] = [];
    if (n.lastSent) details.push(`last sent ${formatMessage(n.lastSent.msg)} to ${n.lastSent.to} at ${timeText(n.lastSent.t, steps)}`);
    if (n.lastReceived) details.push(`last got ${formatMessage(n.lastReceived.msg)} from ${n.lastReceived.from} at ${timeText(n.lastReceived.t, steps)}`);
    lines.push(line);
    if (details.length) lines.push(p.dim(`      ${details.join('; ')}`));
  }
  return lines.join('\n');
}
