/**
 * The server model oracle across process faults on the live server: a killed process closes every
 * connection and takes its state with it, a restarted one starts afresh (no registrations, no
 * sessions, no bindings), and a paused one reads what was sent meanwhile when it resumes, before or
 * after the timers that came due (both orders are what a stopped event loop may do).
 */
import { describe, expect, it } from 'vitest';
import { ServerModelOracle } from '../../src/conformance/server-model-oracle.js';
import { models } from '../../src/models/index.js';
import { pingLivenessMapping } from '../../src/models/ping-liveness/mapping.js';

const registerExit = () => models['register-exit']!.live!.mapping!({ vars: {}, strict: false });
const pingLiveness = () => pingLivenessMapping(models['ping-liveness']!.variants.fixed!, { heartbeatTimeoutMs: 800 });

function manualClock(): { now: () => number; advance: (ms: number) => void } {
  let t = 0;
  return { now: () => t, advance: (ms) => (t += ms) };
}

const routed = (from: string, content: string) => ({ To: 'bob', From: from, Content: content, Register: false, Exit: false });
const ping = (mtype: number, payload: Record<string, unknown>) => ({ mtype, payload, version: '1.0.0' });
const login = ping(1, { username: 'user1', password: 'pass1' });

describe('server model oracle: kill and restart', () => {
  it('register-exit: the kill closes every connection; after the restart the names are free again and nothing is left of the old server', () => {
    const oracle = new ServerModelOracle(registerExit(), manualClock().now);
    oracle.send('a', { From: 'alice', Register: true });
    oracle.send('b', { From: 'bob', Register: true });
    oracle.commitSatisfied();
    oracle.serverDown(['a', 'b']);
    // the connections close with the process
    expect(oracle.satisfied()).toBe(false);
    expect(oracle.arrival('a', { kind: 'closed' })).toBeNull();
    // what b sends on its dead connection reaches nobody
    oracle.send('b', { To: 'alice', Content: 'lost' });
    oracle.serverUp();
    oracle.disconnect('b', 'closed'); // b's old connection, replaced
    oracle.connected('a');
    oracle.connected('b');
    expect(oracle.satisfied()).toBe(true);
    // alice registers again: the fresh server has no alice, so no refusal is expected
    oracle.send('a', { From: 'alice', Register: true });
    oracle.send('b', { From: 'bob', Register: true });
    expect(oracle.satisfied()).toBe(true);
    expect(oracle.arrival('a', { kind: 'message', msg: { From: 'Error', Content: 'name in use', To: '', Register: false, Exit: false } })?.reason).toMatch(/a got a message the register-exit \(fixed\) server model does not send/);
  });

  it('register-exit: routing works after the restart, with the names registered again', () => {
    const oracle = new ServerModelOracle(registerExit(), manualClock().now);
    oracle.send('a', { From: 'alice', Register: true });
    oracle.send('b', { From: 'bob', Register: true });
    oracle.commitSatisfied();
    oracle.serverDown(['a', 'b']);
    oracle.serverUp();
    for (const c of ['a', 'b']) {
      oracle.disconnect(c, 'closed');
      oracle.connected(c);
    }
    oracle.send('a', { From: 'alice', Register: true });
    oracle.send('b', { From: 'bob', Register: true });
    oracle.commitSatisfied();
    oracle.send('a', { To: 'bob', From: 'alice', Content: 'after' });
    expect(oracle.satisfied()).toBe(false);
    expect(oracle.arrival('b', { kind: 'message', msg: routed('alice', 'after') })).toBeNull();
    expect(oracle.satisfied()).toBe(true);
  });

  it('ping-liveness: sessions and session ids start afresh; the user may log in again and its new id is bound anew', () => {
    const oracle = new ServerModelOracle(pingLiveness(), manualClock().now);
    oracle.send('c1', login);
    expect(oracle.arrival('c1', { kind: 'message', msg: ping(2, { auth: 0, id: 7 }) })).toBeNull();
    expect(oracle.bindings()).toEqual({ s1: '7' });
    oracle.serverDown(['c1']);
    oracle.serverUp();
    expect(oracle.bindings()).toEqual({});
    oracle.disconnect('c1', 'closed');
    oracle.connected('c1');
    oracle.send('c1', login);
    // the restarted server counts from 1 again: a new session, not "logged in elsewhere"
    expect(oracle.arrival('c1', { kind: 'message', msg: ping(5, { error_code: 3 }) })?.reason).toMatch(/does not send/);
    expect(oracle.arrival('c1', { kind: 'message', msg: ping(2, { auth: 0, id: 1 }) })).toBeNull();
    expect(oracle.bindings()).toEqual({ s1: '1' });
  });

  it('a stop may send one last message (a shutdown notice) before the close; a kill may not', () => {
    const stopped = new ServerModelOracle(registerExit(), manualClock().now);
    stopped.send('a', { From: 'alice', Register: true });
    stopped.commitSatisfied();
    stopped.serverDown(['a'], new Set(), true);
    expect(stopped.arrival('a', { kind: 'message', msg: { From: '', Exit: true } })).toBeNull();
    expect(stopped.arrival('a', { kind: 'closed' })).toBeNull();
    const killed = new ServerModelOracle(registerExit(), manualClock().now);
    killed.send('a', { From: 'alice', Register: true });
    killed.commitSatisfied();
    killed.serverDown(['a']);
    expect(killed.arrival('a', { kind: 'message', msg: { From: '', Exit: true } })).not.toBeNull();
  });
});

