/**
 * The register-exit server model as oracle, on literal histories: what each client must receive.
 */
import { describe, expect, it } from 'vitest';
import { RegisterExitModelOracle } from '../../src/conformance/registerExitModelOracle.js';

describe('register-exit model oracle', () => {
  it('routes with the registered name, whatever From says, and says so to the recipient only', () => {
    const oracle = new RegisterExitModelOracle();
    oracle.onSend('a', { From: 'alice', Register: true });
    oracle.onSend('b', { From: 'bob', Register: true });
    oracle.onSend('a', { To: 'bob', From: 'carol', Content: 'hi' });
    const expected = oracle.drain();
    expect([...expected.keys()]).toEqual(['b']);
    const [e] = expected.get('b')!;
    expect(oracle.mismatch(e!, { To: 'bob', From: 'alice', Content: 'hi', Register: false, Exit: false })).toBeNull();
    expect(oracle.mismatch(e!, { To: 'bob', From: 'carol', Content: 'hi', Register: false, Exit: false })).toBe('From: expected "alice", got "carol"');
  });

  it('an unknown recipient gets the seed\'s error text; Exit closes only the sender and forgets only its name', () => {
    const oracle = new RegisterExitModelOracle();
    oracle.onSend('a', { From: 'alice', Register: true });
    oracle.onSend('m', { From: 'mallory', Register: true });
    oracle.onSend('m', { From: 'alice', Exit: true });
    oracle.onSend('a', { To: 'mallory', Content: 'x' });
    const expected = oracle.drain();
    expect(expected.get('m')).toEqual([{ kind: 'close' }]);
    const [err] = expected.get('a')!;
    expect(oracle.mismatch(err!, { From: 'Error', Content: 'That user is not connected to this server' })).toBeNull();
    expect(oracle.mismatch(err!, { From: 'Error', Content: 'nope' })).toMatch(/^Content/);
  });

  it('a vanished client is forgotten; a message the case consumed itself is not expected again', () => {
    const oracle = new RegisterExitModelOracle();
    oracle.onSend('a', { From: 'alice', Register: true });
    oracle.onSend('b', { From: 'bob', Register: true });
    oracle.onSend('b', { To: 'alice', Content: 'one' });
    oracle.consumed('a');
    oracle.onDisconnect('a', 'reset');
    oracle.onSend('b', { To: 'alice', Content: 'two' });
    const expected = oracle.drain();
    expect(expected.has('a')).toBe(false);
    expect(oracle.describe(expected.get('b')![0]!)).toMatch(/"From":"Error","Content":"That user is not connected to this server"/);
  });
});
