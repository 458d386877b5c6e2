/**
 * The seed's status-handshake client (examples/clients/status-handshake.mjs), driven through a
 * PTY, fails exactly the cases the model predicts.
 */
import { describe, expect, it } from 'vitest';
import { runShippedSuite, verdicts } from './suite-run.js';

describe('status-handshake suite, faithful example client', () => {
  it('passes the happy path and the third-client rejection, and fails the flaws', async () => {
    const { byName } = await runShippedSuite('status-handshake', 'status-handshake');
    expect(verdicts(byName)).toEqual({
      'happy-path': 'PASS',
      'simultaneous-start': 'FAIL',
      'third-client': 'PASS',
      'own-message': 'FAIL',
      'peer-killed': 'FAIL',
      'stale-in-use': 'FAIL',
      'whitespace-message': 'FAIL',
      'delimiters-in-message': 'PASS',
    });
    // The model's client, stepped alongside each live client, says what both wait for.
    expect(byName['simultaneous-start']!.reason).toMatch(/c1 and c2 both wait for status=two \(a second user to connect\), polling GET status .* and nothing changes/);
    expect(byName['simultaneous-start']!.observed).toMatch(/check-then-set race/);
    expect(byName['whitespace-message']!.observed).toMatch(/strips it before checking/);
    expect(byName['simultaneous-start']!.observed).toMatch(/GET status ×\d+ \(answer "one"\)/);
    expect(byName['own-message']!.reason).toMatch(/expected no message on c1 .*got "Other user: only for c2"/);
    expect(byName['stale-in-use']!.reason).toMatch(/got "The server is currently in use; try again later"/);
    expect(byName['whitespace-message']!.reason).toMatch(/expected c2 to show a message "   "/);
    expect(byName['peer-killed']!.observed).toMatch(/store now: .*status="two"/);
  });
});
