/**
 * Every scenario file shipped in scenarios/ runs at its pinned seed (or its small seed range) and
 * gives the verdict it expects.
 */
import { relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { evaluateExpectations } from '../../src/scenario/expect.js';
import { loadScenarioFile } from '../../src/scenario/load.js';
import { models } from '../../src/models/index.js';
import { allScenarioFiles, exploreScenario, scenariosDir } from './helpers.js';

const files = allScenarioFiles();

describe('the scenario library', () => {
  it('has the front door and at least three scenarios per protocol, with unique ids', () => {
    expect(files.map((f) => relative(scenariosDir, f))).toContain('deadlock.yaml');
    const loaded = files.map((f) => loadScenarioFile(f));
    const ids = loaded.map((s) => s.spec.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const name of Object.keys(models)) {
      const mine = loaded.filter((s) => s.model.name === name);
      expect(mine.length, name).toBeGreaterThanOrEqual(3);
      for (const s of mine) {
        expect(s.spec.id.startsWith(`${name}/`), s.spec.id).toBe(true);
        expect(s.spec.tags?.length ?? 0, s.spec.id).toBeGreaterThan(0);
      }
      // Every protocol shows at least one flaw of its faithful model, and a fixed twin.
      expect(mine.some((s) => s.variant.name === 'faithful' && s.spec.expect.violations !== 'none'), name).toBe(true);
      expect(mine.some((s) => s.variant.name === 'fixed'), name).toBe(true);
    }
  });

  it.each(files.map((f) => [relative(scenariosDir, f), f]))('%s gives its expected verdict', (_name, file) => {
    const s = loadScenarioFile(file);
    // Small seed budgets keep the suite fast; a range must stay small.
    expect(s.explore.seed !== null || s.explore.seeds <= 200).toBe(true);
    const result = exploreScenario(s);
    const checks = evaluateExpectations(s.expect, result.findings);
    for (const c of checks) expect(c, `${s.spec.id}: ${c.what}`).toMatchObject({ ok: true });
  });
});
