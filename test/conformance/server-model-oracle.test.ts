/**
 * The server models as oracles, on literal histories (Maelstrom style): what each client must
 * receive, what is allowed either way, and what no possible world explains.
 */
import { describe, expect, it } from 'vitest';
import { ServerModelOracle } from '../../src/conformance/server-model-oracle.js';
import { models } from '../../src/models/index.js';
import { pingLivenessMapping as pingMapping } from '../../src/models/ping-liveness/mapping.js';

// Each package's oracle mapping, as the registry gives it (the fixed server unless said otherwise).
const registerExitMapping = (_server?: undefined, strict = false) => models['register-exit']!.live!.mapping!({ vars: {}, strict });
const offlineQueueMapping = (_server?: undefined, strict = false) => models['offline-queue']!.live!.mapping!({ vars: {}, strict });
const pingLivenessMapping = (options: { strict?: boolean; heartbeatTimeoutMs?: number } = {}) => pingMapping(models['ping-liveness']!.variants.fixed!, options);

/** A clock the test moves by hand. */
function manualClock(): { now: () => number; advance: (ms: number) => void } {
  let t = 0;
  return { now: () => t, advance: (ms) => (t += ms) };
}

const ping = (mtype: number, payload: Record<string, unknown>, version = '1.0.0') => ({ mtype, payload, version });
const oq = (opcode: number, fields: Record<string, string> = {}) => ({ version: '0.1', opcode, sender: '', receiver: '', msg: '', ...fields });

describe('register-exit server model as oracle', () => {
  it('routes with the registered name, whatever From says, to the recipient only', () => {
    const clock = manualClock();
    const oracle = new ServerModelOracle(registerExitMapping(), clock.now);
    oracle.send('a', { From: 'alice', Register: true });
    oracle.send('b', { From: 'bob', Register: true });
    oracle.send('a', { To: 'bob', From: 'carol', Content: 'hi' });
    expect(oracle.satisfied()).toBe(false);
    const spoofed = oracle.arrival('b', { kind: 'message', msg: { To: 'bob', From: 'carol', Content: 'hi', Register: false, Exit: false } });
    expect(spoofed?.reason).toBe('b got what the register-exit (fixed) server model does not send: From: expected "alice", got "carol"');
    expect(oracle.arrival('b', { kind: 'message', msg: { To: 'bob', From: 'alice', Content: 'hi', Register: false, Exit: false } })).toBeNull();
    expect(oracle.satisfied()).toBe(true);
    expect(oracle.arrival('a', { kind: 'message', msg: { From: 'x' } })?.reason).toMatch(/a got a message the register-exit \(fixed\) server model does not send/);
  });

  it('Exit closes only the sender; a vanished client is forgotten (strict: the seed\'s error text)', () => {
    const oracle = new ServerModelOracle(registerExitMapping(undefined, true), manualClock().now);
    oracle.send('a', { From: 'alice', Register: true });
    oracle.send('m', { From: 'mallory', Register: true });
    oracle.send('m', { From: 'alice', Exit: true });
    expect(oracle.arrival('m', { kind: 'closed' })).toBeNull();
    oracle.disconnect('b', 'reset');
    oracle.send('a', { To: 'mallory', Content: 'x' });
    expect(oracle.arrival('a', { kind: 'message', msg: { From: 'Error', Content: 'nope' } })?.reason).toMatch(/Content: expected "That user is not connected to this server"/);
    expect(oracle.arrival('a', { kind: 'message', msg: { From: 'Error', Content: 'That user is not connected to this server' } })).toBeNull();
  });
});

