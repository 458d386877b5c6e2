/**
 * DIVERGED on chat replays (issue 16): a client program that does what the model's client role
 * rules out (the package's `clientReplay.ruledOut`) ends the replay there, DIVERGED, with the step
 * and both sides; a correct program never does.
 *
 * The rules are tested on literal histories (what a program sent, was written and was told to
 * type; what it showed), then live: for each chat protocol, a twin of protosim's example client
 * made by a one-line source edit (a plausible bug: a field filled with the wrong name, the wrong
 * session id) DIVERGES on a model counterexample, and the example client
 * itself, on the same trace, does not.
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import type { ClientRuledOut, LiveClientsView, LiveProgramHistory } from '../../src/models/live-types.js';
import { offlineQueueClientReplay } from '../../src/models/offline-queue/client-replay.js';
import { reply, request } from '../../src/models/offline-queue/messages.js';
import { pingLivenessClientReplay } from '../../src/models/ping-liveness/client-replay.js';
import { registerExitClientReplay } from '../../src/models/register-exit/client-replay.js';
import { routeMessage } from '../../src/models/register-exit/messages.js';
import type { ProtocolMessage } from '../../src/models/types.js';
import { cliIn } from '../support/cli.js';
import { corpusAdapter } from '../support/corpus-adapter.js';

const root = resolve(__dirname, '../..');
const havePython = spawnSync('/usr/bin/python3', ['--version']).status === 0;
let work: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'protosim-replay-diverged-'));
});
afterAll(() => {
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
});

const m = (x: unknown): ProtocolMessage => x as ProtocolMessage;

/** A program's history: `log` as [sent?, message, at ms]; the message judged is read at `nowMs`; `keyed`: the lines typed into its terminal. */
function history(name: string, log: [boolean, ProtocolMessage, number?][], typed: string[] = [], params: Record<string, unknown> = {}, nowMs = 10_000, keyed: string[] = []): LiveProgramHistory {
  return { name, node: { id: 'c1', params }, log: log.map(([sent, msg, atMs], i) => ({ sent, msg, atMs: atMs ?? i })), typed, keyed, nowMs };
}

function rules(r: { ruledOut?: ClientRuledOut }): Required<ClientRuledOut> {
  expect(r.ruledOut?.send).toBeDefined();
  expect(r.ruledOut?.shown).toBeDefined();
  return r.ruledOut as Required<ClientRuledOut>;
}

function shownView(name: string, received: ProtocolMessage[], shown: { from?: string; text: string; refused?: boolean }[], others: string[] = ['bob']): LiveClientsView {
  const names = [name, ...others];
  return { sent: new Map(names.map((n) => [n, []])), received: new Map([[name, received]]), shown: new Map([[name, shown]]), running: new Set(names) };
}

