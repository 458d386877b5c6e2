/**
 * History properties checked on literal histories (Maelstrom style): the empty history, definite
 * violations and definite passes, each with its expected verdict. A checker that stops seeing a
 * violation turns one of these red.
 */
import { describe, expect, it } from 'vitest';
import type { GlobalView, HistoryProperty, NodeView, Observation } from '../../src/models/types.js';
import { noMessageShownTwice, noOverwriteBeforeShown } from '../../src/models/lock-alternation/invariants.js';
import { noFalseRejection, noOwnMessage } from '../../src/models/status-handshake/properties.js';
import { lockoutEndsWithinBound, sessionBoundToConnection } from '../../src/models/ping-liveness/properties.js';
import { allMessagesHandled, exitOnlySelf, noForwardToVanished, senderIsAuthentic, uniqueNames } from '../../src/models/register-exit/properties.js';
import { identityFromLogin, limitsEnforced, noMessageLost, oneLocationPerAccount, patternCannotSpin, perSenderOrder } from '../../src/models/offline-queue/properties.js';

type Step = { obs: Observation; timeMs?: number; nodes?: Record<string, Partial<NodeView>> };

function node(id: string, v: Partial<NodeView>): NodeView {
  return { id, role: 'client', status: 'running', value: 'x', context: {}, tags: [], ...v };
}

/** Runs a property over a literal history; returns 'ok' or the violation text. */
function verdict<S>(prop: HistoryProperty<S>, steps: Step[], base: Record<string, Partial<NodeView>> = {}): string {
  let state = prop.initial;
  for (const step of steps) {
    const merged = { ...base, ...(step.nodes ?? {}) };
    const nodes = Object.fromEntries(Object.entries(merged).map(([id, v]) => [id, node(id, v)]));
    const view: GlobalView = { timeMs: step.timeMs ?? 0, nodes, inFlight: [] };
    const out = prop.observe(state, step.obs, view);
    if ('violation' in out) return out.violation;
    state = out.state;
  }
  return 'ok';
}

const print = (n: string, kind: 'message' | 'status' | 'error', text: string, data?: Record<string, unknown>, author?: string): Observation => ({
  kind: 'print',
  node: n,
  params: { kind, text, ...(data ? { data } : {}), ...(author ? { author } : {}) },
});
const deliver = (from: string, to: string, msg: Record<string, unknown>): Observation => ({ kind: 'deliver', from, to, msg: msg as { type: string } });
const log = (data: Record<string, unknown>): Observation => print('server', 'status', 'log', data);

describe('lock-alternation', () => {
  it('no-overwrite-before-shown', () => {
    expect(verdict(noOverwriteBeforeShown, [])).toBe('ok');
    const set = (from: string, value: string): Step => ({ obs: deliver(from, 'store', { type: 'SET', key: 'message', value }) });
    expect(verdict(noOverwriteBeforeShown, [set('c1', 'a'), { obs: print('c2', 'message', 'a') }, set('c2', 'b')])).toBe('ok');
    expect(verdict(noOverwriteBeforeShown, [set('c1', 'a'), set('c1', 'b')])).toMatch(/overwrote message "a"/);
    // Shown only to its own writer does not count.
    expect(verdict(noOverwriteBeforeShown, [set('c1', 'a'), { obs: print('c1', 'message', 'a') }, set('c2', 'b')])).toMatch(/overwrote/);
    expect(verdict(noOverwriteBeforeShown, [set('c1', 'a'), { obs: deliver('c1', 'store', { type: 'UNSET', key: 'message' }) }, set('c1', 'b')])).toBe('ok');
  });

  it('no-message-shown-twice', () => {
    expect(verdict(noMessageShownTwice, [])).toBe('ok');
    expect(verdict(noMessageShownTwice, [{ obs: print('c1', 'message', 'a') }, { obs: print('c2', 'message', 'a') }])).toBe('ok');
    expect(verdict(noMessageShownTwice, [{ obs: print('c1', 'message', 'a') }, { obs: print('c1', 'message', 'a') }])).toMatch(/second time/);
  });
});

