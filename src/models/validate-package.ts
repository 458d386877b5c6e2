/**
 * The shape check of a protocol package that comes from outside the tree (an ES module a scenario
 * names by path): everything the simulator, the explorers and the reports will call must be there
 * with the right kind, so that a mistake is one clear input error naming the field and what was
 * expected, not a crash deep in a run. Pure: it looks at the value, it calls nothing.
 */
import type { ProtocolPackage } from './package.js';

type Problems = string[];

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const kindOf = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v === 'object' ? 'an object' : typeof v === 'function' ? 'a function' : `${typeof v} ${JSON.stringify(v)}`.slice(0, 60));

function need(problems: Problems, at: string, value: unknown, kind: 'string' | 'function' | 'number' | 'object' | 'list', what: string): boolean {
  const ok = kind === 'object' ? isObject(value) : kind === 'list' ? Array.isArray(value) : typeof value === kind;
  if (!ok) problems.push(`${at}: expected ${what}, got ${value === undefined ? 'nothing' : kindOf(value)}`);
  return ok;
}

/** A protocol name: it appears in ids, file names and commands. */
export const protocolNamePattern = /^[a-z0-9][a-z0-9._-]*$/;

function checkRole(problems: Problems, at: string, role: unknown): void {
  if (!need(problems, at, role, 'object', 'a role { machine, input, description }')) return;
  const r = role as Record<string, unknown>;
  // An XState v5 machine (createMachine / setup(...).createMachine) has `config` and `transition`.
  if (need(problems, `${at}.machine`, r.machine, 'object', 'an XState v5 machine (setup({...}).createMachine({...}))')) {
    const m = r.machine as Record<string, unknown>;
    if (typeof m.transition !== 'function' || !isObject(m.config)) problems.push(`${at}.machine: expected an XState v5 machine (setup({...}).createMachine({...})), got an object that is not one`);
  }
  need(problems, `${at}.input`, r.input, 'function', 'a function ({ self, nodesByRole, params }) => the machine input');
  need(problems, `${at}.description`, r.description, 'string', 'a string');
}

function checkChecks(problems: Problems, at: string, list: unknown, monitor: boolean): void {
  const one = monitor ? 'a history property { id, description, initial, observe(state, observation, view) }' : 'an invariant { id, description, check(view) }';
  if (!need(problems, at, list, 'list', `a list of ${monitor ? 'history properties' : 'invariants'} (or [])`)) return;
  (list as unknown[]).forEach((c, i) => {
    if (!need(problems, `${at}[${i}]`, c, 'object', one)) return;
    const x = c as Record<string, unknown>;
    need(problems, `${at}[${i}].id`, x.id, 'string', 'a string');
    need(problems, `${at}[${i}].description`, x.description, 'string', 'a string');
    if (monitor) need(problems, `${at}[${i}].observe`, x.observe, 'function', 'a function (state, observation, view) => { state } or { violation }');
    else need(problems, `${at}[${i}].check`, x.check, 'function', 'a function (view) => null, or the reason it does not hold');
  });
}

function checkVariant(problems: Problems, at: string, variant: unknown): void {
  if (!need(problems, at, variant, 'object', 'a variant { name, summary, roles, invariants, properties, isProgress, defaults, transport }')) return;
  const v = variant as Record<string, unknown>;
  need(problems, `${at}.name`, v.name, 'string', 'a string');
  need(problems, `${at}.summary`, v.summary, 'string', 'a string');
  if (need(problems, `${at}.roles`, v.roles, 'object', 'an object of roles by name ({ client: {...}, server: {...} })')) {
    const roles = Object.entries(v.roles as Record<string, unknown>);
    if (roles.length === 0) problems.push(`${at}.roles: expected at least one role`);
    for (const [name, role] of roles) checkRole(problems, `${at}.roles.${name}`, role);
  }
  checkChecks(problems, `${at}.invariants`, v.invariants, false);
  checkChecks(problems, `${at}.properties`, v.properties, true);
  need(problems, `${at}.isProgress`, v.isProgress, 'function', 'a function (node, effect) => true when the effect is progress');
  if (v.transport !== 'tcp' && v.transport !== 'http') problems.push(`${at}.transport: expected "tcp" or "http", got ${v.transport === undefined ? 'nothing' : kindOf(v.transport)}`);
  if (v.diagnose !== undefined) need(problems, `${at}.diagnose`, v.diagnose, 'function', 'a function (view, finding) => an explanation or null');
  if (need(problems, `${at}.defaults`, v.defaults, 'object', 'the defaults { clients, rounds, topology({ clients, rounds }) } of `protosim check`')) {
    const d = v.defaults as Record<string, unknown>;
    need(problems, `${at}.defaults.clients`, d.clients, 'number', 'a number');
    need(problems, `${at}.defaults.rounds`, d.rounds, 'number', 'a number');
    need(problems, `${at}.defaults.topology`, d.topology, 'function', 'a function ({ clients, rounds }) => { nodes, workload }');
    if (d.scenario !== undefined) need(problems, `${at}.defaults.scenario`, d.scenario, 'object', 'scenario fields as data (faults, randomFaults, checks, explore)');
  }
}

/**
 * Problems with `value` as a protocol package (empty when it is one). Only the model part is
 * checked in depth; `live` and `clients` must be objects when given.
 */
export function packageProblems(value: unknown): string[] {
  const problems: Problems = [];
  if (!need(problems, 'the export', value, 'object', 'a protocol package { name, summary, source, variants, validateMessage }')) return problems;
  const p = value as Record<string, unknown>;
  if (need(problems, 'name', p.name, 'string', 'a string') && !protocolNamePattern.test(p.name as string)) {
    problems.push(`name: expected lower-case letters, digits, ., _ or - (it is used in ids and commands), got ${JSON.stringify(p.name)}`);
  }
  need(problems, 'summary', p.summary, 'string', 'a string');
  need(problems, 'source', p.source, 'string', 'a string (what the model models)');
  need(problems, 'validateMessage', p.validateMessage, 'function', 'a function (message) => null, or what is wrong with it');
  if (need(problems, 'variants', p.variants, 'object', 'an object of variants by name ({ faithful: {...} })')) {
    const variants = Object.entries(p.variants as Record<string, unknown>);
    if (variants.length === 0) problems.push('variants: expected at least one variant (faithful is the one scenarios run by default)');
    for (const [name, variant] of variants) {
      checkVariant(problems, `variants.${name}`, variant);
      const v = variant as { name?: unknown } | null;
      if (isObject(v) && typeof v.name === 'string' && v.name !== name) problems.push(`variants.${name}.name: expected ${JSON.stringify(name)} (the key it is under), got ${JSON.stringify(v.name)}`);
    }
  }
  if (p.live !== undefined) need(problems, 'live', p.live, 'object', 'the live side { name, transport, codecs, server, ... } (or nothing)');
  if (p.clients !== undefined) need(problems, 'clients', p.clients, 'object', 'what adapters drive { exercised } (or nothing)');
  return problems;
}

/** The value as a package, when it is one. */
export function asProtocolPackage(value: unknown): ProtocolPackage | null {
  return packageProblems(value).length === 0 ? (value as ProtocolPackage) : null;
}