describe('ping-liveness server model as oracle', () => {
  it('binds the model session to the wire id and refuses a session named by another connection', () => {
    const oracle = new ServerModelOracle(pingLivenessMapping(), manualClock().now);
    oracle.send('c1', ping(1, { username: 'user1', password: 'pass1' }));
    expect(oracle.arrival('c1', { kind: 'message', msg: ping(2, { auth: 0, id: 7 }) })).toBeNull();
    expect(oracle.bindings()).toEqual({ s1: '7' });
    oracle.send('c2', ping(1, { username: 'user2', password: 'pass2' }));
    // The same wire id for a second session is not a new session.
    expect(oracle.arrival('c2', { kind: 'message', msg: ping(2, { auth: 0, id: 7 }) })?.reason).toMatch(/id 7 already names session s1/);
    expect(oracle.arrival('c2', { kind: 'message', msg: ping(2, { auth: 0, id: 8 }) })).toBeNull();
    oracle.send('c2', ping(3, { id: 7, time: 1, message: 'I am user1' }));
    expect(oracle.arrival('c2', { kind: 'message', msg: ping(3, { id: 7, message: 'I am user1' }) })?.reason).toMatch(/mtype: expected 5 \(ERROR\), got 3/);
    expect(oracle.arrival('c2', { kind: 'message', msg: ping(5, { id: 7, error_code: 1, message: 'no' }) })).toBeNull();
  });

  it('answers a version offer with nothing in common, and a message of another version, with ERROR 5 (strict)', () => {
    const oracle = new ServerModelOracle(pingLivenessMapping({ strict: true }), manualClock().now);
    oracle.send('c1', ping(7, { supported_versions: ['9.9.9'] }));
    expect(oracle.satisfied()).toBe(false);
    expect(oracle.outstanding()).toMatch(/c1: \{mtype: 5, payload: \{error_code: 5\}\}/);
    expect(oracle.arrival('c1', { kind: 'message', msg: ping(5, { error_code: 5 }) })).toBeNull();
    oracle.send('c1', ping(1, { username: 'user1', password: 'pass1' }, '0.1.0'));
    expect(oracle.arrival('c1', { kind: 'message', msg: ping(2, { auth: 0, id: 1 }) })?.reason).toMatch(/expected ERROR 5/);
  });

  it('a malformed line may be answered with an ERROR or not at all', () => {
    const oracle = new ServerModelOracle(pingLivenessMapping(), manualClock().now);
    oracle.send('c1', { mtype: 99, payload: {} });
    expect(oracle.satisfied()).toBe(true);
    expect(oracle.arrival('c1', { kind: 'message', msg: ping(5, { error_code: 4 }) })).toBeNull();
    expect(oracle.satisfied()).toBe(true);
  });

  it('a silent session may be dropped near the timeout, and must be dropped after it (timers as sets of worlds)', () => {
    const clock = manualClock();
    const oracle = new ServerModelOracle(pingLivenessMapping({ heartbeatTimeoutMs: 800 }), clock.now, { earlyMs: 100, lateMs: 300 });
    oracle.send('c1', ping(1, { username: 'user1', password: 'pass1' }));
    expect(oracle.arrival('c1', { kind: 'message', msg: ping(2, { auth: 0, id: 1 }) })).toBeNull();
    // The model sweeps every 200 ms (a quarter of the timeout); a sweep may fire 100 + 200 ms early
    // or 300 + 200 ms late live (the tolerance plus the sweep period, by which the model's timing and
    // a per-session timer may differ). The session is dropped at the sweep due at 800 ms.
    clock.advance(200);
    expect(oracle.satisfied()).toBe(true); // far from the timeout: nothing is due
    expect(oracle.arrival('c1', { kind: 'message', msg: ping(5, { error_code: 2 }) })?.reason).toMatch(/does not send/);
    clock.advance(600); // at the timeout: dropped or not yet, both possible
    expect(oracle.satisfied()).toBe(true);
    expect(oracle.possibleWorlds).toBeGreaterThan(1);
    clock.advance(600); // past the window: it must have been dropped
    expect(oracle.satisfied()).toBe(false);
    expect(oracle.arrival('c1', { kind: 'message', msg: ping(5, { error_code: 2 }) })).toBeNull();
    expect(oracle.satisfied()).toBe(true);
  });
});

