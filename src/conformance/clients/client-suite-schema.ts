/**
 * The schema of a client-side conformance suite (`scenarios/conformance/<protocol>/clients.yaml`):
 * the same header and case fields as the server suites (suite, title, protocol, cases with stable
 * ids, level, points, tags, flaw, timeoutMs, steps), with steps that drive client programs through
 * an adapter while protosim plays the IM server. A suite names a default adapter; `--adapter`
 * points it at another program (a student's).
 *
 * Steps are mappings with exactly one action key and that action's options, as in server suites.
 */
import { z } from 'zod';
import { caseHeaderFields, clientName as clientId, stepRules, suiteId } from '../../scenario/step-language.js';
import { adapterProtocols, patternKinds } from './adapter-schema.js';

const kinds = Object.keys(patternKinds) as [keyof typeof patternKinds, ...(keyof typeof patternKinds)[]];
const actionName = z.enum(['get', 'set', 'unset', 'clear', 'keys']);

/** Server-side faults of the IM server protosim plays. */
export const imFaultKinds = ['slow', 'http-500', 'reset', 'clear'] as const;
/** Link faults between a program and the suite's server command, on whole messages (client-links.ts). */
export const clientLinkFaultKinds = ['merge', 'split', 'delay', 'drop', 'duplicate', 'hold', 'release'] as const;

export const clientStepActions = ['preload', 'start', 'expect', 'type', 'check', 'quit', 'kill', 'pause', 'resume', 'restart', 'fault', 'wait'] as const;
export type ClientStepAction = (typeof clientStepActions)[number];

/** Which options each action takes (besides its own key). */
export const clientStepOptions: Record<ClientStepAction, readonly string[]> = {
  preload: [],
  start: ['together', 'if'],
  expect: ['kind', 'text', 'from', 'withinMs', 'afterLease', 'absent', 'exit', 'orExit', 'as', 'otherAs', 'if'],
  type: ['text', 'to', 'keys', 'if'],
  check: ['if'],
  quit: ['if'],
  kill: ['after', 'if'],
  pause: ['if'],
  resume: ['if'],
  restart: ['if'],
  fault: ['client', 'action', 'key', 'ms', 'count', 'direction', 'messages', 'parts', 'if'],
  wait: ['if'],
};

/**
 * A step's condition on what a program chose where the protocol allows either (a survivor that
 * stays, or one that ends having cleared the session): the step runs only when it holds.
 */
const stepCondition = z
  .strictObject({
    /** the program is running */
    running: clientId.optional(),
    /** the program has ended (by itself, or killed) */
    exited: clientId.optional(),
  })
  .refine((c) => (c.running === undefined) !== (c.exited === undefined), 'a condition names one program: { running: c1 } or { exited: c1 }');