describe('register-exit: what the model\'s client rules out', () => {
  const { send, shown } = rules(registerExitClientReplay);
  const reg = m(routeMessage({ sender: 'alice', register: true }));
  const hi = m(routeMessage({ sender: 'alice', to: 'bob', content: 'hi bob' }));
  it('allows what the model\'s client sends: its register, the typed messages, a keepalive, its exit', () => {
    expect(send(reg, history('alice', []))).toBeNull();
    expect(send(hi, history('alice', [[true, reg]], ['send bob hi bob']))).toBeNull();
    expect(send(m(routeMessage({})), history('alice', [[true, reg]]))).toBeNull();
    expect(send(m(routeMessage({ sender: 'alice', exit: true })), history('alice', [[true, reg]]))).toBeNull();
    expect(send(m(routeMessage({ sender: 'alice', to: 'bob', content: 'burst 2' })), history('alice', [[true, reg]], ['flood bob 3 burst']))).toBeNull();
  });
  it('rules out a message before registering, a second register, another name, an untyped text, anything after the exit', () => {
    expect(send(hi, history('alice', [], ['send bob hi bob']))?.did).toMatch(/before registering/);
    expect(send(reg, history('alice', [[true, reg]]))?.did).toMatch(/second register alice/);
    expect(send(m(routeMessage({ sender: 'bob', register: true })), history('alice', []))?.allowed).toMatch(/its own name, alice/);
    expect(send(m(routeMessage({ sender: 'bob', to: 'bob', content: 'hi bob' })), history('alice', [[true, reg]], ['send bob hi bob']))?.did).toMatch(/From naming "bob"/);
    const cut = send(m(routeMessage({ sender: 'alice', to: 'bob', content: 'hi' })), history('alice', [[true, reg]], ['send bob hi bob']));
    expect(cut).toEqual({ did: 'sent message alice -> bob "hi", which its person never typed', allowed: 'sends exactly the messages its person types (typed so far: "hi bob" to bob)' });
    expect(send(hi, history('alice', [[true, reg], [true, m(routeMessage({ sender: 'alice', exit: true }))]], ['send bob hi bob']))?.did).toMatch(/after its exit alice/);
  });
  it('leaves From to the tampered client (spoofAs): no program is made to play it', () => {
    expect(send(m(routeMessage({ sender: 'mallory', exit: true })), history('mallory', [[true, m(routeMessage({ sender: 'mallory', register: true }))]], [], { spoofAs: 'bob' }))).toBeNull();
  });
  it('rules out a message shown from another program that was never written to it; a refusal or its own line is not judged', () => {
    const written = [m(routeMessage({ sender: 'bob', to: 'alice', content: 'hello' })), m(routeMessage({ sender: 'Error', content: 'That user is not connected to this server' }))];
    expect(shown('alice', shownView('alice', written, [{ from: 'bob', text: 'hello' }, { from: 'Error', text: 'That user is not connected to this server' }, { from: 'alice', text: 'me' }, { text: 'Error: x', refused: true }]))).toBeNull();
    expect(shown('alice', shownView('alice', written, [{ from: 'bob', text: 'goodbye' }]))?.did).toBe('showed bob\'s "goodbye", which was never written to it');
  });
});

describe('offline-queue: what the model\'s client rules out', () => {
  const { send, shown } = rules(offlineQueueClientReplay);
  const login = (name: string, sender = ''): ProtocolMessage => m(request(2, { msg: name, sender }));
  const note = (sender = 'alice', text = 'note 1'): ProtocolMessage => m(request(3, { sender, receiver: 'bob', msg: text }));
  const loggedIn: [boolean, ProtocolMessage, number?][] = [[true, m(request(1, { msg: 'alice' })), 0], [false, m(reply(1, 'alice')), 1], [true, login('alice'), 2], [false, m(reply(13, 'alice')), 3]];
  it('allows the typed requests, its own account in sender or none, a check or list it was not asked for, a request after a long silence', () => {
    expect(send(note(), history('alice', loggedIn, ['login alice', 'flood bob 2 note']))).toBeNull();
    expect(send(note(''), history('alice', loggedIn, ['send bob note 1']))).toBeNull();
    expect(send(m(request(4, { sender: 'alice' })), history('alice', loggedIn))).toBeNull();
    expect(send(m(request(6, { msg: '*' })), history('alice', loggedIn))).toBeNull();
    const unanswered = [...loggedIn, [true, m(request(4)), 100]] as [boolean, ProtocolMessage, number][];
    expect(send(note(), history('alice', unanswered, ['send bob note 1'], {}, 100 + 5000))).toBeNull();
    expect(send(m(request(7)), history('alice', unanswered, [], {}, 101))).toBeNull();
    // a menu out of step (it refused a long name itself, then read the next line typed, `2`, as the name)
    expect(send(m(request(1, { msg: '2' })), history('a-name-longer-than-25-characters', [], [], {}, 0, ['1', 'a-name-longer-than-25-characters', '2']))).toBeNull();
  });
  it('rules out an untyped send, another account, a sender naming someone else, a request on top of an unanswered one, anything after quit', () => {
    expect(send(note('alice', 'note'), history('alice', loggedIn, ['send bob note 1']))?.did).toMatch(/send to bob "note", which its person never typed/);
    expect(send(login('carol'), history('alice', [], ['login alice']))?.allowed).toMatch(/its own account \(alice\)/);
    expect(send(note('bob'), history('alice', loggedIn, ['send bob note 1']))).toEqual({ did: 'sent send to bob "note 1" with sender "bob"', allowed: 'fills sender with its own account (alice) or leaves it empty' });
    expect(send(m(request(5)), history('alice', loggedIn))?.did).toMatch(/delete .*never asked for/);
    const unanswered = [...loggedIn, [true, note(), 100]] as [boolean, ProtocolMessage, number][];
    expect(send(note('alice', 'note 2'), history('alice', unanswered, ['flood bob 2 note'], {}, 103))?.did).toBe('sent send to bob "note 2" 3 ms after send to bob "note 1", before the server answered that');
    expect(send(m(request(4)), history('alice', [...loggedIn, [true, m(request(7)), 5]]))?.did).toMatch(/after its quit/);
  });
  it('rules out a letter shown from another program that was never written to it', () => {
    const written = [m(reply(17, 'bob:hello\n')), m(reply(6, 'bob:a\nbob:b\n'))];
    expect(shown('alice', shownView('alice', written, [{ from: 'bob', text: 'hello' }, { from: 'bob', text: 'a' }, { from: 'bob', text: 'b' }, { text: 'Error 5: no such recipient', refused: true }]))).toBeNull();
    expect(shown('alice', shownView('alice', written, [{ from: 'bob', text: 'c' }]))?.did).toBe('showed bob\'s "c", which was never written to it');
  });
});

