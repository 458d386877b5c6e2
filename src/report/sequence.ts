/**
 * A trace as a sequence diagram, independent of how it is drawn: the participants (columns) and
 * one row per thing worth seeing (a message arriving or lost, a note in a node's column, a fault
 * across all columns). The terminal, Mermaid and SVG renderers all draw from this one model, so
 * they agree on what a trace shows.
 */
import type { DropReason, TraceEvent } from '../sim/trace.js';
import { formatFault, formatMessage } from './format.js';
import { oneLine } from './text-width.js';

/** A node id, as traces name nodes (reports read traces only, not models). */
export type NodeId = Extract<TraceEvent, { k: 'start' }>['node'];

/** What a node's lifeline shows at a row: not yet started, running, crashed, or paused. */
export type LaneStatus = 'absent' | 'running' | 'down' | 'paused';

export type NoteTone = 'start' | 'print' | 'shown' | 'error' | 'input' | 'timer' | 'state' | 'conn' | 'left';

export type SequenceRow = (
  | {
      k: 'message';
      from: NodeId;
      to: NodeId;
      /** the message, formatted (`GET key=connected`) */
      label: string;
      /** when it was sent, when the trace has the send; else null */
      sendT: number | null;
      /** index of the row that was last before the send (arrows start just below it); -1 = top */
      sendAfterRow: number;
      fate: 'delivered' | 'dropped';
      reason: DropReason | null;
    }
  | { k: 'note'; node: NodeId; text: string; tone: NoteTone }
  | {
      k: 'fault';
      text: string;
      /** the nodes it hits; empty for the whole network */
      nodes: NodeId[];
    }
  | { k: 'finding'; text: string }
  | { k: 'end'; text: string }
) & {
  t: number;
  /** index of the trace event the row came from */
  index: number;
  /** status of every node's lifeline during this row, aligned with `Sequence.nodes` */
  lanes: LaneStatus[];
};

/** A row before the lane statuses are attached (Omit that keeps the union). */
type RowWithoutLanes = SequenceRow extends infer R ? (R extends SequenceRow ? Omit<R, 'lanes'> : never) : never;

export interface Sequence {
  nodes: NodeId[];
  rows: SequenceRow[];
  /** the row where the repeating cycle starts (the rows from there on repeat for ever), or null */
  cycleRow: number | null;
}

export interface SequenceOptions {
  /** index into the trace where the repeating cycle starts */
  cycleStart?: number | null;
  /** a note for every state change (the HTML timeline shows them anyway) */
  states?: boolean;
  /** a note when a timer fires (default true: polls are how nodes wait) */
  timers?: boolean;
  /** a note for prompts (default false: every typed line has one) */
  prompts?: boolean;
  /** the trace is untimed (exhaustive): its times are step numbers, not ms */
  steps?: boolean;
}

/** The participants in order: as they start, then as they first appear. */
export function sequenceNodes(trace: readonly TraceEvent[]): NodeId[] {
  const seen = new Set<NodeId>();
  for (const e of trace) if (e.k === 'start') seen.add(e.node);
  for (const e of trace) {
    switch (e.k) {
      case 'send':
      case 'deliver':
      case 'drop':
      case 'duplicate':
        seen.add(e.from);
        seen.add(e.to);
        break;
      case 'timer':
      case 'input':
      case 'quit':
      case 'print':
      case 'state':
      case 'start':
        seen.add(e.node);
        break;
      case 'conn':
        seen.add(e.node);
        seen.add(e.peer);
        break;
      case 'fault':
        for (const n of faultNodes(e.fault)) seen.add(n);
        break;
      default:
        break;
    }
  }
  return [...seen];
}

function faultNodes(f: Extract<TraceEvent, { k: 'fault' }>['fault']): NodeId[] {
  switch (f.kind) {
    case 'crash':
    case 'restart':
    case 'pause':
    case 'resume':
      return [f.node];
    case 'partition':
      return [...f.from, ...f.to];
    default:
      return [];
  }
}

