/**
 * offline-queue counterexamples replayed on client programs protosim did not write (issue 16, item
 * 5): protosim plays the server (its reference server: the fixed rules), the corpus's Python
 * clients are the people's programs. Every finding of the offline-queue model is the seed server's
 * (a letter written into a dead connection and dropped, ...), not a client's, so none reproduces on
 * client programs: the replay says NOT REPRODUCED on the seed-faithful client and on a correct one
 * alike, with the step where the live (fixed) server parted from the trace's. No model trace asks
 * for the seed-faithful client's flaw (two server messages in one read merge): the model's client
 * receives messages one at a time. The live checks themselves are tested on views built by hand.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/program.js';
import type { LiveClientsView } from '../../src/models/live-types.js';
import { offlineQueueClientReplay as replay } from '../../src/models/offline-queue/client-replay.js';
import { reply, request } from '../../src/models/offline-queue/messages.js';
import type { ProtocolMessage } from '../../src/models/types.js';
import { corpusAdapter } from '../support/corpus-adapter.js';

const root = resolve(__dirname, '../..');
// the corpus's Python clients run on /usr/bin/python3 with the protobuf module
const havePythonProtobuf = spawnSync('/usr/bin/python3', ['-c', 'import google.protobuf']).status === 0;
let work: string;

async function cli(args: string[], cwd = root): Promise<{ code: number; out: string }> {
  let out = '';
  const code = await runCli(args, { stdout: (s) => (out += s), stderr: (s) => (out += s), cwd });
  return { code, out };
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'protosim-replay-oq-'));
});
afterAll(() => {
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
});

const m = (x: unknown): ProtocolMessage => x as ProtocolMessage;
function view(received: ProtocolMessage[], shown: { from?: string; text: string }[]): LiveClientsView {
  return { sent: new Map(), received: new Map([['bob', received]]), shown: new Map([['bob', shown]]), running: new Set(['bob']) };
}

describe('offline-queue live checks on client programs', () => {
  const pushes = [m(reply(17, 'alice:note 1\n')), m(reply(17, 'alice:note 2\n'))];
  it('no-message-lost: a letter written to a running program and never shown', () => {
    const check = replay.live['no-message-lost']!;
    expect(check(view(pushes, [{ from: 'alice', text: 'note 2' }]))).toMatch(/bob's program was written alice's "note 1" and never showed it/);
    expect(check(view(pushes, [{ from: 'alice', text: 'note 1' }, { from: 'alice', text: 'note 2' }]))).toBeNull();
    expect(check(view([m(reply(6, 'alice:a\nalice:b\n'))], [{ from: 'alice', text: 'a' }, { from: 'alice', text: 'b' }]))).toBeNull();
  });
  it('per-sender-order: one sender\'s letters shown out of the order written', () => {
    const check = replay.live['per-sender-order']!;
    expect(check(view(pushes, [{ from: 'alice', text: 'note 2' }, { from: 'alice', text: 'note 1' }]))).toMatch(/showed alice's "note 1" after "note 2"/);
    expect(check(view(pushes, [{ from: 'alice', text: 'note 1' }, { from: 'alice', text: 'note 2' }]))).toBeNull();
  });
  it('matches by effect, never by the sender field; names a program by the account it logs in to', () => {
    expect(replay.effect(m(request(3, { sender: 'x', receiver: 'bob', msg: 'hi' })))).toBe(replay.effect(m(request(3, { receiver: 'bob', msg: 'hi' }))));
    expect(replay.liveName({ id: 'c2b', params: {}, lines: ['login bob', 'check'] })).toBe('bob');
    expect(replay.typing('flood bob 2 note', 'alice')).toEqual([{ to: 'bob', text: 'note 1' }, { to: 'bob', text: 'note 2' }]);
    expect(replay.typing('create alice', 'alice')).toEqual([]);
    expect(replay.typing('create bob', 'alice')).toEqual({ cannot: 'create bob (another account than its own, alice)' });
    expect(replay.typing('check', 'alice')).toBe('check');
  });
});

describe.skipIf(!havePythonProtobuf)('offline-queue counterexamples replayed on corpus client programs (needs python3-protobuf)', () => {
  it('silent-death (a letter written into a dead connection, the seed server\'s flaw): NOT REPRODUCED on the seed-faithful and on a correct client', async () => {
    const trace = join(work, 'silent-death.jsonl');
    const found = await cli(['run', join(root, 'scenarios/offline-queue/silent-death.yaml'), '--seed', '1', '--trace-out', trace], work);
    expect(found.code, found.out).toBe(0);
    for (const [impl, framing] of [['client-py-faithful', 'raw'], ['client-py-a', 'length-delimited']] as const) {
      const r = await cli(['replay', trace, '--adapter', await corpusAdapter(work, 'offline-queue', impl), '--framing', framing, '--observe-ms', '500']);
      expect(r.out).toMatch(/the model found: invariant: invariant no-message-lost/);
      expect(r.out).toMatch(/step \d+: c1 send to bob "are you there\?" {2}<- {2}#\d+ send to bob "are you there\?"/);
      expect(r.out).toMatch(/extra: c2b #0 create bob/);
      expect(r.out).toMatch(/step \d+: c2b check {2}<- {2}#\d+ check/);
      expect(r.out).toMatch(/the live run left the trace: step \d+: the server did not send c2b unread \[\] within \d+ ms \(held for it: unread \[alice:"are you there\?"\]\)/);
      expect(r.out).toMatch(/\nNOT REPRODUCED: /);
      expect(r.code).toBe(1);
    }
  }, 120_000);
});
