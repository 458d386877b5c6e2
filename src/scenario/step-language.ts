/**
 * The step language of live suites, written once. A step is a mapping with exactly one action key
 * and that action's options; both suite kinds (server suites, where protosim plays the clients, and
 * client suites, where protosim plays the server and drives client programs) are built from the
 * pieces here, so a rule or a message fixed here holds in both:
 *
 *  - the names of actors (`clientName`) and durations (`durationMs`, with `$var`);
 *  - one action per step, and only that action's options (`stepRules`), each problem reported at
 *    its own field;
 *  - the case header both kinds share (`caseHeaderFields`: id, title, level, points, tags, flaw,
 *    timeoutMs) and case selection by id and tag (`selectCases`, an unknown id an input error);
 *  - the words a report uses for a step (`describeStepFields`).
 */
import { z } from 'zod';
import { InputError } from '../errors.js';
import { suggest } from './suggest.js';

/** The name of an actor of a case: a harness client, a client program, a person. */
export const clientName = z.string().regex(/^[A-Za-z][A-Za-z0-9_-]*$/, 'a client name: a letter, then letters, digits, _ or -');

/** A duration in ms, or `$name` of a suite variable holding one. */
export const durationMs = z.union([z.number().int().nonnegative(), z.string().regex(/^\$[A-Za-z_][A-Za-z0-9_]*$/, 'a number of ms or $variable')]);

/** A case id: stable, lower case; reports and grades key on it. */
export const caseId = z.string().regex(/^[a-z0-9][a-z0-9/_.-]*$/, 'a lower-case id like offline-queue/queue-order');

/** A suite id. */
export const suiteId = z.string().regex(/^[a-z0-9][a-z0-9/_.-]*$/, 'a lower-case id like conformance/offline-queue');

/** The fields of a case both suite kinds share (the steps are each kind's own). */
export const caseHeaderFields = {
  /** stable, e.g. `offline-queue/queue-order`; never renamed, reports and grades key on it */
  id: caseId,
  title: z.string().min(1),
  description: z.string().optional(),
  level: z.enum(['required', 'recommended']).default('required'),
  points: z.number().nonnegative().default(1),
  tags: z.array(z.string()).default([]),
  /** the flaw class of docs/protocols.md it checks, in words */
  flaw: z.string().optional(),
  /** overall bound on the case (every step included) */
  timeoutMs: z.number().int().positive().optional(),
  /**
   * Checks what the protocol leaves open (protosim's reference server's own error replies and
   * limits, a reply text, how a program meets a server error the protocol never sends): run only
   * with `--strict`, or when named with `--case`; never graded.
   */
  strict: z.boolean().default(false),
};

/** What a step-language needs to know about a kind of suite: its actions and the options of each. */
export interface StepActions<A extends string> {
  actions: readonly A[];
  options: Readonly<Record<A, readonly string[]>>;
}

/**
 * The rules every step follows, whatever its kind: exactly one action, and no option of another
 * action (named at its own line, with what the action does take). Returns the action, or undefined
 * when the step has none or several (already reported).
 */
export function stepRules<A extends string>(language: StepActions<A>, step: Record<string, unknown>, ctx: z.RefinementCtx): A | undefined {
  const present = language.actions.filter((a) => step[a] !== undefined);
  if (present.length !== 1) {
    ctx.addIssue({
      code: 'custom',
      message:
        present.length === 0
          ? `a step needs one action: ${language.actions.join(', ')}`
          : `a step has one action, this one has ${present.join(' and ')}; split it into ${present.length} steps`,
    });
    return undefined;
  }
  const action = present[0]!;
  const allowed = language.options[action];
  for (const key of Object.keys(step)) {
    if (key === action || step[key] === undefined) continue;
    if (!allowed.includes(key)) {
      ctx.addIssue({
        code: 'custom',
        path: [key],
        message: `${key} is not an option of ${action}${allowed.length ? `; ${action} takes ${allowed.join(', ')}` : ''}${suggest(key, allowed)}`,
      });
    }
  }
  return action;
}

/**
 * The cases of a suite chosen by `--case` ids and `--tag`s (all when none is given), without the
 * `strict: true` ones unless `strict` (or named by id); an unknown id is an input error naming the
 * valid ones. Every command that runs or grades a suite selects through here.
 */
export function selectCases<C extends { id: string; tags: readonly string[]; strict?: boolean }>(cases: readonly C[], file: string, caseIds: readonly string[] = [], tags: readonly string[] = [], strict = false): C[] {
  for (const id of caseIds) {
    if (!cases.some((c) => c.id === id)) {
      throw new InputError(`--case: no case ${JSON.stringify(id)} in ${file}; its cases are ${cases.map((c) => c.id).join(', ')}${suggest(id, cases.map((c) => c.id))}`, 'unknown-case');
    }
  }
  return cases.filter((c) => (caseIds.length === 0 || caseIds.includes(c.id)) && (tags.length === 0 || c.tags.some((t) => tags.includes(t))) && (strict || c.strict !== true || caseIds.includes(c.id)));
}

/** The `strict: true` cases a run without `--strict` leaves out (those not named by id). */
export function strictOnlyCases<C extends { id: string; strict?: boolean }>(cases: readonly C[], caseIds: readonly string[] = []): string[] {
  return cases.filter((c) => c.strict === true && !caseIds.includes(c.id)).map((c) => c.id);
}

/** A step as `step N (action: value, option: value)`, long values cut at 120 characters. */
export function describeStepFields(step: Readonly<Record<string, unknown>>, index: number): string {
  const parts = Object.entries(step)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => {
      const text = typeof v === 'string' ? v : JSON.stringify(v);
      return `${k}: ${text.length > 120 ? `${text.slice(0, 120)}...` : text}`;
    });
  return `step ${index + 1} (${parts.join(', ')})`;
}