describe('ping-liveness: what the model\'s client rules out', () => {
  const { send, shown } = rules(pingLivenessClientReplay);
  // the package reads a node's login lines when it names the node (liveName), as a replay does first
  pingLivenessClientReplay.liveName({ id: 'c1', params: {}, lines: ['user1', 'pass1', 'hello'] });
  const version = m({ type: 'VERSION_REQUEST', versions: ['1.0.0'] });
  const accepted = m({ type: 'VERSION_RESPONSE', selected: '1.0.0', success: true });
  const login = m({ type: 'LOGIN_REQUEST', username: 'user1', password: 'pass1' });
  const ok = m({ type: 'LOGIN_RESPONSE', auth: 0, id: 's2' });
  const session: [boolean, ProtocolMessage][] = [[true, version], [false, accepted], [true, login], [false, ok]];
  const chat = (text: string, id = 's2'): ProtocolMessage => m({ type: 'CHAT', id, message: text });
  it('allows negotiation, one login, typed chats, pings and a logout naming its session, a login again after a timeout', () => {
    expect(send(version, history('c1', []))).toBeNull();
    expect(send(login, history('c1', [[true, version], [false, accepted]]))).toBeNull();
    expect(send(chat('hello'), history('c1', session, ['user1', 'pass1', 'hello']))).toBeNull();
    expect(send(m({ type: 'PING', id: '' }), history('c1', session))).toBeNull();
    expect(send(m({ type: 'LOGOUT', id: 's2' }), history('c1', session))).toBeNull();
    expect(send(login, history('c1', [...session, [false, m({ type: 'ERROR', id: 's2', code: 2, message: 'timed out' })]]))).toBeNull();
  });
  it('rules out a login before the version is agreed, a second login, a session it was not given, an untyped chat, anything after LOGOUT', () => {
    expect(send(login, history('c1', [[true, version]]))?.did).toBe('sent LOGIN_REQUEST user1 before a VERSION_RESPONSE accepted its version offer');
    expect(send(login, history('c1', session))?.did).toBe('sent LOGIN_REQUEST user1 while logged in as user1 (session s2)');
    expect(send(login, history('c1', session.slice(0, 3)))?.did).toMatch(/before the server answered its LOGIN_REQUEST user1/);
    expect(send(chat('hello'), history('c1', session.slice(0, 2), ['user1', 'pass1', 'hello']))?.did).toMatch(/before it was logged in/);
    expect(send(chat('hello', 's1'), history('c1', session, ['user1', 'pass1', 'hello']))?.did).toBe('sent CHAT "hello" in session s1, a session the server never gave it');
    expect(send(chat('hell'), history('c1', session, ['user1', 'pass1', 'hello']))?.allowed).toBe('chats exactly the lines its person types (typed so far: "hello")');
    expect(send(m({ type: 'PING', id: 's2' }), history('c1', [...session, [true, m({ type: 'LOGOUT', id: 's2' })]]))?.did).toMatch(/after its LOGOUT of session s2/);
  });
  it('rules out an echo shown that was never written to it; a refusal is not judged', () => {
    expect(shown('c1', shownView('c1', [ok, chat('hello')], [{ text: 'hello' }, { text: 'Bad user name or password.', refused: true }], []))).toBeNull();
    expect(shown('c1', shownView('c1', [ok], [{ text: 'hello' }], []))?.did).toBe('showed the echo "hello", which was never written to it');
  });
});

