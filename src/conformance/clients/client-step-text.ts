/**
 * Client-suite steps and program output in the words of reports and traces: a step as a report
 * names it (`kill -9 c1 right after SET connected="1"`), a request to protosim's IM server as a
 * trace message, and the trace kind of each kind of output line.
 */
import type { PrintKind } from '../../models/types.js';
import type { PatternKind } from './adapter-schema.js';
import type { ClientStepFile } from './client-suite-schema.js';
import { describeImRequest, type ImRequestRecord } from './im-server.js';

/** The trace kind (`print` events) of each kind of output line. */
export const printKindOf: Record<PatternKind, PrintKind> = {
  prompt: 'prompt',
  message: 'message',
  waiting: 'status',
  joined: 'status',
  peerLeft: 'peer-left',
  serverBusy: 'error',
  serverShutdown: 'peer-left',
  refused: 'error',
  error: 'error',
};

/** A request to the IM server as a trace message (`GET connected`, `SET lock 1`). */
export function requestMessage(r: ImRequestRecord): { type: string; [k: string]: unknown } {
  const type = r.action === 'invalid' ? 'INVALID' : r.action.toUpperCase();
  return { type, ...(r.key !== undefined ? { key: r.key } : {}), ...(r.value !== undefined ? { value: r.value } : {}) };
}

/** What an expect step asks of a line besides its kind: a message's exact text and sender, when it gives them. */
export function lineMatch(step: ClientStepFile): { text?: string; sender?: string } {
  return { ...(step.text !== undefined ? { text: step.text } : {}), ...(step.from !== undefined ? { sender: step.from } : {}) };
}

/** The line an expect step waits for: `a message "hi" from c1`, `a refused line`. */
export function wantedLine(step: ClientStepFile): string {
  if (step.kind !== 'message' || (step.text === undefined && step.from === undefined)) return `a ${step.kind} line`;
  return `a message${step.text !== undefined ? ` ${JSON.stringify(step.text)}` : ''}${step.from !== undefined ? ` from ${step.from}` : ''}`;
}

/** Messages as a report lists them: `"hi" (from c3)` when the adapter read a sender. */
export function shownMessage(m: { text?: string; from?: string }): string {
  return `${JSON.stringify(m.text)}${m.from !== undefined ? ` (from ${m.from})` : ''}`;
}

/** `c1 types "hello"`, `kill c1 after SET connected`. */
export function describeStep(step: ClientStepFile): string {
  if (step.if !== undefined) {
    const { if: condition, ...rest } = step;
    return `${describeStep(rest)} (if ${condition.running !== undefined ? `${condition.running} runs` : `${condition.exited} has ended`})`;
  }
  if (step.preload) return `keys left from an earlier session: ${Object.entries(step.preload).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', ')}`;
  if (step.start) return `start ${Array.isArray(step.start) ? step.start.join(', ') : step.start}${step.together ? ' in the same millisecond' : ''}`;
  if (Array.isArray(step.expect)) return `one of ${step.expect.join(', ')} shows ${step.kind}${step.as ? ` (as ${step.as})` : ''}`;
  if (step.expect) {
    if (step.exit) return `${step.expect} exits`;
    const what = step.kind === 'message' && (step.text !== undefined || step.from !== undefined) ? wantedLine(step).replace(/^a /, '') : `${step.kind}`;
    return `${step.expect} ${step.absent ? 'shows no' : 'shows'} ${what}${step.orExit ? ' or ends' : ''}${step.withinMs ? ` within ${step.withinMs} ms` : ''}${step.afterLease ? ' (after its lease)' : ''}`;
  }
  if (step.type) return step.text !== undefined ? `${step.type} types ${JSON.stringify(step.text)}` : `${step.type} presses ${JSON.stringify(step.keys)}`;
  if (step.check) return `${step.check} asks for queued messages`;
  if (step.quit) return `${step.quit} quits`;
  if (step.kill) return `kill -9 ${step.kill}${step.after ? ` right after ${describeImRequest({ action: step.after.action, ...(step.after.key !== undefined ? { key: step.after.key } : {}), ...(step.after.value !== undefined ? { value: step.after.value } : {}) })}` : ''}`;
  if (step.pause) return `pause ${step.pause} (SIGSTOP)`;
  if (step.resume) return `resume ${step.resume} (SIGCONT)`;
  if (step.restart) return `restart ${step.restart}`;
  if (step.fault) return `server fault ${step.fault}${step.client ? ` for ${step.client}` : ''}${step.ms ? ` ${step.ms} ms` : ''}`;
  return step.wait === 'lease' ? 'wait until a dead program\'s lease has run out' : `wait ${step.wait} ms`;
}
