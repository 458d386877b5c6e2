/**
 * Writes a shrunk counterexample as a scenario file that reproduces it with `protosim run`: the
 * original scenario with its faults listed explicitly (no random faults), the shrunk workload, the
 * seed pinned, and the finding as the expectation.
 */
import { stringify } from 'yaml';
import { fileFormats } from '../scenario/file-format.js';
import type { Scenario } from '../scenario/load.js';
import type { Distribution, FaultSpec } from '../sim/config.js';
import type { Counterexample } from '../sim/explore/pbt.js';

function distributionData(d: Distribution): unknown {
  switch (d.kind) {
    case 'fixed':
      return d.ms;
    case 'uniform':
      return { uniform: [d.minMs, d.maxMs] };
    case 'exponential':
      return { exponential: { meanMs: d.meanMs, maxMs: d.maxMs } };
  }
}

/** A fault in scenario terms (the fields the schema takes; nulls left out). */
export function faultData(f: FaultSpec): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(f)) if (v !== null && v !== undefined) out[k] = v;
  return out;
}

export function counterexampleYaml(scenario: Scenario, cx: Counterexample, source: string): string {
  // A scenario file of the current format: kind and version first.
  const spec = { kind: 'scenario', version: fileFormats.scenario.version, ...scenario.spec } as Record<string, unknown>;
  delete spec.randomFaults;
  const config = scenario.config;
  spec.id = `${scenario.spec.id}/counterexample`;
  spec.title = `Shrunk counterexample of ${scenario.spec.id}: ${cx.findingId}`;
  spec.description = `Found and shrunk by \`protosim run --strategy pbt\` from ${source}. No single fault or typed line can be removed without losing ${cx.findingId}.`;
  spec.nodes = config.nodes.map((n) => {
    const { initial, ...params } = n.params as { initial?: Record<string, string> };
    return {
      id: n.id,
      role: n.role,
      startAtMs: distributionData(n.startAt),
      ...(Object.keys(params).length > 0 ? { params } : {}),
      ...(initial ? { data: initial } : {}),
    };
  });
  spec.workload = config.workload.map((w, i) => ({
    node: w.node,
    messages: cx.workload[i] ?? w.messages,
    thinkMs: distributionData(w.think),
    ...(w.quitAfter ? { quitAfter: true } : {}),
  }));
  spec.faults = [...config.faults, ...cx.faults].map(faultData);
  const kind = cx.findingId.startsWith('invariant:') ? 'invariant' : cx.findingId;
  spec.expect = kind === 'invariant' ? { invariant: cx.findingId.slice('invariant:'.length) } : { [kind]: 'found' };
  spec.explore = { strategy: 'random', seed: cx.seed };
  const header = `# Counterexample written by protosim (pbt). Reproduce it with:\n#   npx protosim run <this file>\n`;
  return header + stringify(spec, { lineWidth: 0 });
}
