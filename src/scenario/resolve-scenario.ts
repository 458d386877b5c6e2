/**
 * Resolves a validated scenario against the model registry: its protocol, variant, roles, node
 * ids and invariants are checked (every unknown name a positioned issue), then its fields are
 * turned into the SimConfig the simulator runs, with the defaults filled in.
 */
import type { ModelVariant } from '../models/types.js';
import {
  defaultChecks,
  defaultLimits,
  defaultLink,
  type Distribution,
  type FaultSpec,
  type LinkConfig,
  type LinkOverride,
  type SimConfig,
} from '../sim/config.js';
import type { Scenario } from './load.js';
import { builtinNames, isProtocolPath, resolveProtocolRef } from './protocol-module.js';
import { formatPath, ScenarioError, type ScenarioIssue } from './scenario-error.js';
import { suggest } from './suggest.js';
import type { ScenarioFile } from './schema.js';

/** Records an issue at a field path (positioned by the caller's `locate`). */
type IssueAt = (path: readonly PropertyKey[], message: string) => void;

/** A node as the scenario gives it, or as the variant's default topology has it. */
type NodeSpec = { id: string; role: string };

/** A workload entry as the scenario gives it, or as the variant's default topology has it. */
type WorkloadSpec = { node: string; messages: string[]; thinkMs?: unknown; quitAfter?: boolean | undefined };

function toDistribution(d: unknown, fallback: Distribution): Distribution {
  if (d === undefined) return fallback;
  if (typeof d === 'number') return { kind: 'fixed', ms: d };
  const o = d as { fixed?: number; uniform?: [number, number]; exponential?: { meanMs: number; maxMs?: number } };
  if (o.fixed !== undefined) return { kind: 'fixed', ms: o.fixed };
  if (o.uniform) return { kind: 'uniform', minMs: Math.min(...o.uniform), maxMs: Math.max(...o.uniform) };
  const e = o.exponential!;
  return { kind: 'exponential', meanMs: e.meanMs, maxMs: e.maxMs ?? Math.ceil(e.meanMs * 20) };
}

/** Resolves a schema-valid scenario against the models into a Scenario; throws ScenarioError with every unknown name it refers to. */
export function resolveScenario(
  spec: ScenarioFile,
  file: string,
  locate: (path: readonly PropertyKey[], key?: string) => { line: number; col: number },
  baseDir: string = process.cwd(),
): Scenario {
  const issues: ScenarioIssue[] = [];
  const issue: IssueAt = (path, message) => {
    issues.push({ file, ...locate(path), path: formatPath(path), message });
  };
  // A built-in protocol's name, or a protocol module's path (loaded by protocol-module.ts).
  const model = resolveProtocolRef(spec.protocol, baseDir);
  if ('problem' in model) {
    issue(['protocol'], `${model.problem}${isProtocolPath(spec.protocol) ? '' : suggest(spec.protocol, builtinNames())}`);
    throw new ScenarioError(issues);
  }
  const variantName = spec.variant ?? 'faithful';
  const variant = model.variants[variantName];
  if (!variant) {
    const names = Object.keys(model.variants);
    issue(['variant'], `unknown variant ${JSON.stringify(variantName)} of ${model.name}; expected one of ${names.join(', ')}${suggest(variantName, names)}`);
    throw new ScenarioError(issues);
  }
  const topology = variant.defaults.topology({ clients: variant.defaults.clients, rounds: variant.defaults.rounds });
  const nodeSpecs = spec.nodes ?? topology.nodes;
  const ids = checkNodeReferences(spec, nodeSpecs, model.name, variant, issue);
  checkInvariantReferences(spec, model.name, variant, issue);
  if (spec.randomFaults && spec.randomFaults.windowMs[0] > spec.randomFaults.windowMs[1]) {
    issue(['randomFaults', 'windowMs'], 'expected [start, end] with start <= end');
  }
  if (issues.length > 0) throw new ScenarioError(issues);

  const workloadSpecs =
    spec.workload ??
    topology.workload.filter((w) => ids.has(w.node)).map((w) => ({ node: w.node, messages: w.messages, thinkMs: undefined, quitAfter: w.quitAfter }));
  const config = simConfigOf(spec, model.name, variant.name, nodeSpecs, workloadSpecs);
  const e = spec.explore ?? {};
  return {
    file,
    spec,
    model,
    variant,
    config,
    expect: spec.expect,
    explore: {
      strategy: e.strategy ?? 'random',
      seedStart: e.seedStart ?? 1,
      seeds: e.seeds ?? 200,
      seed: e.seed ?? null,
      maxStates: e.maxStates ?? 1_000_000,
      maxDepth: e.maxDepth ?? 10_000,
      faultBudget: e.faultBudget ?? 0,
    },
  };
}

