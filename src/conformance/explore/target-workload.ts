/**
 * What the clients of `protosim explore --target` send: a short script per client, the explorer
 * deciding in which order the scripts' messages reach the server. A script comes from a suite case
 * (its sends and disconnects, per client, in the case's order; its expects are replaced by the
 * model oracle, its waits and faults left out) or is generated from the protocol's fuzz generator
 * with a seed (each client's setup first: version, login, register; then ordinary messages; no raw
 * bytes, link faults or waits). Messages are templates: names carry `${run}` (unique per schedule)
 * and may name what a reply bound (`$s1`), filled when the client writes them.
 */
import fc from 'fast-check';
import { InputError } from '../../errors.js';
import type { Suite } from '../../scenario/load-suite.js';
import type { StepFile } from '../../scenario/suite-schema.js';
import type { ProtocolFuzz } from '../fuzz/case-arbitrary.js';
import { withNames, type RenderHooks } from '../fuzz/fuzz-case.js';

/** One thing a client does: send a message (a template), or leave (FIN, or RST as a killed client). */
export type ScriptItem = { kind: 'send'; template: unknown } | { kind: 'leave'; mode: 'close' | 'reset' };

export interface TargetWorkload {
  /** the clients, in order (the names reports and `--choices` use) */
  clients: string[];
  /** each client's script, by the client's index */
  scripts: ScriptItem[][];
  /** generated workloads: each user's name base (`${run}` appended), and the generator's hooks */
  names?: string[];
  hooks?: RenderHooks;
  /** suite variables the workload brings (the generator's defaults, the suite's) */
  vars: Record<string, string | number>;
  /** where it came from, for reports */
  source: string;
  /** what of a suite case was left out, for reports */
  leftOut: string[];
}

/** Draws of the message arbitrary passed over before a client's messages are taken. */
const skippedDraws = 5;

/** The client name of user i in a generated workload. */
export const generatedClient = (user: number): string => `c${user + 1}`;

/**
 * `clients` scripts from the protocol's fuzz generator: each client's setup, then ordinary
 * messages, about `steps` messages in all (at least one each after the setup). The seed fixes them.
 */
export function generatedWorkload(generator: ProtocolFuzz, clients: number, steps: number, seed: number): TargetWorkload {
  const users = Array.from({ length: clients }, (_, i) => i);
  const names = fc.sample(fc.uniqueArray(generator.name, { minLength: clients + 1, maxLength: clients + 1 }), { seed, numRuns: 1 })[0]!;
  const setupTotal = users.reduce((n, u) => n + generator.setup(u).length, 0);
  const extras = Math.max(1, Math.ceil((steps - setupTotal) / clients));
  const scripts = users.map((u) => {
    // fast-check's first draws lean to the smallest values: later ones vary more
    const drawn = fc.sample(generator.message(clients), { seed: (seed + 7919 * (u + 1)) >>> 0, numRuns: extras + skippedDraws }).slice(skippedDraws);
    const messages = [...generator.setup(u), ...drawn];
    // a message that ends the connection (register-exit's Exit) ends the script too
    const end = messages.findIndex((m) => generator.hooks?.leaves?.(m) === true);
    return (end < 0 ? messages : messages.slice(0, end + 1)).map((template): ScriptItem => ({ kind: 'send', template }));
  });
  return {
    clients: users.map(generatedClient),
    scripts,
    names,
    ...(generator.hooks !== undefined ? { hooks: generator.hooks } : {}),
    vars: { ...(generator.vars ?? {}) },
    source: `generated from the ${generator.protocol} fuzz generator, seed ${seed}`,
    leftOut: [],
  };
}

/** The scripts of one case of a suite: its sends and disconnects, per client. InputErrors name the step. */
export function suiteWorkload(suite: Suite, caseId: string): TargetWorkload {
  const c = suite.spec.cases.find((x) => x.id === caseId);
  if (c === undefined) {
    const ids = suite.spec.cases.map((x) => x.id);
    throw new InputError(`--case: ${suite.file} has no case ${JSON.stringify(caseId)}; expected one of ${ids.slice(0, 12).join(', ')}${ids.length > 12 ? ', …' : ''}`);
  }
  const clients: string[] = [];
  const scripts: ScriptItem[][] = [];
  const left = new Set<string>();
  const counts = new Map<string, number>();
  const count = (what: string): void => void counts.set(what, (counts.get(what) ?? 0) + 1);
  const scriptOf = (name: string, i: number): ScriptItem[] => {
    const at = clients.indexOf(name);
    if (at < 0) throw new InputError(`${suite.file}: case ${caseId}, step ${i + 1}: ${name} sends before it connects; expected a connect: ${name} step first`);
    if (left.has(name)) throw new InputError(`${suite.file}: case ${caseId}, step ${i + 1}: ${name} acts after it disconnected; explore --target connects each client once`);
    return scripts[at]!;
  };
  c.steps.forEach((s: StepFile, i) => {
    if (s.connect !== undefined) {
      for (const name of typeof s.connect === 'string' ? [s.connect] : s.connect) {
        if (clients.includes(name)) throw new InputError(`${suite.file}: case ${caseId}, step ${i + 1}: ${name} connects a second time; explore --target connects each client once`);
        clients.push(name);
        scripts.push([]);
      }
    } else if (s.send !== undefined) {
      const script = scriptOf(s.send, i);
      if (s.raw !== undefined) count('raw sends (the explorer orders whole messages)');
      else for (const template of s.msgs ?? [s.msg]) script.push({ kind: 'send', template });
    } else if (s.disconnect !== undefined) {
      scriptOf(s.disconnect, i).push({ kind: 'leave', mode: s.mode === 'reset' ? 'reset' : 'close' });
      left.add(s.disconnect);
    } else if (s.expect !== undefined) count('expects (the model oracle judges every reply instead)');
    else if (s.fault !== undefined) count('faults');
    else if (s.wait !== undefined) count('waits');
  });
  if (clients.length === 0) throw new InputError(`${suite.file}: case ${caseId} connects no client; expected connect: and send: steps`);
  return { clients, scripts, vars: { ...(suite.spec.vars ?? {}) }, source: `${suite.file}, case ${caseId}`, leftOut: [...counts].map(([what, n]) => `${n} ${what}`) };
}

/** A generated template with the users' names in place (`{ $user: 1 }` -> `name${run}`). */
export function named(workload: TargetWorkload, template: unknown, user: number): unknown {
  return workload.names === undefined ? template : withNames(template, workload.names, user);
}