/** Builds the diagram model of a trace. */
export function buildSequence(trace: readonly TraceEvent[], options: SequenceOptions = {}): Sequence {
  const nodes = sequenceNodes(trace);
  const column = new Map(nodes.map((n, i) => [n, i]));
  const startsLater = new Set(trace.filter((e) => e.k === 'start').map((e) => (e as { node: NodeId }).node));
  const lanes: LaneStatus[] = nodes.map((n) => (startsLater.has(n) ? 'absent' : 'running'));
  const sends = new Map<number, { t: number; afterRow: number }>();
  const rows: SequenceRow[] = [];
  let cycleRow: number | null = null;
  const setLane = (node: NodeId, status: LaneStatus): void => {
    const i = column.get(node);
    if (i !== undefined) lanes[i] = status;
  };
  const push = (row: RowWithoutLanes): void => {
    rows.push({ ...row, lanes: [...lanes] } as SequenceRow);
  };
  trace.forEach((e, index) => {
    if (cycleRow === null && options.cycleStart !== undefined && options.cycleStart !== null && index >= options.cycleStart) {
      cycleRow = rows.length;
    }
    const base = { t: e.t, index };
    switch (e.k) {
      case 'start':
        setLane(e.node, 'running');
        push({ ...base, k: 'note', node: e.node, tone: 'start', text: `${e.fresh ? 'starts' : 'restarts, state kept,'} as ${e.role} (${e.state})` });
        return;
      case 'send':
        sends.set(e.id, { t: e.t, afterRow: rows.length - 1 });
        return;
      case 'duplicate': {
        const original = sends.get(e.id);
        if (original) sends.set(e.copy, original);
        push({ ...base, k: 'note', node: e.from, tone: 'conn', text: `network duplicates message #${e.id} to ${e.to}` });
        return;
      }
      case 'deliver':
      case 'drop':
        push(messageRow(e, base, sends.get(e.id), rows.length - 1));
        return;
      case 'fault': {
        const f = e.fault;
        if (f.kind === 'crash') setLane(f.node, 'down');
        else if (f.kind === 'pause') setLane(f.node, 'paused');
        else if (f.kind === 'resume') setLane(f.node, 'running');
        push({ ...base, k: 'fault', text: formatFault(f), nodes: faultNodes(f) });
        return;
      }
      default: {
        const row = noteRow(e, base, options);
        if (row !== null) push(row);
      }
    }
  });
  return { nodes, rows, cycleRow };
}

/** The row of a message delivered or dropped; `sent` is its send (null sendT when the trace lacks it), `lastRow` the row before this one. */
function messageRow(
  e: Extract<TraceEvent, { k: 'deliver' | 'drop' }>,
  base: { t: number; index: number },
  sent: { t: number; afterRow: number } | undefined,
  lastRow: number,
): RowWithoutLanes {
  return {
    ...base,
    k: 'message',
    from: e.from,
    to: e.to,
    label: oneLine(formatMessage(e.msg)),
    sendT: sent ? sent.t : null,
    sendAfterRow: sent ? sent.afterRow : lastRow,
    fate: e.k === 'deliver' ? 'delivered' : 'dropped',
    reason: e.k === 'drop' ? e.reason : null,
  };
}

/** The row of an event that changes no lifeline (a timer, the user, a print, a state, a connection, the finding, the end), or null when the options hide it. */
function noteRow(e: TraceEvent, base: { t: number; index: number }, options: SequenceOptions): RowWithoutLanes | null {
  switch (e.k) {
    case 'timer': {
      if (!(options.timers ?? true)) return null;
      const m = /^xstate\.after\.([^.]+)\./.exec(e.event);
      return { ...base, k: 'note', node: e.node, tone: 'timer', text: m ? `after ${m[1]}` : e.event };
    }
    case 'input':
      return { ...base, k: 'note', node: e.node, tone: 'input', text: `user types ${JSON.stringify(e.text)}` };
    case 'quit':
      return { ...base, k: 'note', node: e.node, tone: 'input', text: 'user quits (Ctrl-C)' };
    case 'print': {
      if (e.kind === 'prompt' && !(options.prompts ?? false)) return null;
      const text = JSON.stringify(e.text);
      const [tone, verb]: [NoteTone, string] =
        e.kind === 'message' ? ['shown', 'shows'] : e.kind === 'error' ? ['error', 'prints error'] : e.kind === 'peer-left' ? ['left', 'prints'] : ['print', 'prints'];
      return { ...base, k: 'note', node: e.node, tone, text: `${verb} ${text}` };
    }
    case 'state':
      return (options.states ?? false) ? { ...base, k: 'note', node: e.node, tone: 'state', text: `now ${e.state}` } : null;
    case 'conn':
      return { ...base, k: 'note', node: e.node, tone: 'conn', text: `connection to ${e.peer} ${e.event}` };
    case 'finding':
      return { ...base, k: 'finding', text: e.summary };
    case 'end':
      return { ...base, k: 'end', text: `end (${e.reason})` };
    default:
      return null;
  }
}

/**
 * Which rows to show when there are more than `maxRows`: the head and the tail, with the tail
 * stretched back to the start of the repeating cycle when it fits, since the cycle is the point.
 */
export function elideRows(count: number, maxRows: number, cycleRow: number | null): { head: number; tailStart: number } | null {
  if (count <= maxRows) return null;
  let head = Math.max(1, Math.floor(maxRows / 2));
  let tailStart = count - (maxRows - head);
  if (cycleRow !== null && cycleRow < tailStart) {
    const minHead = Math.min(head, Math.max(1, Math.floor(maxRows / 5)));
    if (count - cycleRow <= maxRows - minHead) {
      tailStart = cycleRow;
      head = maxRows - (count - cycleRow);
    }
  }
  return { head, tailStart };
}