// ---- live: twins of protosim's example clients ------------------------------------------------------

/**
 * A twin of protosim's example client of `protocol` with one source edit (`from` -> `to`), in the
 * work folder, and its adapter (adapters/<protocol>.yaml pointed at the twin).
 */
function exampleTwin(protocol: string, from: string, to: string): string {
  const source = readFileSync(join(root, 'examples/clients', `${protocol}.mjs`), 'utf8');
  expect(source.includes(from), `examples/clients/${protocol}.mjs has ${JSON.stringify(from)}`).toBe(true);
  // the twin lives outside the repository: its packages are resolved from the repository's node_modules
  const protobufjs = pathToFileURL(createRequire(join(root, 'package.json')).resolve('protobufjs')).href;
  const twin = join(work, `${protocol}-twin.mjs`);
  writeFileSync(twin, source.replace(from, to).replace("from 'protobufjs'", `from '${protobufjs}'`));
  const adapter = YAML.parse(readFileSync(join(root, 'adapters', `${protocol}.yaml`), 'utf8')) as { adapter: string; command: string[]; cwd?: string };
  const file = join(work, `${protocol}-twin.yaml`);
  writeFileSync(file, YAML.stringify({ ...adapter, adapter: `${adapter.adapter}-twin`, command: adapter.command.map((a) => (a.endsWith(`${protocol}.mjs`) ? twin : a)), cwd: root }));
  return file;
}

/** The counterexample of a scenario at seed 1 (made once). */
const traces = new Map<string, string>();
async function traceOf(scenario: string): Promise<string> {
  const known = traces.get(scenario);
  if (known !== undefined) return known;
  const trace = join(work, `${scenario.replaceAll('/', '--')}.jsonl`);
  traces.set(scenario, trace);
  const found = await cliIn(work)(['run', join(root, 'scenarios', `${scenario}.yaml`), '--seed', '1', '--trace-out', trace]);
  expect(found.code, found.out + found.err).toBe(0);
  return trace;
}

async function replay(trace: string, adapter: string, ...more: string[]): Promise<{ code: number; out: string }> {
  const r = await cliIn(root)(['replay', trace, '--adapter', adapter, '--observe-ms', '500', ...more]);
  return { code: r.code, out: r.out + r.err };
}