export const clientStepSchema = z
  .strictObject({
    /** keys left from an earlier session, set before anything starts */
    preload: z.record(z.string().min(1), z.string()).optional(),
    start: z.union([clientId, z.array(clientId).min(1)]).optional(),
    /** start: the clients' first requests are held until all have arrived (started in the same millisecond) */
    together: z.boolean().optional(),
    /** expect: one client, or a list (the first of them to show it) */
    expect: z.union([clientId, z.array(clientId).min(2)]).optional(),
    /** expect on a list: later steps call the client that showed it by this name */
    as: clientId.optional(),
    /** expect on a list of two: later steps call the other one by this name */
    otherAs: clientId.optional(),
    /** expect: the kind of line (a pattern of the adapter) */
    kind: z.enum(kinds).optional(),
    /** expect (message): the exact text shown */
    text: z.string().optional(),
    /**
     * expect (message): who the program shows it from, exactly as shown (the adapter's `(?<from>…)`
     * group; for the chat protocols the sender's name, as `to` names a recipient). Compared only
     * when the adapter's message pattern captures a sender on that line.
     */
    from: z.string().min(1).optional(),
    withinMs: z.number().int().positive().optional(),
    /**
     * expect: the line depends on the program's own lease (a peer declared gone): wait the lease
     * (the adapter's leaseMs) and half of it again on top of withinMs or the suite's expectTimeoutMs
     */
    afterLease: z.boolean().optional(),
    /** expect: no such line within withinMs */
    absent: z.boolean().optional(),
    /** expect: the program exits within withinMs */
    exit: z.boolean().optional(),
    /** expect: the line, or the program ends instead (either is right here; later steps tell them apart with if:) */
    orExit: z.boolean().optional(),
    /** any step: run it only when the condition holds */
    if: stepCondition.optional(),
    type: clientId.optional(),
    /** the person asks for the messages queued while it was away (the adapter's input.check; nothing when the program shows them by itself) */
    check: clientId.optional(),
    /** type: the recipient, for chat protocols (`{to}` in the adapter's template) */
    to: z.string().optional(),
    /** type: raw keystrokes instead of a message (`\u0003` is Ctrl-C) */
    keys: z.string().optional(),
    quit: clientId.optional(),
    kill: clientId.optional(),
    /** kill: between two operations — right after the IM server applied this request, before its reply */
    after: z
      .strictObject({ action: actionName, key: z.string().optional(), value: z.string().optional() })
      .optional(),
    pause: clientId.optional(),
    resume: clientId.optional(),
    restart: clientId.optional(),
    fault: z.enum([...imFaultKinds, ...clientLinkFaultKinds]).optional(),
    /** a link fault's direction: to-client (default), to-server or both */
    direction: z.enum(['to-client', 'to-server', 'both']).optional(),
    /** merge: how many messages go in one write (default 2) */
    messages: z.number().int().min(2).optional(),
    /** split: in how many writes one message goes (default 2) */
    parts: z.number().int().min(2).optional(),
    client: clientId.optional(),
    action: actionName.optional(),
    key: z.string().optional(),
    ms: z.number().int().positive().optional(),
    count: z.number().int().positive().optional(),
    /** ms, or `lease`: until a dead program's lease has run out (the adapter's leaseMs and half of it again) */
    wait: z.union([z.number().int().nonnegative(), z.literal('lease')]).optional(),
  })
  .superRefine((step, ctx) => {
    const action = stepRules({ actions: clientStepActions, options: clientStepOptions }, step, ctx);
    if (action === undefined) return;
    if (action === 'expect' && step.kind === undefined && step.exit !== true) ctx.addIssue({ code: 'custom', message: 'expect needs kind (a pattern of the adapter) or exit: true' });
    if (action === 'expect' && step.orExit === true && (step.absent === true || step.exit === true || Array.isArray(step.expect))) ctx.addIssue({ code: 'custom', path: ['orExit'], message: 'orExit takes one client expected to show a line (not absent, exit or a list)' });
    if (action === 'expect' && step.text !== undefined && step.kind !== 'message') ctx.addIssue({ code: 'custom', path: ['text'], message: 'text is only for kind: message' });
    if (action === 'expect' && step.from !== undefined && step.kind !== 'message') ctx.addIssue({ code: 'custom', path: ['from'], message: 'from is only for kind: message' });
    if (action === 'expect' && !Array.isArray(step.expect) && (step.as !== undefined || step.otherAs !== undefined)) ctx.addIssue({ code: 'custom', message: 'as and otherAs name one client of a list: expect: [c1, c2]' });
    if (action === 'expect' && Array.isArray(step.expect) && (step.absent === true || step.exit === true)) ctx.addIssue({ code: 'custom', message: 'absent and exit take one client, not a list' });
    if (action === 'expect' && step.otherAs !== undefined && Array.isArray(step.expect) && step.expect.length !== 2) ctx.addIssue({ code: 'custom', path: ['otherAs'], message: 'otherAs needs a list of exactly two clients' });
    if (action === 'type' && (step.text === undefined) === (step.keys === undefined)) ctx.addIssue({ code: 'custom', message: 'type needs text (a message) or keys (raw keystrokes), not both' });
    if (action === 'fault' && step.fault === 'slow' && step.ms === undefined) ctx.addIssue({ code: 'custom', message: 'fault slow needs ms' });
    const link = action === 'fault' && (clientLinkFaultKinds as readonly string[]).includes(step.fault!);
    if (link && step.client === undefined) ctx.addIssue({ code: 'custom', path: ['client'], message: `fault ${step.fault} is on one program's link: name it with client:` });
    if (link && (step.action !== undefined || step.key !== undefined)) ctx.addIssue({ code: 'custom', message: `fault ${step.fault} is a link fault: action and key are for the IM server's faults (${imFaultKinds.join(', ')})` });
    if (!link && action === 'fault' && (step.direction !== undefined || step.messages !== undefined || step.parts !== undefined)) ctx.addIssue({ code: 'custom', message: `direction, messages and parts are for link faults (${clientLinkFaultKinds.join(', ')})` });
  });
export type ClientStepFile = z.infer<typeof clientStepSchema>;

export const clientCaseSchema = z.strictObject({
  ...caseHeaderFields,
  /** what the model predicts for the seed's client (shown with a FAIL) */
  model: z.string().optional(),
  steps: z.array(clientStepSchema).min(1),
});
export type ClientCaseFile = z.infer<typeof clientCaseSchema>;

export const clientSuiteSchema = z.strictObject({
  suite: suiteId,
  title: z.string().min(1),
  description: z.string().optional(),
  /** the client protocol; protosim plays its IM server unless `server` names a command */
  protocol: z.enum(adapterProtocols),
  /**
   * A whole live system: the server is this command, started fresh for each case (and killed,
   * paused, stopped, restarted by steps naming `server`). Without it protosim is the IM server
   * (key-value protocols only).
   */
  server: z
    .strictObject({
      /** `{protosim}` is protosim itself, `{port}` a free loopback port */
      command: z.array(z.string()).min(1),
      cwd: z.string().optional(),
      env: z.record(z.string(), z.string()).optional(),
      /** a regular expression over its stdout lines; group 1, if any, is its address (default: `listening on (\S+)`) */
      ready: z.string().min(1).default('listening on (\\S+)'),
      startTimeoutMs: z.number().int().positive().default(10_000),
    })
    .optional(),
  /** the default adapter, relative to the suite file (`--adapter` replaces it) */
  adapter: z.string().min(1),
  /** values for the adapter's vars, used when the adapter has them (`--var` overrides): short poll intervals keep suites fast */
  adapterVars: z.record(z.string(), z.union([z.string(), z.number()])).optional(),
  /** how long an `expect` waits by default */
  expectTimeoutMs: z.number().int().positive().default(4000),
  /**
   * The lease assumed for a program whose adapter gives none (no `leaseMs`, no `leaseMs` variable):
   * how long it may take to decide a silent peer is gone. The protocols do not fix it.
   */
  leaseMs: z.number().int().nonnegative().default(5000),
  cases: z.array(clientCaseSchema).min(1),
});
export type ClientSuiteFile = z.infer<typeof clientSuiteSchema>;