describe('status-handshake', () => {
  it('no-own-message', () => {
    expect(verdict(noOwnMessage, [])).toBe('ok');
    const set = (from: string, key: string, value: string): Step => ({ obs: deliver(from, 'store', { type: 'SET', key, value }) });
    expect(verdict(noOwnMessage, [set('c1', 'message', 'hi'), { obs: print('c2', 'message', 'hi') }])).toBe('ok');
    expect(verdict(noOwnMessage, [set('c1', 'message', 'hi'), { obs: print('c1', 'message', 'hi') }])).toMatch(/wrote itself/);
    expect(verdict(noOwnMessage, [set('c1', 'message2', 'hi'), { obs: print('c1', 'message', 'hi') }])).toMatch(/wrote itself/);
  });

  it('no-false-rejection', () => {
    const turned = (t: number): Step => ({ obs: print('c3', 'error', 'in use', { event: 'turned-away' }), timeMs: t });
    const pair = { c1: { tags: ['inChat'] }, c2: { tags: ['inChat'] }, c3: {} };
    expect(verdict(noFalseRejection, [])).toBe('ok');
    expect(verdict(noFalseRejection, [turned(100)], pair)).toBe('ok');
    // c2 killed at t=1000: turned away at 20 s is false, at 2 s nobody could know yet.
    const killed = { ...pair, c2: { status: 'crashed' as const, tags: [] } };
    expect(verdict(noFalseRejection, [{ obs: { kind: 'crash', node: 'c2' }, timeMs: 1000, nodes: killed }, { ...turned(2000), nodes: killed }])).toBe('ok');
    expect(verdict(noFalseRejection, [{ obs: { kind: 'crash', node: 'c2' }, timeMs: 1000, nodes: killed }, { ...turned(20_000), nodes: killed }])).toMatch(/only c1 is in the chat/);
  });
});

describe('ping-liveness', () => {
  it('session-bound-to-connection', () => {
    expect(verdict(sessionBoundToConnection, [])).toBe('ok');
    expect(verdict(sessionBoundToConnection, [{ obs: log({ event: 'chat', session: 's1', user: 'user1', by: 'c1', owner: 'c1' }) }])).toBe('ok');
    expect(verdict(sessionBoundToConnection, [{ obs: log({ event: 'logout', session: 's1', user: 'user1', by: 'c3', owner: 'c1' }) }])).toMatch(/c3 logged out in session s1/);
    // Other console lines are not session actions.
    expect(verdict(sessionBoundToConnection, [{ obs: log({ event: 'refuse-login', user: 'user1', by: 'c3', owner: 'c1' }) }])).toBe('ok');
  });

  it('lockout-ends-within-bound', () => {
    const server = { server: { role: 'server', context: { lockoutBoundMs: 31_000 } } };
    const dead = { ...server, c1: { status: 'crashed' as const, context: { user: 'user1', sessionId: 's1' } } };
    const crash: Step = { obs: { kind: 'crash', node: 'c1' }, timeMs: 3000, nodes: dead };
    const refused = (t: number): Step => ({ obs: print('c2', 'error', 'logged in elsewhere', { code: 3, user: 'user1' }), timeMs: t, nodes: dead });
    expect(verdict(lockoutEndsWithinBound, [])).toBe('ok');
    expect(verdict(lockoutEndsWithinBound, [crash, refused(10_000)])).toBe('ok');
    expect(verdict(lockoutEndsWithinBound, [crash, refused(40_000)])).toMatch(/still locked out 37000 ms/);
    // A successful login ends the lock-out; a later refusal is someone else's.
    expect(verdict(lockoutEndsWithinBound, [crash, { obs: print('c2', 'status', 'in', { event: 'logged-in', user: 'user1' }), timeMs: 20_000, nodes: dead }, refused(40_000)])).toBe('ok');
    // A client killed before it logged in locked nobody out.
    const notIn = { ...server, c1: { status: 'crashed' as const, context: { user: 'user1', sessionId: '' } } };
    expect(verdict(lockoutEndsWithinBound, [{ ...crash, nodes: notIn }, { ...refused(40_000), nodes: notIn }])).toBe('ok');
  });
});