/** Checks the node ids and roles, and every node a link, workload entry or fault names; returns the node ids. */
function checkNodeReferences(spec: ScenarioFile, nodeSpecs: readonly NodeSpec[], modelName: string, variant: ModelVariant, issue: IssueAt): Set<string> {
  const roleNames = Object.keys(variant.roles);
  const ids = new Set<string>();
  nodeSpecs.forEach((n, i) => {
    if (ids.has(n.id)) issue(['nodes', i, 'id'], `duplicate node id ${JSON.stringify(n.id)}`);
    ids.add(n.id);
    if (!roleNames.includes(n.role)) {
      issue(['nodes', i, 'role'], `unknown role ${JSON.stringify(n.role)} for ${modelName}; expected one of ${roleNames.join(', ')}${suggest(n.role, roleNames)}`);
    }
  });
  const checkNode = (path: readonly PropertyKey[], id: string | undefined): void => {
    if (id !== undefined && id !== '*' && !ids.has(id)) {
      issue(path, `unknown node ${JSON.stringify(id)}; the nodes are ${[...ids].join(', ')}${suggest(id, [...ids])}`);
    }
  };
  spec.network?.links?.forEach((l, i) => {
    checkNode(['network', 'links', i, 'from'], l.from);
    checkNode(['network', 'links', i, 'to'], l.to);
  });
  spec.workload?.forEach((w, i) => {
    checkNode(['workload', i, 'node'], w.node);
    const seen = new Set<string>();
    w.messages.forEach((m, j) => {
      // Checkers identify a message by its text (no message is shown twice), so texts must differ.
      if (seen.has(m)) issue(['workload', i, 'messages', j], `message ${JSON.stringify(m)} appears twice; workload messages must be distinct so a message can be recognised when shown`);
      seen.add(m);
    });
  });
  spec.faults?.forEach((f, i) => {
    if ('node' in f) checkNode(['faults', i, 'node'], f.node);
    if (f.kind === 'partition') {
      f.from.forEach((x, j) => checkNode(['faults', i, 'from', j], x));
      f.to.forEach((x, j) => checkNode(['faults', i, 'to', j], x));
    }
    if (f.kind === 'drop' || f.kind === 'duplicate') {
      checkNode(['faults', i, 'from'], f.from);
      checkNode(['faults', i, 'to'], f.to);
    }
  });
  spec.randomFaults?.nodes?.forEach((x, j) => checkNode(['randomFaults', 'nodes', j], x));
  return ids;
}

/** Checks the invariant ids that `checks.invariants` and `expect.invariant` name against the variant's. */
function checkInvariantReferences(spec: ScenarioFile, modelName: string, variant: ModelVariant, issue: IssueAt): void {
  const invariantIds = [...variant.invariants.map((x) => x.id), ...variant.properties.map((x) => x.id)];
  const inv = spec.checks?.invariants;
  if (Array.isArray(inv)) {
    inv.forEach((id, j) => {
      if (!invariantIds.includes(id)) issue(['checks', 'invariants', j], `unknown invariant ${JSON.stringify(id)}; ${modelName} has ${invariantIds.join(', ')}${suggest(id, invariantIds)}`);
    });
  }
  const expInv = spec.expect.invariant;
  if (expInv !== undefined && expInv !== 'found' && expInv !== 'none' && !invariantIds.includes(expInv)) {
    issue(['expect', 'invariant'], `expected found, none or an invariant id of ${modelName} (${invariantIds.join(', ')}); got ${JSON.stringify(expInv)}${suggest(expInv, invariantIds)}`);
  }
}