describe('offline-queue server model as oracle', () => {
  function loggedInPair(strict = true): ServerModelOracle {
    const oracle = new ServerModelOracle(offlineQueueMapping(undefined, strict), manualClock().now);
    for (const [c, name] of [['a', 'alice'], ['b', 'bob']] as const) {
      oracle.send(c, oq(1, { msg: name }));
      expect(oracle.arrival(c, { kind: 'message', msg: { opcode: 1 } })).toBeNull();
      oracle.send(c, oq(2, { msg: name }));
      expect(oracle.arrival(c, { kind: 'message', msg: { opcode: 13 } })).toBeNull();
    }
    oracle.send('a', oq(3, { receiver: 'bob', msg: 'hi' }));
    expect(oracle.arrival('a', { kind: 'message', msg: { opcode: 3 } })).toBeNull();
    return oracle;
  }

  it('a push the recipient never received is queued again when its connection resets', () => {
    const oracle = loggedInPair();
    oracle.disconnect('b', 'reset');
    oracle.send('c', oq(2, { msg: 'bob' }));
    oracle.send('c', oq(4));
    expect(oracle.arrival('c', { kind: 'message', msg: { opcode: 13 } })).toBeNull();
    expect(oracle.arrival('c', { kind: 'message', msg: { opcode: 6, msg: '' } })?.reason).toMatch(/msg: expected "alice:hi\\n", got ""/);
  });

  it('a push the recipient received may or may not have been confirmed before it reset: a duplicate or nothing, both allowed', () => {
    for (const queue of ['', 'alice:hi\n']) {
      const oracle = loggedInPair();
      expect(oracle.arrival('b', { kind: 'message', msg: { opcode: 17, msg: 'alice:hi\n' } })).toBeNull();
      oracle.disconnect('b', 'reset');
      oracle.send('c', oq(2, { msg: 'bob' }));
      oracle.send('c', oq(4));
      expect(oracle.arrival('c', { kind: 'message', msg: { opcode: 13 } })).toBeNull();
      expect(oracle.arrival('c', { kind: 'message', msg: { opcode: 6, msg: queue } })).toBeNull();
    }
  });

  it('a request from the recipient confirms its pushes; login elsewhere is 11 on the wire', () => {
    const oracle = loggedInPair();
    expect(oracle.arrival('b', { kind: 'message', msg: { opcode: 17, msg: 'alice:hi\n' } })).toBeNull();
    oracle.send('b', oq(6, { msg: '*' }));
    expect(oracle.arrival('b', { kind: 'message', msg: { opcode: 10, msg: 'bob\nalice\n' } })).toBeNull();
    oracle.send('c', oq(2, { msg: 'bob' }));
    expect(oracle.arrival('b', { kind: 'message', msg: { opcode: 11 } })).toBeNull();
    oracle.send('c', oq(4));
    expect(oracle.arrival('c', { kind: 'message', msg: { opcode: 13 } })).toBeNull();
    expect(oracle.arrival('c', { kind: 'message', msg: { opcode: 6, msg: 'alice:hi\n' } })?.reason).toMatch(/expected "", got "alice:hi\\n"/);
  });
});

