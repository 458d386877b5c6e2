/**
 * Where a model scenario runs live: its `target` (or `--target`, which overrides it), resolved as a
 * suite's would be, with the codec its protocol speaks: its package's live protocol (the key-value
 * protocols, lock-alternation and status-handshake, share the IM interface, `kv`).
 */
import { InputError } from '../errors.js';
import type { Suite } from '../scenario/load-suite.js';
import type { Scenario } from '../scenario/load.js';
import type { SuiteProtocol } from '../scenario/suite-schema.js';
import { protocolNamed } from '../models/registry.js';
import { liveCodecFor, type LiveCodec } from './live-codec.js';
import { resolveTarget, type LiveTargetOverrides, type ResolvedTarget } from './live-target.js';

/** The live protocol (suite protocol) of a model's protocol; undefined when it has no live form. */
export function liveProtocolOf(protocol: string): SuiteProtocol | undefined {
  return protocolNamed(protocol)?.live?.name;
}

export interface ScenarioTarget extends ResolvedTarget {
  protocol: SuiteProtocol;
  /** null for the IM HTTP interface (transport `http`) */
  liveCodec: LiveCodec | null;
}

export function resolveScenarioTarget(scenario: Scenario, overrides: LiveTargetOverrides, cwd: string): ScenarioTarget {
  const protocol = liveProtocolOf(scenario.model.name);
  if (protocol === undefined) throw new InputError(`${scenario.model.name} has no live form (no codec, no reference server)`, 'no-live-form');
  // A suite-shaped view of the scenario: the target rules are the same.
  const asSuite = { file: scenario.file, spec: { protocol, target: scenario.spec.target } } as unknown as Suite;
  const target = resolveTarget(asSuite, overrides, cwd);
  const http = protocolNamed(scenario.model.name)?.live?.transport === 'http';
  const liveCodec = http ? null : liveCodecFor(protocol, target.codec, target.framing);
  if (!http && liveCodec === null) throw new InputError(`${protocol} has no codec ${target.codec}`);
  return { ...target, protocol, liveCodec };
}