describe('chat replays say DIVERGED when a program does what the model rules out, and only then', () => {
  it('register-exit (flood): a twin that writes the recipient in From DIVERGES at its first message; the example client does not', async () => {
    const trace = await traceOf('register-exit/flood');
    const twin = await replay(trace, exampleTwin('register-exit', 'write({ To: send[1], Content: send[2] })', 'write({ To: send[1], From: send[1], Content: send[2] })'));
    expect(twin.out).toMatch(/the live run left the trace: step \d+: c1's program \(alice\) sent message bob -> bob "burst 1", From naming "bob"; the model's client writes its own name, alice, in From/);
    expect(twin.out).toMatch(/\nDIVERGED: /);
    expect(twin.code).toBe(1);
    const example = await replay(trace, join(root, 'adapters/register-exit.yaml'));
    expect(example.out).toMatch(/steps carried out live: (\d+)\/\1\n/);
    expect(example.out).not.toMatch(/DIVERGED|rules out/);
    expect(example.out).toMatch(/\nNOT REPRODUCED: /);
  }, 60_000);

  it.skipIf(!havePython)('register-exit (flood): the corpus\'s defective twin (it sends the first word of a text) DIVERGES; the correct client it is a twin of does not (needs python3)', async () => {
    const trace = await traceOf('register-exit/flood');
    const defective = await replay(trace, await corpusAdapter(work, 'register-exit', 'client-py-defective'));
    expect(defective.out).toMatch(/step \d+: c1's program \(alice\) sent message alice -> bob "burst", which its person never typed; the model's client sends exactly the messages its person types \(typed so far: "burst 1" to bob, "burst 2" to bob, "burst 3" to bob, "burst 4" to bob and 6 more\)/);
    expect(defective.out).toMatch(/\nDIVERGED: /);
    const correct = await replay(trace, await corpusAdapter(work, 'register-exit', 'client-py-b'));
    expect(correct.out).not.toMatch(/DIVERGED|rules out/);
    expect(correct.out).toMatch(/\nNOT REPRODUCED: /);
  }, 60_000);

  it('offline-queue (silent-death): a twin that writes the recipient in sender DIVERGES at its send; the example client does not', async () => {
    const trace = await traceOf('offline-queue/silent-death');
    const twin = await replay(trace, exampleTwin('offline-queue', 'request(3, { receiver: draft.to, msg: line })', 'request(3, { receiver: draft.to, msg: line, sender: draft.to })'));
    expect(twin.out).toMatch(/the live run left the trace: step \d+: c1's program \(alice\) sent send to bob "are you there\?" with sender "bob"; the model's client fills sender with its own account \(alice\) or leaves it empty/);
    expect(twin.out).toMatch(/\nDIVERGED: /);
    expect(twin.code).toBe(1);
    const example = await replay(trace, join(root, 'adapters/offline-queue.yaml'));
    expect(example.out).toMatch(/step \d+: c1 send to bob "are you there\?" {2}<- {2}#\d+ send to bob "are you there\?"/);
    expect(example.out).not.toMatch(/DIVERGED|rules out/);
    expect(example.out).toMatch(/\nNOT REPRODUCED: /);
  }, 60_000);

  it('ping-liveness (killed-client-no-ping): a twin that names the session after its own DIVERGES at its first chat; the example client does not', async () => {
    const trace = await traceOf('ping-liveness/killed-client-no-ping');
    const twin = await replay(trace, exampleTwin('ping-liveness', 'send(3, { id: session, time:', 'send(3, { id: session + 1, time:'));
    expect(twin.out).toMatch(/the live run left the trace: step \d+: c1's program sent CHAT "user1 here" in session s\d+, a session the server never gave it; the model's client names its own session \(s\d+\)/);
    expect(twin.out).toMatch(/\nDIVERGED: /);
    expect(twin.code).toBe(1);
    const example = await replay(trace, join(root, 'adapters/ping-liveness.yaml'));
    expect(example.out).toMatch(/step 17: c1b LOGIN_REQUEST user1\/pass1 {2}<- {2}#\d+ LOGIN_REQUEST user1\/pass1/);
    expect(example.out).not.toMatch(/DIVERGED|rules out/);
    expect(example.out).toMatch(/\nNOT REPRODUCED: /);
  }, 60_000);
});
