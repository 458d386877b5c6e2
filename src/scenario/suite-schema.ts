/**
 * The schema of a conformance suite file (`scenarios/conformance/<protocol>/*.yaml`): a target
 * default and `cases:`, each with a stable id, a level, points, tags and steps. A file with `cases:`
 * is a suite; `protosim run` runs it against a live target (docs/conformance.md).
 *
 * Steps are mappings with exactly one action key (`connect`, `send`, `expect`, `disconnect`,
 * `fault`, `wait`) and the options of that action; the refinement below names an option that does
 * not belong to the action, so a typo is reported at its own line.
 */
import { z } from 'zod';
import { builtinLiveProtocols } from '../models/registry.js';
import { caseHeaderFields, clientName as clientId, durationMs as duration, stepRules, suiteId } from './step-language.js';
import { targetSchema } from './target-schema.js';

/** Faults a step can inject: on a client's link (through the proxy) or on the target process. */
export const linkFaultKinds = ['latency', 'jitter', 'bandwidth', 'slow-close', 'timeout', 'reset', 'cut', 'partition', 'heal', 'drop', 'clear', 'hold', 'release', 'delay', 'duplicate', 'split', 'merge', 'reorder'] as const;
/** Faults on whole messages of one direction (the proxy cuts the stream with the protocol's codec). */
export const messageFaultKinds = ['hold', 'release', 'delay', 'duplicate', 'split', 'merge', 'reorder', 'drop'] as const;
export const processFaultKinds = ['kill', 'pause', 'resume', 'restart', 'stop'] as const;
export const faultKinds = [...linkFaultKinds, ...processFaultKinds] as const;
export type LinkFaultKind = (typeof linkFaultKinds)[number];
export type ProcessFaultKind = (typeof processFaultKinds)[number];

export const stepActions = ['connect', 'send', 'expect', 'disconnect', 'fault', 'wait'] as const;

/** Which options each action takes (besides its own key). */
export const stepOptions: Record<(typeof stepActions)[number], readonly string[]> = {
  connect: ['store'],
  send: ['msg', 'msgs', 'raw'],
  expect: ['msg', 'msgs', 'anyOrder', 'nothing', 'closed', 'withinMs', 'maybe'],
  disconnect: ['mode'],
  fault: ['client', 'ms', 'bytesPerSecond', 'afterBytes', 'direction', 'count', 'parts', 'messages', 'order'],
  wait: [],
};

/** Raw bytes: text (UTF-8) or hex, optionally repeated. */
export const rawBytesSchema = z.strictObject({
  text: z.string().optional(),
  hex: z.string().regex(/^([0-9a-fA-F]{2}\s*)*$/, 'hex bytes like "0a ff 00"').optional(),
  repeat: z.number().int().positive().max(64 * 1024 * 1024).optional(),
  /** text written once after the (repeated) bytes: a line protocol's "\n", so what follows starts a frame of its own */
  end: z.string().optional(),
});

