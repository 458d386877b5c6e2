/**
 * `protosim list` shows every protocol, every variant and every scenario with its title.
 */
import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/program.js';
import { models } from '../../src/models/index.js';
import { loadScenarioFile } from '../../src/scenario/load.js';
import { allScenarioFiles, scenariosDir } from './helpers.js';

describe('protosim list', () => {
  it('names every protocol, variant and scenario', async () => {
    let out = '';
    const code = await runCli(['list', '--dir', scenariosDir], { stdout: (t) => { out += t; }, stderr: (t) => { out += t; }, isTTY: false });
    expect(code).toBe(0);
    expect(out).not.toMatch(/INVALID/);
    for (const m of Object.values(models)) {
      expect(out).toContain(m.name);
      for (const v of Object.keys(m.variants)) expect(out).toContain(`variant ${v}:`);
    }
    for (const f of allScenarioFiles()) {
      const s = loadScenarioFile(f);
      expect(out).toContain(s.spec.id);
      expect(out).toContain(s.spec.title);
    }
  });
});