describe('register-exit', () => {
  const clients = { server: { role: 'server' }, c1: { context: { user: 'alice' } }, c2: { context: { user: 'bob' } }, m: { context: { user: 'mallory' } } };
  it('sender-is-authentic', () => {
    expect(verdict(senderIsAuthentic, [], clients)).toBe('ok');
    expect(verdict(senderIsAuthentic, [{ obs: log({ event: 'forward', by: 'c1', sender: 'alice', to: 'bob', toConn: 'c2', content: 'hi' }) }], clients)).toBe('ok');
    expect(verdict(senderIsAuthentic, [{ obs: log({ event: 'forward', by: 'm', sender: 'alice', to: 'bob', toConn: 'c2', content: 'hi' }) }], clients)).toMatch(/registered as mallory/);
  });

  it('exit-only-self and unique-names', () => {
    expect(verdict(exitOnlySelf, [{ obs: log({ event: 'unregister', name: 'bob', by: 'c2', owner: 'c2' }) }])).toBe('ok');
    expect(verdict(exitOnlySelf, [{ obs: log({ event: 'unregister', name: 'bob', by: 'm', owner: 'c2' }) }])).toMatch(/m unregistered bob/);
    expect(verdict(uniqueNames, [{ obs: log({ event: 'register', name: 'alice', by: 'c3', replaced: null }) }], clients)).toBe('ok');
    expect(verdict(uniqueNames, [{ obs: log({ event: 'register', name: 'alice', by: 'c3', replaced: 'c1' }) }], clients)).toMatch(/still connected/);
    expect(verdict(uniqueNames, [{ obs: log({ event: 'register', name: 'alice', by: 'c3', replaced: 'c1' }) }], { ...clients, c1: { status: 'crashed' } })).toBe('ok');
  });

  it('no-forward-to-vanished', () => {
    const gone = { ...clients, c2: { status: 'crashed' as const, context: { user: 'bob' } } };
    const fwd = (t: number): Step => ({ obs: log({ event: 'forward', by: 'c1', sender: 'alice', to: 'bob', toConn: 'c2', content: 'x' }), timeMs: t, nodes: gone });
    expect(verdict(noForwardToVanished, [], clients)).toBe('ok');
    expect(verdict(noForwardToVanished, [{ obs: { kind: 'crash', node: 'c2' }, timeMs: 1000, nodes: gone }, fwd(5000)])).toBe('ok');
    expect(verdict(noForwardToVanished, [{ obs: { kind: 'crash', node: 'c2' }, timeMs: 1000, nodes: gone }, fwd(40_000)])).toMatch(/gone for 39000 ms/);
  });

  it('all-messages-handled', () => {
    const base = { server: { role: 'server' } };
    const arrive = (content: string): Step => ({ obs: deliver('c1', 'server', { type: 'MESSAGE', to: 'bob', sender: 'alice', content, register: false, exit: false }) });
    const handled = (content: string): Step => ({ obs: log({ event: 'forward', by: 'c1', sender: 'alice', to: 'bob', toConn: 'c2', content }) });
    expect(verdict(allMessagesHandled, [], base)).toBe('ok');
    expect(verdict(allMessagesHandled, [arrive('a'), arrive('b'), handled('a'), handled('b')], base)).toBe('ok');
    expect(verdict(allMessagesHandled, [arrive('a'), arrive('b'), handled('b')], base)).toMatch(/"a" never reached anyone/);
  });
});

