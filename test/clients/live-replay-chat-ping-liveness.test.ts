/**
 * ping-liveness counterexamples replayed on client programs (`protosim replay TRACE --adapter`):
 * protosim plays the server (its reference server: the fixed rules), the programs are the people's.
 * Every finding of the ping-liveness model is its server's (a killed client's session never dropped:
 * `killed-client-no-ping`; a session taken from the message's id; silence on a version mismatch),
 * so none reproduces on client programs, the seed-faithful ones included: on the killed-client
 * counterexample (seed 1) every step up to c1b's second login is carried out live, on protosim's
 * example client (the seed's), the corpus's seed-faithful client and a correct one alike; then the
 * live run leaves the trace where the fixed server parts from the seed's (it ended c1's session
 * when its connection closed, so c1b is logged in instead of refused), or c1b is refused while the
 * server has not heard of the kill yet, and a lock-out's length cannot show on a replay that does
 * not keep the trace's clock: NOT REPRODUCED (exit 1) either way. This test fails if that replay
 * stops following the trace to c1b's login on the seed-faithful client, or starts reproducing on
 * any. The live checks themselves are tested on views built by hand.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LiveClientsView } from '../../src/models/live-types.js';
import { pingLivenessClientReplay as replay } from '../../src/models/ping-liveness/client-replay.js';
import type { ProtocolMessage } from '../../src/models/types.js';
import { cliIn } from '../support/cli.js';
import { corpusAdapter } from '../support/corpus-adapter.js';

const root = resolve(__dirname, '../..');
const havePython = spawnSync('/usr/bin/python3', ['--version']).status === 0;
let work: string;

/** protosim in `cwd`, stdout and stderr together */
async function cli(args: string[], cwd = root): Promise<{ code: number; out: string }> {
  const r = await cliIn(cwd)(args);
  return { code: r.code, out: r.out + r.err };
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'protosim-replay-pl-'));
});
afterAll(() => {
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
});

const m = (x: unknown): ProtocolMessage => x as ProtocolMessage;
const login = (user: string, pass = 'x'): ProtocolMessage => m({ type: 'LOGIN_REQUEST', username: user, password: pass });
const ok = (id: string): ProtocolMessage => m({ type: 'LOGIN_RESPONSE', auth: 0, id });
const err = (code: number, id = ''): ProtocolMessage => m({ type: 'ERROR', id, code, message: '' });

function view(programs: Record<string, { sent: ProtocolMessage[]; received: ProtocolMessage[]; running?: boolean }>): LiveClientsView {
  const entries = Object.entries(programs);
  return {
    sent: new Map(entries.map(([n, p]) => [n, p.sent])),
    received: new Map(entries.map(([n, p]) => [n, p.received])),
    shown: new Map(entries.map(([n]) => [n, []])),
    running: new Set(entries.filter(([, p]) => p.running !== false).map(([n]) => n)),
  };
}

