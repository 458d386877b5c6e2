import { describe, expect, it } from 'vitest';
import { gradescopeResults, renderGradescope } from '../../src/report/gradescope.js';
import { runReport, suite } from './fixtures.js';

describe('Gradescope results.json', () => {
  it('has a test per case with score, max_score, status and output, and the total', () => {
    const r = JSON.parse(renderGradescope(suite)) as ReturnType<typeof gradescopeResults>;
    expect(Object.keys(r).sort()).toEqual(['execution_time', 'output', 'score', 'tests']);
    expect(r.tests).toHaveLength(4);
    for (const t of r.tests) {
      expect(typeof t.name).toBe('string');
      expect(typeof t.score).toBe('number');
      expect(typeof t.max_score).toBe('number');
      expect(['passed', 'failed']).toContain(t.status);
      expect(typeof t.output).toBe('string');
    }
    expect(r.tests.map((t) => [t.score, t.max_score, t.status])).toEqual([
      [2, 2, 'passed'],
      [0, 3, 'failed'],
      [0, 1, 'failed'],
      [0, 1, 'failed'],
    ]);
    expect(r.score).toBe(2);
    expect(r.execution_time).toBe(2.46);
    expect(r.output).toContain('2 / 7 points');
    expect(r.tests[2]!.output).toMatch(/^ERROR: target did not answer/);
    expect(r.tests[3]!.name).toMatch(/^\(recommended\) kv\/binary/);
    expect(r.tests[1]!.output).toContain('c1 → store  GET key=connected');
  });

  it('splits a model run\'s points over its expectations', () => {
    const ok = gradescopeResults(runReport(true));
    expect(ok.tests.map((t) => t.max_score)).toEqual([1.5, 1.5]);
    expect(ok.score).toBe(3);
    const bad = gradescopeResults(runReport(false));
    expect(bad.score).toBe(1.5);
    expect(bad.tests[1]!.status).toBe('failed');
    expect(bad.output).toMatch(/^FAIL/);
  });
});
