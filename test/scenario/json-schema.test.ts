import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { scenarioJsonSchema } from '../../src/scenario/schema.js';

describe('scenario JSON Schema', () => {
  it('schema/scenario.schema.json is up to date (regenerate with `npx protosim schema -o schema/scenario.schema.json`)', () => {
    const onDisk = JSON.parse(readFileSync('schema/scenario.schema.json', 'utf8'));
    expect(onDisk).toEqual(scenarioJsonSchema());
  });

  it('describes the top-level fields and requires id, title, protocol and expect', () => {
    const schema = scenarioJsonSchema() as { properties: Record<string, unknown>; required: string[] };
    expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(['id', 'title', 'protocol', 'nodes', 'network', 'workload', 'faults', 'expect', 'explore']));
    expect(schema.required).toEqual(expect.arrayContaining(['id', 'title', 'protocol', 'expect']));
  });
});