export const stepSchema = z
  .strictObject({
    connect: z.union([clientId, z.array(clientId).min(1)]).optional(),
    send: clientId.optional(),
    expect: z.union([clientId, z.literal('model')]).optional(),
    disconnect: clientId.optional(),
    fault: z.enum(faultKinds).optional(),
    wait: duration.optional(),
    /** connect: the kv store name (protosim's `store=` parameter) */
    store: z.string().optional(),
    /** send: one message; expect: the next message must match it */
    msg: z.unknown().optional(),
    /** send: several messages written back to back in one write; expect: in this order */
    msgs: z.array(z.unknown()).min(1).optional(),
    /** send: bytes as they are (malformed and oversized frames) */
    raw: rawBytesSchema.optional(),
    /** expect: the messages may come in any order */
    anyOrder: z.boolean().optional(),
    /** expect: nothing may arrive for this long */
    nothing: duration.optional(),
    /** expect: the target closes the connection (after the messages, if any) */
    closed: z.boolean().optional(),
    withinMs: duration.optional(),
    /** expect: an indefinite outcome; if a message comes it must match, and none is fine too */
    maybe: z.boolean().optional(),
    /** disconnect: `close` (FIN), `reset` (RST, as a killed client), `half-close` (FIN, still reading) */
    mode: z.enum(['close', 'reset', 'half-close']).optional(),
    client: clientId.optional(),
    ms: duration.optional(),
    bytesPerSecond: z.number().int().positive().optional(),
    afterBytes: z.number().int().nonnegative().optional(),
    direction: z.enum(['to-target', 'from-target', 'both']).optional(),
    count: z.number().int().positive().optional(),
    /** fault split: the writes one message becomes (default 2) */
    parts: z.number().int().min(2).max(1024).optional(),
    /** fault merge: the messages written as one (default 2); fault reorder: how many overtake (default 1) */
    messages: z.number().int().min(1).max(1024).optional(),
    /** fault release: the held messages' indices (0 = the first held), in the order to deliver them */
    order: z.array(z.number().int().nonnegative()).min(1).optional(),
  })
  .superRefine((step, ctx) => {
    const action = stepRules({ actions: stepActions, options: stepOptions }, step, ctx);
    if (action === undefined) return;
    if (action === 'send' && [step.msg, step.msgs, step.raw].filter((x) => x !== undefined).length !== 1) {
      ctx.addIssue({ code: 'custom', message: 'send needs exactly one of msg, msgs (back to back in one write) or raw' });
    }
    if (action === 'expect') {
      const what = [step.msg, step.msgs, step.nothing].filter((x) => x !== undefined).length;
      if (step.expect === 'model' && what > 0) ctx.addIssue({ code: 'custom', message: 'expect: model takes no msg, msgs or nothing (the model says what must arrive)' });
      if (step.expect !== 'model' && what === 0 && step.closed !== true) ctx.addIssue({ code: 'custom', message: 'expect needs msg, msgs, nothing or closed: true' });
      if (step.nothing !== undefined && (step.msg !== undefined || step.msgs !== undefined)) ctx.addIssue({ code: 'custom', path: ['nothing'], message: 'nothing cannot be combined with msg or msgs' });
    }
    if (action === 'fault') {
      const need: Record<string, string | undefined> = { latency: 'ms', jitter: 'ms', 'slow-close': 'ms', bandwidth: 'bytesPerSecond', cut: 'afterBytes', delay: 'ms' };
      const only: Record<string, readonly string[]> = { parts: ['split'], messages: ['merge', 'reorder'], order: ['release'] };
      for (const [field, kinds] of Object.entries(only)) {
        if ((step as Record<string, unknown>)[field] !== undefined && !kinds.includes(step.fault!)) ctx.addIssue({ code: 'custom', path: [field], message: `${field} is an option of fault ${kinds.join(' or ')}, not of ${step.fault}` });
      }
      if (step.fault === 'release' && step.direction === 'both') ctx.addIssue({ code: 'custom', path: ['direction'], message: 'release takes one direction (to-target or from-target), or none: every held message' });
      const field = need[step.fault!];
      if (field !== undefined && (step as Record<string, unknown>)[field] === undefined) {
        ctx.addIssue({ code: 'custom', message: `fault ${step.fault} needs ${field}` });
      }
    }
  });
export type StepFile = z.infer<typeof stepSchema>;

export const caseSchema = z.strictObject({
  ...caseHeaderFields,
  steps: z.array(stepSchema).min(1),
  /**
   * Steps run after a case that ended part way (FAIL or ERROR), before it is torn down, to free
   * what it holds for the next case (a logout). Not judged: a step that does not hold is passed over.
   */
  cleanup: z.array(stepSchema).min(1).optional(),
  /**
   * A soak: the steps run this many times over, `${round}` the round's number (1, 2, ...). Each
   * round must leave the server's model as it found it (users that register then leave, a key set
   * then unset); the `memory-returned` bound compares the target's memory after the warm-up rounds
   * with its memory after the last (src/models/live-bounds.ts).
   */
  rounds: z.number().int().min(2).max(100_000).optional(),
  /** Checks a named bound only (a soak): run only with `--bounds`, or when named with `--case`; never graded without it. */
  bounds: z.boolean().default(false),
});
export type CaseFile = z.infer<typeof caseSchema>;

/** The protocols suites test: the built-in live protocols of the registry (kv, ping-liveness...). */
export const suiteProtocols = builtinLiveProtocols.map((l) => l.name) as [string, ...string[]];
/** A live protocol's name. */
export type SuiteProtocol = string;

export const suiteSchema = z.strictObject({
  /** stable suite id, e.g. `conformance/offline-queue` */
  suite: suiteId,
  title: z.string().min(1),
  description: z.string().optional(),
  /** the server-side protocol under test; `kv` is the store of lock-alternation and status-handshake */
  protocol: z.enum(suiteProtocols),
  target: targetSchema.optional(),
  /** numbers and strings steps refer to as `$name` (override with `--var name=value`) */
  vars: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.union([z.number(), z.string()])).optional(),
  cases: z.array(caseSchema).min(1),
});
export type SuiteFile = z.infer<typeof suiteSchema>;
