/**
 * The fixed status-handshake example client passes every case of the suite, held to the protocol's named bounds too (idle-requests).
 */
import { describe, expect, it } from 'vitest';
import { runShippedSuite } from './suite-run.js';

describe('status-handshake suite, fixed example client', () => {
  it('passes every case', async () => {
    const { report } = await runShippedSuite('status-handshake', 'status-handshake-fixed', { bounds: true });
    const failed = report.cases.filter((c) => c.verdict !== 'PASS').map((c) => `${c.id}: ${c.reason}\n${c.observed ?? ''}`);
    expect(failed).toEqual([]);
    expect(report.cases.length).toBe(8);
  });
});
