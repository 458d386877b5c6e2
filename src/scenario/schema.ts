/**
 * The scenario file schema (zod). `scenarioSchema` validates the YAML's shape; `loadScenario`
 * then checks the names it refers to (protocol, roles, nodes, invariants) against the models.
 * The same schema is written out as JSON Schema (`schema/scenario.schema.json`) for editors.
 */
import { z } from 'zod';
import { fileFormats } from './file-format.js';
import { targetSchema } from './target-schema.js';

const ms = z.number().int().nonnegative();

/** A delay: `5` (fixed), `{ fixed: 5 }`, `{ uniform: [1, 10] }`, `{ exponential: { meanMs: 5, maxMs: 100 } }`. */
export const distributionSchema = z.union([
  ms,
  z.strictObject({ fixed: ms }),
  z.strictObject({ uniform: z.tuple([ms, ms]) }),
  z.strictObject({ exponential: z.strictObject({ meanMs: z.number().positive(), maxMs: ms.optional() }) }),
]);

const ratio = z.number().min(0).max(1);
const nodeId = z.string().regex(/^[A-Za-z][A-Za-z0-9_-]*$/, 'a node id: a letter, then letters, digits, _ or -');

const linkFields = {
  delayMs: distributionSchema.optional(),
  lossRatio: ratio.optional(),
  duplicateRatio: ratio.optional(),
  reorderRatio: ratio.optional(),
  fifo: z.boolean().optional(),
};

export const nodeSchema = z.strictObject({
  id: nodeId,
  role: z.string(),
  startAtMs: distributionSchema.optional(),
  /** role parameters (poll interval, user name...) */
  params: z.record(z.string(), z.unknown()).optional(),
  /** key-value stores: keys present at start (left over from an earlier session) */
  data: z.record(z.string(), z.string()).optional(),
});

export const workloadSchema = z.strictObject({
  node: nodeId,
  messages: z.array(z.string()).default([]),
  thinkMs: distributionSchema.optional(),
  quitAfter: z.boolean().optional(),
});

const atMs = ms;
const matchFields = {
  atMs,
  from: nodeId.optional(),
  to: nodeId.optional(),
  msgType: z.string().optional(),
  count: z.number().int().positive().optional(),
};

export const faultSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('crash'), atMs, node: nodeId, mode: z.enum(['reset', 'silent']).optional() }),
  z.strictObject({ kind: z.literal('restart'), atMs, node: nodeId, state: z.enum(['fresh', 'kept']).optional() }),
  z.strictObject({ kind: z.literal('pause'), atMs, node: nodeId }),
  z.strictObject({ kind: z.literal('resume'), atMs, node: nodeId }),
  z.strictObject({
    kind: z.literal('partition'),
    atMs,
    from: z.array(nodeId).min(1),
    to: z.array(nodeId).min(1),
    direction: z.enum(['one-way', 'both']).optional(),
  }),
  z.strictObject({ kind: z.literal('heal'), atMs }),
  z.strictObject({ kind: z.literal('drop'), ...matchFields }),
  z.strictObject({ kind: z.literal('duplicate'), ...matchFields }),
]);

export const randomFaultsSchema = z.strictObject({
  count: z.number().int().nonnegative(),
  kinds: z.array(z.enum(['crash', 'restart', 'pause', 'partition', 'drop', 'duplicate'])).min(1),
  windowMs: z.tuple([ms, ms]),
  nodes: z.array(nodeId).optional(),
});

const foundOrNone = z.enum(['found', 'none']);

/**
 * What the scenario expects. `deadlock: found` passes when some explored seed deadlocks;
 * `violations: none` passes when no seed finds anything. `invariant` may name one invariant id.
 */
export const expectSchema = z
  .strictObject({
    deadlock: foundOrNone.optional(),
    livelock: foundOrNone.optional(),
    liveness: foundOrNone.optional(),
    invariant: z.string().optional(),
    violations: z.literal('none').optional(),
  })
  .refine((e) => Object.values(e).some((v) => v !== undefined), {
    message: 'expect needs at least one of deadlock, livelock, liveness, invariant, violations',
  });