describe('server model oracle: pause and resume', () => {
  it('a request sent to a paused server is answered after it resumes, not before', () => {
    const oracle = new ServerModelOracle(registerExit(), manualClock().now);
    oracle.send('a', { From: 'alice', Register: true });
    oracle.send('b', { From: 'bob', Register: true });
    oracle.commitSatisfied();
    oracle.pause();
    oracle.send('a', { To: 'bob', Content: 'while you slept' });
    expect(oracle.satisfied()).toBe(true); // nothing is owed while the server sleeps
    oracle.resume();
    expect(oracle.satisfied()).toBe(false);
    expect(oracle.arrival('b', { kind: 'message', msg: routed('alice', 'while you slept') })).toBeNull();
    expect(oracle.satisfied()).toBe(true);
  });

  it('ping-liveness: a heartbeat timeout that came due during the pause may fire before the message sent meanwhile is read (ERROR 2), or after (the echo)', () => {
    const run = () => {
      const clock = manualClock();
      const oracle = new ServerModelOracle(pingLiveness(), clock.now);
      oracle.send('c1', login);
      expect(oracle.arrival('c1', { kind: 'message', msg: ping(2, { auth: 0, id: 1 }) })).toBeNull();
      oracle.commitSatisfied();
      clock.advance(100);
      oracle.pause();
      clock.advance(50);
      oracle.send('c1', ping(3, { id: 1, time: 1, message: 'hi' }));
      clock.advance(1150); // the session's timeout came due while the server was stopped
      oracle.resume();
      return oracle;
    };
    // read first: the chat is echoed and keeps the session
    const readFirst = run();
    expect(readFirst.arrival('c1', { kind: 'message', msg: ping(3, { id: 1, time: 1, message: 'hi' }) })).toBeNull();
    // the timer first: the session is dropped before the chat is read
    const timerFirst = run();
    expect(timerFirst.arrival('c1', { kind: 'message', msg: ping(5, { id: 1, error_code: 2, message: 'timeout' }) })).toBeNull();
  });
});

describe('server model oracle: timers among requests in flight together', () => {
  // Found by fuzz with process faults on: three users log in at the same instant, two as user1; a
  // heartbeat sweep came due between two of the sends, and the oracle had taken the requests before
  // it as applied before those after it, so the server answering the later login first was a FAIL.
  it('ping-liveness: a sweep that comes due between two logins of the same user does not order them', () => {
    for (const first of ['c1', 'c3'] as const) {
      const clock = manualClock();
      const oracle = new ServerModelOracle(pingLiveness(), clock.now);
      clock.advance(120); // inside the window of the first sweep (due at 200, 100 ms early allowed)
      oracle.send('c1', login);
      oracle.send('c2', ping(1, { username: 'user2', password: 'pass2' }));
      clock.advance(10);
      oracle.send('c3', login);
      const second = first === 'c1' ? 'c3' : 'c1';
      expect(oracle.arrival(first, { kind: 'message', msg: ping(2, { auth: 0, id: 1 }) }), `${first} logged in first`).toBeNull();
      expect(oracle.arrival('c2', { kind: 'message', msg: ping(2, { auth: 0, id: 2 }) })).toBeNull();
      expect(oracle.arrival(second, { kind: 'message', msg: ping(5, { id: null, error_code: 3, message: 'logged in elsewhere' }) })).toBeNull();
    }
  });

  it('requests still in flight are aged by the requests only, not by the timers that fired meanwhile', () => {
    const clock = manualClock();
    const oracle = new ServerModelOracle(pingLiveness(), clock.now);
    oracle.send('c1', login);
    clock.advance(150);
    oracle.send('c2', ping(1, { username: 'user2', password: 'pass2' }));
    clock.advance(50); // the first sweep may fire now (due at 200), with c2's login still unread
    expect(oracle.satisfied()).toBe(false);
    expect(oracle.inFlightAgeMs()).toBe(50);
  });
});