describe('bytes that are not a message', () => {
  it('after a line ended, the next message is judged; after bytes ending inside a frame, nothing on that connection is', () => {
    for (const framed of [true, false]) {
      const oracle = new ServerModelOracle(pingLivenessMapping(), manualClock().now);
      oracle.sendUnreadable('c1', framed);
      oracle.send('c1', ping(3, { id: 424242, time: 1, message: 'l' }));
      // the model answers a chat without a session with ERROR 1 (not logged in)
      expect(oracle.satisfied()).toBe(!framed);
      if (framed) expect(oracle.arrival('c1', { kind: 'message', msg: ping(5, { error_code: 1 }) })).toBeNull();
      expect(oracle.satisfied()).toBe(true);
      // another connection is judged as ever
      oracle.send('c2', ping(3, { id: 1, time: 1, message: 'x' }));
      expect(oracle.satisfied()).toBe(false);
      // a connection that ended and came back is read afresh
      oracle.disconnect('c1', 'closed');
      oracle.send('c1', ping(3, { id: 7, time: 1, message: 'y' }));
      expect(oracle.arrival('c2', { kind: 'message', msg: ping(5, { error_code: 1 }) })).toBeNull();
      expect(oracle.satisfied()).toBe(false);
    }
  });

  it('two logins of one account in flight together: either may win, though the first one starts the heartbeat sweep', () => {
    for (const winner of ['c1', 'c2']) {
      const loser = winner === 'c1' ? 'c2' : 'c1';
      let now = 0;
      const oracle = new ServerModelOracle(pingLivenessMapping({ heartbeatTimeoutMs: 800 }), () => now);
      oracle.send('c1', ping(1, { username: 'user1', password: 'pass1' }));
      now += 5;
      oracle.send('c2', ping(1, { username: 'user1', password: 'pass1' }));
      now += 5;
      expect(oracle.arrival(loser, { kind: 'message', msg: ping(5, { id: null, error_code: 3 }) })).toBeNull();
      expect(oracle.arrival(winner, { kind: 'message', msg: ping(2, { auth: 0, id: 'k' }) })).toBeNull();
      // and not both
      expect(oracle.arrival(loser, { kind: 'message', msg: ping(2, { auth: 0, id: 'j' }) })).not.toBeNull();
    }
  });

  it('garbage with line ends inside is several garbage lines: one reply to each may come, not more', () => {
    const answer = (oracle: ServerModelOracle): string | null => oracle.arrival('c1', { kind: 'message', msg: ping(5, { error_code: 0, message: 'bad line' }) })?.reason ?? null;
    const two = new ServerModelOracle(pingLivenessMapping(), manualClock().now);
    two.sendUnreadable('c1', true, 2);
    expect(answer(two)).toBeNull();
    expect(answer(two)).toBeNull();
    expect(answer(two)).not.toBeNull();
    const one = new ServerModelOracle(pingLivenessMapping(), manualClock().now);
    one.sendUnreadable('c1', true);
    expect(answer(one)).toBeNull();
    expect(answer(one)).not.toBeNull();
    // bytes that end inside a frame (a length prefix read from garbage): any number of garbage frames, each may be answered
    const unframed = new ServerModelOracle(pingLivenessMapping(), manualClock().now);
    unframed.sendUnreadable('c1', false);
    for (let i = 0; i < 3; i++) expect(answer(unframed)).toBeNull();
  });

  it('a close after garbage may come after the step that sent it ended (a server still reading a long line)', () => {
    const oracle = new ServerModelOracle(pingLivenessMapping(), manualClock().now);
    oracle.sendUnreadable('c1', true);
    expect(oracle.satisfied()).toBe(true);
    oracle.commitSatisfied();
    oracle.send('c2', ping(7, { supported_versions: ['1.0.0'] }));
    expect(oracle.arrival('c1', { kind: 'closed' })).toBeNull();
    // a close with nothing sent before it is still the server's fault
    expect(oracle.arrival('c2', { kind: 'closed' })).not.toBeNull();
  });
});

