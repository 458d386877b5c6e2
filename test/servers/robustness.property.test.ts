/**
 * Properties over real sockets: random bytes and random valid messages thrown at each server never
 * take it down or disturb other clients, and what the server reports stays consistent with a model.
 * Each property shares one server across its runs (fresh names per run) and is bounded in runs.
 */
import { connect } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareCodePoints } from '../../src/models/kv-store/serve.js';
import { encodeGobMessage, GobDecoder, type GobMessage } from './protocol-wire.js';
import { delimit, encodeClient2Server } from './protocol-wire.js';
import { httpGet, kvQuery } from './http-client.js';
import { loggedInOq, openOq } from './offline-queue-client.js';
import { applied, serve } from './server-fixture.js';
import { openJsonClient, StreamClient, type StreamDecoder } from './stream-client.js';

const numRuns = 25;

/** Opens a raw connection, writes the chunks, then closes it (abruptly or not). */
async function throwBytes(port: number, chunks: Uint8Array[], abrupt: boolean): Promise<void> {
  await new Promise<void>((resolve) => {
    const socket = connect(port, '127.0.0.1', async () => {
      // Each chunk is handed to the kernel before the next is written, so they tend to arrive apart.
      for (const chunk of chunks) await new Promise((written) => socket.write(chunk, written));
      if (abrupt) socket.resetAndDestroy();
      else socket.end();
      resolve();
    });
    socket.on('data', () => undefined);
    socket.on('error', () => resolve());
  });
}

const garbage = fc.uint8Array({ minLength: 1, maxLength: 300 });
let run = 0;

