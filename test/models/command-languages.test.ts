/**
 * The small command languages the client roles read from the workload, and the two list-pattern
 * matchers of offline-queue.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseChatLine, withoutComment } from '../../src/models/ping-liveness/client.js';
import { parseRouteCommand } from '../../src/models/register-exit/client.js';
import { parseQueueCommand } from '../../src/models/offline-queue/client.js';
import { linearMatch, naiveMatch } from '../../src/models/offline-queue/match.js';
import { Op } from '../../src/models/offline-queue/messages.js';

describe('ping-liveness lines', () => {
  it('reads chat lines and the tampering commands', () => {
    expect(parseChatLine('hello there')).toEqual({ kind: 'chat', id: null, text: 'hello there' });
    expect(parseChatLine('!quit')).toEqual({ kind: 'quit' });
    expect(parseChatLine('!as s1 I am user1')).toEqual({ kind: 'chat', id: 's1', text: 'I am user1' });
    expect(parseChatLine('!logout s2')).toEqual({ kind: 'logout', id: 's2' });
    expect(withoutComment('user1 # again, after the restart')).toBe('user1');
  });
});

describe('register-exit commands', () => {
  it('reads send, flood and EXIT, and refuses the rest', () => {
    expect(parseRouteCommand('send bob hi there')).toEqual({ kind: 'send', to: 'bob', texts: ['hi there'] });
    expect(parseRouteCommand('flood bob 3 x')).toEqual({ kind: 'send', to: 'bob', texts: ['x 1', 'x 2', 'x 3'] });
    expect(parseRouteCommand('EXIT # bye')).toEqual({ kind: 'exit' });
    expect(parseRouteCommand('shout bob hi')).toMatchObject({ kind: 'invalid' });
  });
});

describe('offline-queue actions', () => {
  it('reads every action of the menu', () => {
    const one = (line: string) => { const c = parseQueueCommand(line); return c.kind === 'requests' ? c.requests : c; };
    expect(one('create alice')).toEqual([{ type: 'REQUEST', opcode: Op.create, sender: '', receiver: '', msg: 'alice' }]);
    expect(one('login alice # again')).toMatchObject([{ opcode: Op.login, msg: 'alice' }]);
    expect(one('send bob hello: world')).toMatchObject([{ opcode: Op.send, receiver: 'bob', msg: 'hello: world' }]);
    expect(one('check')).toMatchObject([{ opcode: Op.check }]);
    expect(one('delete')).toMatchObject([{ opcode: Op.delete }]);
    expect(one('list a_*')).toMatchObject([{ opcode: Op.list, msg: 'a_*' }]);
    expect(one('quit')).toMatchObject([{ opcode: Op.quit }]);
    expect(one('flood bob 2 hi')).toMatchObject([{ opcode: Op.send, msg: 'hi 1' }, { opcode: Op.send, msg: 'hi 2' }]);
    expect(one('dance')).toMatchObject({ kind: 'invalid' });
  });
});

describe('list patterns', () => {
  it('both matchers agree on every pattern and name they can both finish', () => {
    const alphabet = fc.constantFrom('a', 'b', '*', '_');
    fc.assert(
      fc.property(fc.array(alphabet, { maxLength: 8 }), fc.array(fc.constantFrom('a', 'b'), { maxLength: 10 }), (p, n) => {
        const pattern = p.join('');
        const name = n.join('');
        const naive = naiveMatch(pattern, name, 1_000_000);
        expect(naive.exhausted).toBe(false);
        expect(linearMatch(pattern, name).matches).toBe(naive.matches);
      }),
      { numRuns: 300, seed: 7 },
    );
  });

  it('the naive matcher blows up on a catastrophic pattern; the linear one does not', () => {
    const name = 'a'.repeat(24);
    const pattern = '*a*a*a*a*a*a*a*a*a*a*b';
    expect(naiveMatch(pattern, name, 100_000).exhausted).toBe(true);
    const linear = linearMatch(pattern, name);
    expect(linear.matches).toBe(false);
    expect(linear.steps).toBeLessThan(pattern.length * name.length + name.length);
  });
});