describe('ping-liveness live checks on client programs', () => {
  it('lockout-ends-within-bound has no live check: a lock-out\'s length cannot show on a replay that does not keep the trace\'s clock', () => {
    expect(replay.live['lockout-ends-within-bound']).toBeUndefined();
  });
  it('one-session-per-user: two running programs logged in as one user', () => {
    const check = replay.live['one-session-per-user']!;
    expect(check(view({ c1: { sent: [login('user1')], received: [ok('s1')] }, c3: { sent: [login('user1')], received: [ok('s2')] } }))).toMatch(/c1 and c3 are both logged in as user1/);
    const loggedOut = { sent: [login('user1'), m({ type: 'LOGOUT', id: 's1' })], received: [ok('s1')] };
    expect(check(view({ c1: loggedOut, c3: { sent: [login('user1')], received: [ok('s2')] } }))).toBeNull();
  });
  it('session-bound-to-connection: a chat naming another session echoed to its sender', () => {
    const check = replay.live['session-bound-to-connection']!;
    const c1 = { sent: [login('user1')], received: [ok('s1')] };
    const spoof = m({ type: 'CHAT', id: 's1', message: 'I am user1' });
    expect(check(view({ c1, mallory: { sent: [login('user2'), spoof], received: [ok('s2'), m({ type: 'CHAT', id: 's1', message: 'I am user1' })] } }))).toMatch(/mallory chatted in session s1 \(c1's\), not its own/);
    expect(check(view({ c1, mallory: { sent: [login('user2'), spoof], received: [ok('s2'), err(1, 's2')] } }))).toBeNull();
  });
  it('matches by effect, without session ids; types the adapter\'s login, chat lines and !quit', () => {
    expect(replay.effect(m({ type: 'CHAT', id: 's1', message: 'hi' }))).toBe(replay.effect(m({ type: 'CHAT', id: 's7', message: 'hi' })));
    expect(replay.effect(m({ type: 'VERSION_REQUEST', versions: ['1.1.0', '1.0.0'] }))).toBe(replay.effect(m({ type: 'VERSION_REQUEST', versions: ['1.0.0'] })));
    expect(replay.effect(m({ type: 'VERSION_REQUEST', versions: ['0.9.0'] }))).toMatch(/without 1\.0\.0/);
    expect(replay.messageOfWire({ mtype: 5, payload: { id: 2, error_code: 3, message: 'x' } })).toEqual({ type: 'ERROR', id: 's2', code: 3, message: 'x' });
    expect(replay.messageOfWire({ mtype: 1, payload: { username: 'user1', password: 'pass1' } })).toEqual({ type: 'LOGIN_REQUEST', username: 'user1', password: 'pass1' });
    expect(replay.liveName({ id: 'c1b', params: {}, lines: ['user1', 'pass1', 'back'] })).toBe('c1b');
    expect(replay.liveName({ id: 'c3', params: {}, lines: ['user1', 'pass1'] })).toBe('c3-1');
    expect(replay.typing('user1', 'c1b')).toEqual([]);
    expect(replay.typing('back', 'c1b')).toEqual([{ to: '', text: 'back' }]);
    expect(replay.typing('!quit', 'c1b')).toBe('quit');
    expect(replay.liveName({ id: 'mallory', params: {}, lines: ['mallory', 'secret', '!as s1 hi'] })).toBe('mallory');
    expect(replay.typing('mallory', 'mallory')).toEqual({ cannot: 'type "mallory" at its login (the adapter\'s login types user1 and pass1)' });
    expect(replay.typing('!as s1 hi', 'mallory')).toMatchObject({ cannot: expect.stringMatching(/naming session s1/) });
  });
});

/**
 * The killed-client counterexample (seed 1) replayed on `adapter`: followed to c1b's second login;
 * then either the fixed server parts from the seed's (it ended c1's session when c1's connection
 * closed, so c1b is logged in: step 18 not made), or, when the close was still waiting at c1's
 * proxy behind a message c1 sent after its last one in the trace (a ping), c1b is refused within
 * the server's heartbeat timeout and the replay says the lock-out's length cannot show on programs.
 */
async function expectServerSideNotReproduced(trace: string, adapter: string): Promise<void> {
  const r = await cli(['replay', trace, '--adapter', adapter, '--observe-ms', '500']);
  expect(r.out).toMatch(/the model found: invariant: invariant lockout-ends-within-bound/);
  expect(r.out).toMatch(/step \d+: c1 LOGIN_REQUEST user1\/pass1 {2}<- {2}#\d+ LOGIN_REQUEST user1\/pass1/);
  expect(r.out).toMatch(/step \d+: c1 CHAT "user1 here" {2}<- {2}#\d+ CHAT "user1 here"/);
  expect(r.out).toMatch(/step 17: c1b LOGIN_REQUEST user1\/pass1 {2}<- {2}#\d+ LOGIN_REQUEST user1\/pass1/);
  const leftAt18 = /steps carried out live: 17\/18 \(the live run left the trace: step 18: the server did not send c1b ERROR 3 \(logged in elsewhere\) within \d+ ms \(held for it: LOGIN_RESPONSE ok\)\)/.test(r.out);
  const cannotShow = /steps carried out live: 18\/18\n/.test(r.out) && /protosim has no live check of invariant lockout-ends-within-bound on ping-liveness client programs: it cannot show on them/.test(r.out);
  expect(leftAt18 || cannotShow, r.out).toBe(true);
  expect(r.out).toMatch(/\nNOT REPRODUCED: /);
  expect(r.code).toBe(1);
}

describe('ping-liveness counterexamples replayed on client programs', () => {
  let trace: string;
  beforeAll(async () => {
    trace = join(work, 'killed-client-no-ping.jsonl');
    const found = await cli(['run', join(root, 'scenarios/ping-liveness/killed-client-no-ping.yaml'), '--seed', '1', '--trace-out', trace], work);
    expect(found.code, found.out).toBe(0);
    expect(existsSync(trace)).toBe(true);
  });

  it('killed-client-no-ping (the seed server keeps a dead session): NOT REPRODUCED on protosim\'s seed client, at the server\'s step', async () => {
    await expectServerSideNotReproduced(trace, join(root, 'adapters/ping-liveness.yaml'));
  }, 30_000);

  it.skipIf(!havePython)('the same on the corpus\'s seed-faithful client and on a correct one (needs python3)', async () => {
    for (const impl of ['client-py-faithful', 'client-py-a']) await expectServerSideNotReproduced(trace, await corpusAdapter(work, 'ping-liveness', impl));
  }, 45_000);
});