describe('offline-queue', () => {
  const sent = (account: string, to: string, text: string): Step => ({ obs: log({ event: 'send', by: 'x', account, login: account, to, text, length: text.length }) });
  const shown = (n: string, account: string, sender: string, text: string): Step => ({ obs: print(n, 'message', text, { account }, sender) });
  const checked = (n: string, account: string, queue: { sender: string; text: string }[] = []): Step => ({
    obs: print(n, 'status', 'checked', { event: 'checked', account }),
    nodes: { server: { role: 'server', context: { accounts: { [account]: { queue } }, unacked: {} } } },
  });

  it('no-message-lost', () => {
    expect(verdict(noMessageLost, [])).toBe('ok');
    expect(verdict(noMessageLost, [sent('alice', 'bob', 'hi'), shown('c2', 'bob', 'alice', 'hi'), checked('c2', 'bob')])).toBe('ok');
    expect(verdict(noMessageLost, [sent('alice', 'bob', 'hi'), checked('c2', 'bob', [{ sender: 'alice', text: 'hi' }])])).toBe('ok');
    expect(verdict(noMessageLost, [sent('alice', 'bob', 'hi'), checked('c2', 'bob')])).toMatch(/"hi" from alice.*never shown/);
    expect(verdict(noMessageLost, [sent('alice', 'bob', 'hi'), shown('c2', 'bob', 'alice', 'hi'), shown('c2', 'bob', 'alice', 'hi')])).toMatch(/twice/);
    // Shown again after the node that showed it crashed: forgiven.
    expect(verdict(noMessageLost, [sent('alice', 'bob', 'hi'), shown('c2', 'bob', 'alice', 'hi'), { obs: { kind: 'crash', node: 'c2' } }, shown('c2b', 'bob', 'alice', 'hi')])).toBe('ok');
  });

  it('per-sender-order', () => {
    expect(verdict(perSenderOrder, [])).toBe('ok');
    expect(verdict(perSenderOrder, [sent('alice', 'bob', '1'), sent('alice', 'bob', '2'), shown('c2', 'bob', 'alice', '1'), shown('c2', 'bob', 'alice', '2')])).toBe('ok');
    expect(verdict(perSenderOrder, [sent('alice', 'bob', '1'), sent('alice', 'bob', '2'), shown('c2', 'bob', 'alice', '2'), shown('c2', 'bob', 'alice', '1')])).toMatch(/"1" from alice after "2"/);
    // Different senders are not ordered against each other.
    expect(verdict(perSenderOrder, [sent('alice', 'bob', '1'), sent('carol', 'bob', '2'), shown('c2', 'bob', 'carol', '2'), shown('c2', 'bob', 'alice', '1')])).toBe('ok');
  });

  it('identity-from-login and one-location-per-account', () => {
    const act = (extra: Record<string, unknown>): Step => ({ obs: log({ event: 'check', by: 'c1', account: 'alice', login: 'alice', sessionInc: 1, accountInc: 1, owner: 'c1', ...extra }) });
    expect(verdict(identityFromLogin, [act({})])).toBe('ok');
    expect(verdict(identityFromLogin, [act({ login: 'mallory' })])).toMatch(/logged in as mallory, did check as alice/);
    expect(verdict(oneLocationPerAccount, [act({})])).toBe('ok');
    expect(verdict(oneLocationPerAccount, [act({ owner: 'c3' })])).toMatch(/since logged in on c3/);
    expect(verdict(oneLocationPerAccount, [act({ accountInc: 2 })])).toMatch(/was deleted/);
  });

  it('pattern-cannot-spin and limits-enforced', () => {
    expect(verdict(patternCannotSpin, [{ obs: log({ event: 'list', by: 'c1', pattern: 'a*', steps: 12, exhausted: false }) }])).toBe('ok');
    expect(verdict(patternCannotSpin, [{ obs: log({ event: 'list', by: 'c1', pattern: '*a*a*b', steps: 100_001, exhausted: true }) }])).toMatch(/would spin/);
    expect(verdict(limitsEnforced, [{ obs: log({ event: 'create', by: 'c1', account: 'bob', length: 3 }) }])).toBe('ok');
    expect(verdict(limitsEnforced, [{ obs: log({ event: 'create', by: 'c1', account: 'x', length: 40 }) }])).toMatch(/40-character name/);
    expect(verdict(limitsEnforced, [{ obs: log({ event: 'send', by: 'c1', account: 'bob', length: 101 }) }])).toMatch(/101-character message/);
  });
});