describe('default oracle: what the protocol leaves open is not judged', () => {
  it('ping-liveness: a failed VERSION_RESPONSE before ERROR 5, a pong, a logout ack, a close after LOGOUT or an ERROR', () => {
    const clock = manualClock();
    const oracle = new ServerModelOracle(pingLivenessMapping(), clock.now);
    oracle.send('c1', ping(7, { supported_versions: ['9.9.9'] }));
    expect(oracle.arrival('c1', { kind: 'message', msg: ping(8, { success: false }) })).toBeNull();
    expect(oracle.satisfied()).toBe(false); // ERROR 5 is normative
    expect(oracle.arrival('c1', { kind: 'message', msg: ping(5, { error_code: 5 }) })).toBeNull();
    expect(oracle.satisfied()).toBe(true);
    oracle.send('c2', ping(1, { username: 'user1', password: 'pass1' }));
    expect(oracle.arrival('c2', { kind: 'message', msg: ping(2, { auth: 0, id: 'x' }) })).toBeNull();
    oracle.send('c2', ping(6, { id: 'x' }));
    expect(oracle.arrival('c2', { kind: 'message', msg: ping(6, { id: 'x' }) })).toBeNull();
    oracle.send('c2', ping(6, { id: 'x' }));
    oracle.send('c2', ping(4, { id: 'x' }));
    expect(oracle.arrival('c2', { kind: 'message', msg: ping(4, { id: 'x' }) })).toBeNull();
    expect(oracle.arrival('c2', { kind: 'closed' })).toBeNull();
    // the user is free again
    oracle.send('c3', ping(1, { username: 'user1', password: 'pass1' }));
    expect(oracle.arrival('c3', { kind: 'message', msg: ping(2, { auth: 0, id: 'y' }) })).toBeNull();
    // a second reply is still a message the model does not send
    expect(oracle.arrival('c3', { kind: 'message', msg: ping(2, { auth: 0, id: 'y' }) })?.reason).toMatch(/c3 got a message the ping-liveness \(fixed\) server model does not send/);
  });

  it('ping-liveness: a second login on a logged-in connection may be refused as bad credentials (strict: ERROR 3 only)', () => {
    for (const strict of [false, true]) {
      const oracle = new ServerModelOracle(pingLivenessMapping({ strict }), manualClock().now);
      oracle.send('c1', ping(1, { username: 'user2', password: 'pass2' }));
      expect(oracle.arrival('c1', { kind: 'message', msg: ping(2, { auth: 0, id: 'a' }) })).toBeNull();
      oracle.send('c1', ping(1, { username: 'user1', password: 'wrong' }));
      const refused = oracle.arrival('c1', { kind: 'message', msg: ping(2, { auth: 1 }) });
      if (strict) expect(refused?.reason).toMatch(/ERROR/);
      else expect(refused).toBeNull();
      // accepted is never right: the connection keeps its session
      const again = new ServerModelOracle(pingLivenessMapping({ strict }), manualClock().now);
      again.send('c1', ping(1, { username: 'user2', password: 'pass2' }));
      expect(again.arrival('c1', { kind: 'message', msg: ping(2, { auth: 0, id: 'a' }) })).toBeNull();
      again.send('c1', ping(1, { username: 'user1', password: 'pass1' }));
      expect(again.arrival('c1', { kind: 'message', msg: ping(2, { auth: 0, id: 'b' }) })).not.toBeNull();
    }
  });

  it('ping-liveness: a later message of another version may be served as negotiated, or refused', () => {
    for (const reply of [ping(2, { auth: 0, id: 1 }), ping(5, { error_code: 5 })]) {
      const oracle = new ServerModelOracle(pingLivenessMapping(), manualClock().now);
      oracle.send('c1', ping(1, { username: 'user1', password: 'pass1' }, '0.1.0'));
      expect(oracle.arrival('c1', { kind: 'message', msg: reply })).toBeNull();
    }
  });

  it('register-exit: any error wording, a close after it, and an Exit naming another user refused', () => {
    const oracle = new ServerModelOracle(registerExitMapping(), manualClock().now);
    oracle.send('a', { From: 'alice', Register: true });
    oracle.send('m', { From: 'mallory', Register: true });
    oracle.send('a', { From: 'alice', To: 'nobody', Content: 'x' });
    expect(oracle.arrival('a', { kind: 'message', msg: { From: 'Error', Content: 'User nobody is not connected' } })).toBeNull();
    oracle.send('m', { From: 'alice', Exit: true });
    expect(oracle.arrival('m', { kind: 'message', msg: { From: 'Error', Content: 'Exit refused' } })).toBeNull();
    oracle.commitSatisfied();
    oracle.send('m', { From: 'mallory', To: 'alice', Content: 'still here' });
    expect(oracle.arrival('a', { kind: 'message', msg: { To: 'alice', From: 'mallory', Content: 'still here' } })).toBeNull();
    // an Exit never unregisters another user, whichever reading the server takes
    oracle.send('m', { From: 'alice', Exit: true });
    expect(oracle.arrival('m', { kind: 'closed' })).toBeNull();
    oracle.send('a', { From: 'alice', To: 'mallory', Content: 'gone?' });
    expect(oracle.arrival('a', { kind: 'message', msg: { From: 'Error', Content: 'no' } })).toBeNull();
  });

  it('register-exit: registering one\'s own name again gets nothing or an error (corpus server-py-b), the name kept; --strict wants nothing; another name is refused', () => {
    for (const reply of [undefined, { From: 'Error', Content: 'Already registered as alice' }]) {
      const oracle = new ServerModelOracle(registerExitMapping(), manualClock().now);
      oracle.send('a', { From: 'alice', Register: true });
      oracle.commitSatisfied();
      oracle.send('a', { From: 'alice', Register: true });
      if (reply !== undefined) expect(oracle.arrival('a', { kind: 'message', msg: reply })).toBeNull();
      oracle.commitSatisfied();
      oracle.send('b', { From: 'bob', Register: true });
      oracle.send('b', { From: 'bob', To: 'alice', Content: 'still yours' });
      expect(oracle.arrival('a', { kind: 'message', msg: { To: 'alice', From: 'bob', Content: 'still yours' } })).toBeNull();
      // a second error is a message the model does not send
      if (reply !== undefined) expect(oracle.arrival('a', { kind: 'message', msg: reply })?.reason).toMatch(/does not send|expected/);
    }
    const strict = new ServerModelOracle(registerExitMapping(undefined, true), manualClock().now);
    strict.send('a', { From: 'alice', Register: true });
    strict.commitSatisfied();
    strict.send('a', { From: 'alice', Register: true });
    expect(strict.arrival('a', { kind: 'message', msg: { From: 'Error', Content: 'Already registered as alice' } })?.reason).toMatch(/does not send/);
  });

  it('register-exit: an error reply may name its recipient in To (held-out batch); a routed message must name the right one; --strict wants the seed\'s empty To', () => {
    const oracle = new ServerModelOracle(registerExitMapping(), manualClock().now);
    oracle.send('a', { From: 'alice', Register: true });
    oracle.commitSatisfied();
    oracle.send('a', { From: 'alice', To: 'nobody', Content: 'x' });
    expect(oracle.arrival('a', { kind: 'message', msg: { To: 'alice', From: 'Error', Content: 'That user is not connected to this server' } })).toBeNull();
    oracle.send('b', { From: 'bob', Register: true });
    oracle.commitSatisfied();
    oracle.send('a', { From: 'alice', To: 'bob', Content: 'hi' });
    expect(oracle.arrival('b', { kind: 'message', msg: { To: 'carol', From: 'alice', Content: 'hi' } })?.reason).toMatch(/To: expected "bob", got "carol"/);
    const strict = new ServerModelOracle(registerExitMapping(undefined, true), manualClock().now);
    strict.send('a', { From: 'alice', Register: true });
    strict.commitSatisfied();
    strict.send('a', { From: 'alice', To: 'nobody', Content: 'x' });
    expect(strict.arrival('a', { kind: 'message', msg: { To: 'alice', From: 'Error', Content: 'That user is not connected to this server' } })?.reason).toMatch(/To: expected "", got "alice"/);
  });

  it('offline-queue: a moved login logged out silently, a close after quit, a push counted delivered once written', () => {
    const oracle = new ServerModelOracle(offlineQueueMapping(), manualClock().now);
    for (const [c, name] of [['a', 'alice'], ['b', 'bob']] as const) {
      oracle.send(c, oq(1, { msg: name }));
      expect(oracle.arrival(c, { kind: 'message', msg: { opcode: 1 } })).toBeNull();
      oracle.send(c, oq(2, { msg: name }));
      expect(oracle.arrival(c, { kind: 'message', msg: { opcode: 13 } })).toBeNull();
    }
    oracle.send('a', oq(3, { receiver: 'bob', msg: 'hi' }));
    expect(oracle.arrival('a', { kind: 'message', msg: { opcode: 3 } })).toBeNull();
    // a login elsewhere: b may be told (11) or logged out silently
    oracle.send('d', oq(2, { msg: 'alice' }));
    expect(oracle.arrival('d', { kind: 'message', msg: { opcode: 13 } })).toBeNull();
    expect(oracle.outstanding()).not.toMatch(/a:/); // 11 to a is optional
    oracle.disconnect('b', 'reset');
    oracle.send('c', oq(2, { msg: 'bob' }));
    expect(oracle.arrival('c', { kind: 'message', msg: { opcode: 13 } })).toBeNull();
    oracle.send('c', oq(4));
    // the push to b (never seen) counted delivered, or queued again: both allowed
    expect(oracle.arrival('c', { kind: 'message', msg: { opcode: 6, msg: '' } })).toBeNull();
    oracle.send('c', oq(7));
    expect(oracle.arrival('c', { kind: 'message', msg: { opcode: 11 } })).toBeNull();
    expect(oracle.arrival('c', { kind: 'closed' })).toBeNull();
  });

  it('requests in flight together on different connections may take effect in either order', () => {
    const oracle = new ServerModelOracle(registerExitMapping(), manualClock().now);
    oracle.send('b', { From: 'bob', Register: true });
    expect(oracle.satisfied()).toBe(true);
    oracle.commitSatisfied();
    // alice registers bob's name while bob's connection sends to itself: either came first
    oracle.send('a', { From: 'alice', Register: true });
    oracle.send('b', { From: 'bob', To: 'alice', Content: 'race' });
    expect(oracle.arrival('b', { kind: 'message', msg: { From: 'Error', Content: 'not connected' } })).toBeNull();
    const other = new ServerModelOracle(registerExitMapping(), manualClock().now);
    other.send('b', { From: 'bob', Register: true });
    other.commitSatisfied();
    other.send('a', { From: 'alice', Register: true });
    other.send('b', { From: 'bob', To: 'alice', Content: 'race' });
    expect(other.arrival('a', { kind: 'message', msg: { To: 'alice', From: 'bob', Content: 'race' } })).toBeNull();
    // once something was observed, later requests come after
    other.send('b', { From: 'bob', To: 'alice', Content: 'after' });
    expect(other.arrival('b', { kind: 'message', msg: { From: 'Error' } })?.reason).toMatch(/does not send/);
  });

  it('requests without replies stay in flight together until the host commits, with their age', () => {
    const clock = manualClock();
    const oracle = new ServerModelOracle(registerExitMapping(), clock.now);
    expect(oracle.inFlightAgeMs()).toBeNull();
    oracle.send('a', { From: 'alice', Register: true });
    clock.advance(40);
    oracle.send('b', { From: 'bob', Register: true });
    clock.advance(100);
    expect(oracle.satisfied()).toBe(true);
    // the newest of them was sent 100 ms ago: a host waits until the server has had time to read it
    expect(oracle.inFlightAgeMs()).toBe(100);
    oracle.commitSatisfied();
    expect(oracle.inFlightAgeMs()).toBeNull();
    // a message sent after the commit comes after both registrations
    oracle.send('a', { From: 'alice', To: 'bob', Content: 'hello bob' });
    expect(oracle.arrival('a', { kind: 'message', msg: { From: 'Error', Content: 'That user is not connected to this server' } })?.reason).toMatch(/does not send/);
  });

  it('strict: the same illustrative choices are held to the reference server', () => {
    const oracle = new ServerModelOracle(pingLivenessMapping({ strict: true }), manualClock().now);
    oracle.send('c1', ping(7, { supported_versions: ['9.9.9'] }));
    expect(oracle.arrival('c1', { kind: 'message', msg: ping(8, { success: false }) })?.reason).toMatch(/mtype: expected 5/);
  });

  it('deferText: an extra message is reported before a text that differs', () => {
    const oracle = new ServerModelOracle(registerExitMapping(undefined, true), manualClock().now, undefined, undefined, { deferText: true });
    oracle.send('a', { From: 'alice', Register: true });
    oracle.send('b', { From: 'bob', Register: true });
    oracle.commitSatisfied();
    oracle.send('a', { From: 'alice', To: 'bob', Content: 'hi' });
    expect(oracle.arrival('b', { kind: 'message', msg: { To: 'bob', From: 'alice', Content: 'HI' } })).toBeNull();
    expect(oracle.arrival('b', { kind: 'message', msg: { To: 'bob', From: 'alice', Content: 'again' } })?.reason).toMatch(/b got a message the register-exit \(fixed\) server model, strict does not send/);
    const again = new ServerModelOracle(registerExitMapping(undefined, true), manualClock().now, undefined, undefined, { deferText: true });
    again.send('a', { From: 'alice', Register: true });
    again.send('b', { From: 'bob', Register: true });
    again.commitSatisfied();
    again.send('a', { From: 'alice', To: 'bob', Content: 'hi' });
    expect(again.arrival('b', { kind: 'message', msg: { To: 'bob', From: 'alice', Content: 'HI' } })).toBeNull();
    expect(again.settle()?.reason).toMatch(/Content: expected "hi", got "HI"/);
  });
});