/** The link fields a network or link entry sets, over `base` for its delay's fallback. */
function linkFrom(l: { delayMs?: unknown; lossRatio?: number; duplicateRatio?: number; reorderRatio?: number; fifo?: boolean }, base: LinkConfig): Partial<LinkConfig> {
  const out: Partial<LinkConfig> = {};
  if (l.delayMs !== undefined) out.delay = toDistribution(l.delayMs, base.delay);
  if (l.lossRatio !== undefined) out.lossRatio = l.lossRatio;
  if (l.duplicateRatio !== undefined) out.duplicateRatio = l.duplicateRatio;
  if (l.reorderRatio !== undefined) out.reorderRatio = l.reorderRatio;
  if (l.fifo !== undefined) out.fifo = l.fifo;
  return out;
}

/** The scheduled faults of a scenario, with their defaults filled in. */
function faultSpecsOf(faults: ScenarioFile['faults']): FaultSpec[] {
  return (faults ?? []).map((f): FaultSpec => {
    switch (f.kind) {
      case 'crash':
        return { kind: 'crash', atMs: f.atMs, node: f.node, mode: f.mode ?? 'reset' };
      case 'restart':
        return { kind: 'restart', atMs: f.atMs, node: f.node, state: f.state ?? 'fresh' };
      case 'pause':
      case 'resume':
        return { kind: f.kind, atMs: f.atMs, node: f.node };
      case 'partition':
        return { kind: 'partition', atMs: f.atMs, from: f.from, to: f.to, direction: f.direction ?? 'both' };
      case 'heal':
        return { kind: 'heal', atMs: f.atMs };
      case 'drop':
      case 'duplicate':
        return { kind: f.kind, atMs: f.atMs, from: f.from ?? null, to: f.to ?? null, msgType: f.msgType ?? null, count: f.count ?? 1 };
    }
  });
}

/** The SimConfig of a checked scenario: its nodes, network, workload, faults, checks and limits, defaults filled in. */
function simConfigOf(spec: ScenarioFile, protocol: string, variantName: string, nodeSpecs: readonly NodeSpec[], workloadSpecs: readonly WorkloadSpec[]): SimConfig {
  const net = spec.network ?? {};
  const baseLink: LinkConfig = { ...defaultLink, ...linkFrom(net, defaultLink) };
  const links: LinkOverride[] = (net.links ?? []).map((l) => ({ from: l.from, to: l.to, ...linkFrom(l, baseLink) }));
  const defaultThink: Distribution = { kind: 'uniform', minMs: 200, maxMs: 2000 };
  const inv = spec.checks?.invariants;
  return {
    protocol,
    variant: variantName,
    nodes: nodeSpecs.map((n) => {
      const raw = n as { startAtMs?: unknown; params?: Record<string, unknown>; data?: Record<string, string> };
      const params: Record<string, unknown> = { ...(raw.params ?? {}) };
      if (raw.data) params.initial = raw.data;
      return { id: n.id, role: n.role, startAt: toDistribution(raw.startAtMs, { kind: 'fixed', ms: 0 }), params };
    }),
    network: { default: baseLink, links },
    workload: workloadSpecs.map((w) => ({
      node: w.node,
      messages: w.messages,
      think: toDistribution(w.thinkMs, defaultThink),
      quitAfter: w.quitAfter ?? false,
    })),
    faults: faultSpecsOf(spec.faults),
    randomFaults: spec.randomFaults
      ? {
          count: spec.randomFaults.count,
          kinds: spec.randomFaults.kinds,
          windowStartMs: spec.randomFaults.windowMs[0],
          windowEndMs: spec.randomFaults.windowMs[1],
          nodes: spec.randomFaults.nodes ?? null,
        }
      : null,
    healAtMs: spec.healAtMs ?? null,
    checks: {
      deadlock: spec.checks?.deadlock ?? defaultChecks.deadlock,
      livelock: spec.checks?.livelock ?? defaultChecks.livelock,
      stallBoundMs: spec.checks?.stallBoundMs ?? defaultChecks.stallBoundMs,
      invariants: Array.isArray(inv) ? inv : null,
    },
    limits: {
      maxSteps: spec.limits?.maxSteps ?? defaultLimits.maxSteps,
      maxTimeMs: spec.limits?.maxTimeMs ?? defaultLimits.maxTimeMs,
      maxInFlight: spec.limits?.maxInFlight ?? defaultLimits.maxInFlight,
    },
  };
}