describe('robustness properties (real sockets)', () => {
  it('kv: garbage connections never disturb a store that matches a model of the valid operations', async () => {
    const { address, port } = await serve('kv');
    const op = fc.oneof(
      fc.record({ kind: fc.constant('set' as const), key: fc.constantFrom('a', 'b', 'c d', 'é/&='), value: fc.string({ maxLength: 20 }) }),
      fc.record({ kind: fc.constant('unset' as const), key: fc.constantFrom('a', 'b', 'c d', 'é/&=') }),
      fc.record({ kind: fc.constant('garbage' as const), bytes: garbage, abrupt: fc.boolean() }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 12 }), async (ops) => {
        const store = `run${run++}`;
        const model = new Map<string, string>();
        for (const o of ops) {
          if (o.kind === 'garbage') await throwBytes(port, [o.bytes], o.abrupt);
          else if (o.kind === 'set') {
            expect((await httpGet(address, kvQuery({ store, action: 'set', key: o.key, value: o.value }))).body).toBe('\n');
            model.set(o.key, o.value);
          } else {
            await httpGet(address, kvQuery({ store, action: 'unset', key: o.key }));
            model.delete(o.key);
          }
        }
        expect((await httpGet(address, kvQuery({ store, action: 'keys' }))).body).toBe([...model.keys()].sort(compareCodePoints).map((k) => `${k}\n`).join('') + '\n'); // sorted by code point
        for (const [key, value] of model) expect((await httpGet(address, kvQuery({ store, action: 'get', key }))).body).toBe(`${value}\n`);
      }),
      { numRuns },
    );
  });

  it('ping-liveness: garbage and random messages on one connection never affect another session', async () => {
    const { port } = await serve('ping-liveness');
    const line = fc.oneof(
      garbage.map((b) => Buffer.from(b)),
      fc
        .record({
          mtype: fc.integer({ min: 0, max: 9 }),
          payload: fc.dictionary(fc.constantFrom('id', 'message', 'username', 'password', 'supported_versions'), fc.oneof(fc.string(), fc.integer(), fc.constant(['1.0.0']))),
        })
        .map((m) => Buffer.from(JSON.stringify({ ...m, version: '1.0.0' }) + '\n')),
    );
    const probe = await openJsonClient(port);
    probe.write(JSON.stringify({ mtype: 1, payload: { username: 'user2', password: 'pass2' } }) + '\n');
    const login = await probe.next();
    expect(login).toMatchObject({ mtype: 2, payload: { auth: 0 } });
    const id = (login['payload'] as { id: number }).id;
    await fc.assert(
      fc.asyncProperty(fc.array(line, { maxLength: 8 }), fc.boolean(), fc.string({ maxLength: 30 }), async (lines, abrupt, text) => {
        await throwBytes(port, lines, abrupt);
        probe.write(JSON.stringify({ mtype: 3, payload: { id, message: text } }) + '\n');
        expect(await probe.next(10_000)).toMatchObject({ mtype: 3, payload: { id, message: text } });
      }),
      { numRuns },
    );
  });

  it.each(['json', 'gob'] as const)('register-exit (%s): garbage and random messages never break routing between others', async (codec) => {
    const server = await serve('register-exit', { codec });
    const { port } = server;
    const encode = (m: Partial<GobMessage>) => (codec === 'gob' ? encodeGobMessage(m) : Buffer.from(JSON.stringify(m) + '\n'));
    const decode = (): StreamDecoder<GobMessage> => {
      if (codec === 'json') {
        return (buffer: Buffer) => {
          const messages: GobMessage[] = [];
          let consumed = 0;
          for (let nl = buffer.indexOf(10); nl !== -1; nl = buffer.indexOf(10, consumed)) {
            messages.push(JSON.parse(buffer.subarray(consumed, nl).toString()) as GobMessage);
            consumed = nl + 1;
          }
          return { messages, consumed };
        };
      }
      const decoder = new GobDecoder(1 << 20);
      return (buffer: Buffer) => ({ messages: decoder.push(Buffer.from(buffer)).flatMap((e) => (e.kind === 'message' ? [e.message] : [])), consumed: buffer.length });
    };
    const open = async (name: string) => {
      const c = await StreamClient.open(port, decode());
      await applied(server, c, () => c.write(encode({ From: name, Register: true })));
      return c;
    };
    const message = fc.oneof(
      garbage.map((bytes) => ({ bytes, m: undefined })),
      fc.record({
        bytes: fc.constant(undefined),
        m: fc.record({ To: fc.constantFrom('alice', 'bob', 'x', ''), From: fc.constantFrom('alice', 'bob', 'z'), Content: fc.string({ maxLength: 20 }), Register: fc.boolean(), Exit: fc.boolean() }),
      }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(message, { maxLength: 6 }), fc.boolean(), fc.string({ maxLength: 30 }), async (chunks, abrupt, text) => {
        // Fresh names each run, so a run (or a shrink step) never sees another run's leftovers;
        // the random messages aim at this run's names.
        const n = run++;
        const name = (x: string) => (x === 'alice' || x === 'bob' ? `${x}${n}` : x);
        const alice = await open(name('alice'));
        const bob = await open(name('bob'));
        const bytes = chunks.map((c) => (c.bytes !== undefined ? c.bytes : encode({ ...c.m, To: name(c.m.To), From: name(c.m.From) })));
        await throwBytes(port, bytes, abrupt);
        alice.write(encode({ To: `bob${n}`, Content: text }));
        // A random message may be a real one to bob (from a connection that registered a name of its
        // own), and arrive first: bob reads past those, each from its sender's registered name,
        // never alice's; then alice's message, unchanged.
        for (let i = 0; ; i++) {
          const got = await bob.next(10_000);
          if (got.From === `alice${n}`) {
            expect(got).toMatchObject({ From: `alice${n}`, Content: text });
            break;
          }
          expect(i, `bob got ${JSON.stringify(got)} before alice's message`).toBeLessThan(chunks.length);
        }
        alice.end();
        bob.end();
      }),
      { numRuns },
    );
  });

  it('offline-queue: garbage and random requests never lose, reorder or invent a queued message', async () => {
    const { port } = await serve('offline-queue');
    const request = fc.oneof(
      garbage.map((b) => Buffer.from(b)),
      fc
        .record({ opcode: fc.integer({ min: 0, max: 8 }), sender: fc.constantFrom('', 'alice'), receiver: fc.constantFrom('', 'bob', 'alice'), msg: fc.string({ maxLength: 30 }) })
        .map((m) => delimit(encodeClient2Server(m))),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(request, { maxLength: 8 }), fc.boolean(), fc.array(fc.string({ maxLength: 40 }), { maxLength: 6 }), async (chunks, abrupt, texts) => {
        const n = run++;
        const sender = await loggedInOq(port, `s${n}`);
        const inbox = await openOq(port);
        await inbox.ask({ opcode: 1, msg: `r${n}` });
        for (const text of texts) {
          await throwBytes(port, chunks, abrupt);
          expect(await sender.ask({ opcode: 3, receiver: `r${n}`, msg: text })).toMatchObject({ opcode: 3 });
        }
        expect(await inbox.ask({ opcode: 2, msg: `r${n}` })).toMatchObject({ opcode: 13 });
        expect(await inbox.ask({ opcode: 4 })).toMatchObject({ opcode: 6, msg: texts.map((t) => `s${n}:${t}\n`).join('') });
        sender.end();
        inbox.end();
      }),
      { numRuns },
    );
  });
});