export const exploreSchema = z.strictObject({
  strategy: z.enum(['random', 'exhaustive', 'pbt']).optional(),
  /** number of seeds to explore */
  seeds: z.number().int().positive().optional(),
  /** first seed of the range */
  seedStart: z.number().int().nonnegative().optional(),
  /** pin one seed (the scenario's pinned seed, run by the test suite) */
  seed: z.number().int().nonnegative().optional(),
  maxStates: z.number().int().positive().optional(),
  maxDepth: z.number().int().positive().optional(),
  faultBudget: z.number().int().nonnegative().optional(),
});

export const scenarioSchema = z.strictObject({
  /** stable id, e.g. `lock-alternation/deadlock` */
  id: z.string().regex(/^[a-z0-9][a-z0-9/_.-]*$/, 'a lower-case id like lock-alternation/deadlock'),
  title: z.string().min(1),
  description: z.string().optional(),
  protocol: z.string(),
  variant: z.string().optional(),
  tags: z.array(z.string()).optional(),
  level: z.enum(['required', 'recommended']).optional(),
  points: z.number().nonnegative().optional(),
  nodes: z.array(nodeSchema).min(1).optional(),
  network: z
    .strictObject({
      ...linkFields,
      links: z.array(z.strictObject({ from: z.union([nodeId, z.literal('*')]), to: z.union([nodeId, z.literal('*')]), ...linkFields })).optional(),
    })
    .optional(),
  workload: z.array(workloadSchema).optional(),
  faults: z.array(faultSchema).optional(),
  randomFaults: randomFaultsSchema.optional(),
  healAtMs: ms.optional(),
  checks: z
    .strictObject({
      deadlock: z.boolean().optional(),
      livelock: z.boolean().optional(),
      stallBoundMs: z.number().int().positive().optional(),
      invariants: z.union([z.literal('all'), z.array(z.string())]).optional(),
    })
    .optional(),
  limits: z
    .strictObject({
      maxSteps: z.number().int().positive().optional(),
      maxTimeMs: z.number().int().positive().optional(),
      maxInFlight: z.number().int().positive().optional(),
    })
    .optional(),
  expect: expectSchema,
  explore: exploreSchema.optional(),
  /** live mode: where the implementation under test is (docs/conformance.md) */
  target: targetSchema.optional(),
  /** live mode: how the scenario runs against a live target */
  live: z
    .strictObject({
      /** real ms per model ms: 0.05 runs the scenario's times twenty times faster */
      timeScale: z.number().positive().max(10).optional(),
      /** how long a request may wait for its reply, real ms */
      replyTimeoutMs: z.number().int().positive().optional(),
      /** after everything scheduled is done, how long to watch for more, real ms */
      settleMs: z.number().int().positive().optional(),
      /** bound on the whole live run, real ms */
      maxRunMs: z.number().int().positive().optional(),
    })
    .optional(),
});

export type ScenarioFile = z.infer<typeof scenarioSchema>;
export type Expectation = z.infer<typeof expectSchema>;

/**
 * The JSON Schema of scenario files, for editors (written to schema/scenario.schema.json). `kind`
 * and `version` come first (file-format.ts reads them before the rest is validated); a file
 * without them is a protosim 0.x scenario, still read, with a warning.
 */
export function scenarioJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(scenarioSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  const header = {
    kind: { const: 'scenario', description: 'what this file is: a protosim scenario' },
    version: { const: fileFormats.scenario.version, description: 'the version of the scenario format this file follows' },
  };
  return {
    $id: 'https://protosim.dev/schema/scenario.schema.json',
    title: 'protosim scenario',
    ...schema,
    properties: { ...header, ...(schema.properties as Record<string, unknown>) },
  };
}
