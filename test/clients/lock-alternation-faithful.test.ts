/**
 * The seed's lock-alternation client (examples/clients/lock-alternation.mjs), driven through a PTY,
 * fails exactly the cases the model predicts, each with the evidence a grader needs.
 */
import { describe, expect, it } from 'vitest';
import { runShippedSuite, verdicts } from './suite-run.js';

describe('lock-alternation suite, faithful example client', () => {
  it('passes the happy path and fails the flaws the model predicts', async () => {
    const { report, byName } = await runShippedSuite('lock-alternation', 'lock-alternation');
    expect(verdicts(byName)).toEqual({
      'happy-path': 'PASS',
      'simultaneous-start': 'FAIL',
      'third-client': 'FAIL',
      'peer-killed': 'FAIL',
      rejoin: 'FAIL',
      'leftover-keys': 'FAIL',
      'server-faults': 'FAIL',
      'delimiters-in-message': 'PASS',
    });
    expect(report.ok).toBe(false);
    expect(report.score).toBe(3); // happy-path (2 points) and delimiters-in-message

    // The deadlock: both clients wait for connected=2, with the polling requests behind it.
    const race = byName['simultaneous-start']!;
    expect(race.reason).toMatch(/c1 and c2 both wait for connected=2 \(a second client to join\), polling GET connected \(c1 [\d.]+\/s, c2 [\d.]+\/s\) and nothing changes/);
    expect(race.observed).toMatch(/c1: \d+ requests in \d+ ms \([\d.]+\/s\): GET connected ×\d+ \(answer "1"\)/);
    expect(race.observed).toMatch(/store now: connected="1", lock="1"/);
    expect(race.observed).toMatch(/check-then-set race/); // the model's own diagnosis
    expect(race.trace!.some((e) => e.k === 'finding' && e.kind === 'deadlock')).toBe(true);
    expect(race.cycleStart).toBeGreaterThan(0);

    expect(byName['third-client']!.reason).toMatch(/expected no message on c3 .*got "Client 1: for c2 only"/);
    expect(byName['peer-killed']!.reason).toMatch(/c1 waits for lock to hold its own number, polling GET lock/);
    expect(byName['leftover-keys']!.reason).toMatch(/got "Client 1: stale message of yesterday"/);
    expect(byName['rejoin']!.reason).toMatch(/expected no message on c2 .*got "Client 1: two"/);
    expect(byName['server-faults']!.observed).toMatch(/c1: exit code 1/);
    expect(byName['server-faults']!.observed).toMatch(/HTTP Error 500/);
  });
});
