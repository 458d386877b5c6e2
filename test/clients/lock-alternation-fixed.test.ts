/**
 * The fixed lock-alternation example client passes every case of the suite, held to the protocol's named bounds too (idle-requests) the seed's client fails.
 */
import { describe, expect, it } from 'vitest';
import { runShippedSuite, verdicts } from './suite-run.js';

describe('lock-alternation suite, fixed example client', () => {
  it('passes every case', async () => {
    const { report, byName } = await runShippedSuite('lock-alternation', 'lock-alternation-fixed', { bounds: true });
    const failed = report.cases.filter((c) => c.verdict !== 'PASS').map((c) => `${c.id}: ${c.reason}\n${c.observed ?? ''}`);
    expect(failed).toEqual([]);
    expect(Object.values(verdicts(byName)).length).toBe(8);
    expect(report.score).toBe(report.maxScore);
  });
});
