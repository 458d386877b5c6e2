/**
 * One reading of register-exit: the model (the `fixed` server machine the live oracle steps) and the
 * reference server (the rules on the stream host, over real sockets, JSON lines and gob) give the
 * same answer, message for message, over generated traffic from three connections: registers of
 * good, taken, reserved, empty, control-character and over-long names, sends to registered and
 * unknown names, spoofed From, Exit (with and without Register), keepalives, clean closes, resets,
 * and the server's shutdown at the end. Then the same with small limits, and with each defect the
 * rules carry (the model machine built with the reference server's options).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fixed } from '../../src/models/register-exit/index.js';
import type { RouteMessage } from '../../src/models/register-exit/messages.js';
import { createRouteServer } from '../../src/models/register-exit/server.js';
import type { RouteLimits } from '../../src/models/register-exit/serve.js';
import { fixedServerOptions } from '../../src/models/register-exit/index.js';
import { registerExitRuleOptions } from '../../src/models/register-exit/server-program.js';
import { toWire } from '../../src/models/register-exit/wire.js';
import type { ServerLimits } from '../../src/servers/index.js';
import { encodeGobMessage, GobDecoder, type GobMessage } from './protocol-wire.js';
import { encodeJsonMessage } from '../../src/models/register-exit/wire.js';
import { ModelServer } from './model-server.js';
import { closedOnServer, connOf, serve } from './server-fixture.js';
import { StreamClient, jsonLines, type StreamDecoder } from './stream-client.js';

type Codec = 'json' | 'gob';
type Client = StreamClient<GobMessage> & { say(m: GobMessage): void };

const gobStream = (): StreamDecoder<GobMessage> => {
  const decoder = new GobDecoder(1 << 20);
  return (buffer) => ({
    messages: decoder.push(Buffer.from(buffer)).map((e) => {
      if (e.kind === 'error') throw new Error(e.reason);
      return e.message;
    }),
    consumed: buffer.length,
  });
};

async function open(port: number, codec: Codec): Promise<Client> {
  const client = (await StreamClient.open<GobMessage>(port, codec === 'gob' ? gobStream() : (jsonLines as unknown as StreamDecoder<GobMessage>))) as Client;
  client.say = (m) => client.write(codec === 'gob' ? encodeGobMessage(m) : encodeJsonMessage(m));
  return client;
}

// Within the server's default limits (the model's fixed variant has none: PROTOCOLS.md sets none);
// the small-limits run below makes `sixsix` and the longer texts too long.
const names = ['al', 'bo', 'cy', 'al', '', 'Error', 'Server', 'a\u0001', 'sixsix', '😀'];
const texts = ['hi', '', 'a:b', 'sixsix', '😀😀😀😀😀😀', '😀😀😀😀😀'];

type Action =
  | { kind: 'message'; conn: number; msg: GobMessage }
  | { kind: 'close'; conn: number; reset: boolean };

const message: fc.Arbitrary<GobMessage> = fc.oneof(
  { weight: 10, arbitrary: fc.record({ To: fc.constantFrom(...names), From: fc.constantFrom(...names), Content: fc.constantFrom(...texts), Register: fc.constant(false), Exit: fc.constant(false) }) },
  { weight: 8, arbitrary: fc.record({ To: fc.constant(''), From: fc.constantFrom(...names), Content: fc.constant(''), Register: fc.constant(true), Exit: fc.constant(false) }) },
  { weight: 2, arbitrary: fc.record({ To: fc.constantFrom(...names), From: fc.constantFrom(...names), Content: fc.constantFrom(...texts), Register: fc.boolean(), Exit: fc.constant(true) }) },
  { weight: 1, arbitrary: fc.constant({ To: '', From: '', Content: '', Register: false, Exit: false }) },
);

const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 12, arbitrary: fc.record({ kind: fc.constant('message' as const), conn: fc.integer({ min: 0, max: 2 }), msg: message }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('close' as const), conn: fc.integer({ min: 0, max: 2 }), reset: fc.boolean() }) },
);

/** A message that changes nothing and always gets an error reply: a barrier on its connection. */
const probe: GobMessage = { To: 'zz-probe', From: '', Content: 'sync', Register: false, Exit: false };

interface Live {
  client: Client;
  id: string;
  got: GobMessage[];
}

const event = (m: GobMessage, from: string): RouteMessage & { from: string } => ({ type: 'MESSAGE', to: m.To, sender: m.From, content: m.Content, register: m.Register, exit: m.Exit, from });

async function runBoth(actions: Action[], codec: Codec, machine = fixed.roles.server!.machine, limits?: Partial<ServerLimits>, defect?: string): Promise<void> {
  const server = await serve('register-exit', { codec: codec === 'gob' ? 'gob' : 'json', ...(limits ? { limits } : {}), ...(defect ? { defect } : {}) });
  const model = new ModelServer<GobMessage>(machine, { timeoutMs: 1e12, sweepMs: 1e11 }, (m: RouteMessage) => toWire(m));
  const live: Live[] = [];
  const done: Live[] = [];
  const connect = async (): Promise<Live> => {
    const client = await open(server.port, codec);
    return { client, id: await connOf(server, client), got: [] };
  };
  /** Every connection has received what the model sent it so far. */
  const settle = async (context: string): Promise<void> => {
    for (const c of [...live, ...done]) {
      const expected = model.sent(c.id).length;
      while (c.got.length < expected) {
        if (c.client.closed && done.includes(c)) break;
        c.got.push(
          await c.client.next(1000).catch((e: Error) => {
            throw new Error(`${c.id} after ${context}: ${e.message}; model sent ${JSON.stringify(model.sent(c.id))}, server ${JSON.stringify(c.got)}`);
          }),
        );
      }
    }
  };
  const retire = async (at: number): Promise<void> => {
    const gone = live[at]!;
    done.push(gone);
    live.splice(at, 1);
    await closedOnServer(server, gone.id);
    live.splice(at, 0, await connect());
  };
  for (let i = 0; i < 3; i++) live.push(await connect());
  for (const a of actions) {
    const c = live[a.conn]!;
    if (a.kind === 'close') {
      await settle('a close');
      if (a.reset) c.client.reset();
      else c.client.end();
      model.step({ type: a.reset ? 'conn.reset' : 'conn.closed', peer: c.id });
      model.closed.add(c.id);
      await retire(a.conn);
      continue;
    }
    const before = model.sent(c.id).length;
    model.step(event(a.msg, c.id));
    c.client.say(a.msg);
    if (model.closed.has(c.id)) {
      expect(await c.client.waitClosed(), `${c.id} closed after Exit`).toBe(true);
      await retire(a.conn);
    } else if (model.sent(c.id).length === before) {
      model.step(event(probe, c.id));
      c.client.say(probe);
    }
    await settle(JSON.stringify(a.msg));
  }
  // Everyone speaks (so the model knows every connection), then the server shuts down.
  for (const c of live) {
    model.step(event(probe, c.id));
    c.client.say(probe);
  }
  await settle('the last probes');
  model.step({ type: 'user.input', text: 'EXIT' });
  await server.close();
  await settle('shutdown');
  for (const c of [...done, ...live]) expect(c.got, `what ${c.id} received`).toEqual(model.sent(c.id));
  for (const c of live) expect(await c.client.drain(5), `nothing more for ${c.id}`).toEqual([]);
}

describe('register-exit: the model and the reference server give the same answers', () => {
  for (const codec of ['json', 'gob'] as const) {
    it(`over generated traffic from three connections (${codec})`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(action, { minLength: 4, maxLength: 24 }), async (actions) => runBoth(actions, codec)),
        { numRuns: codec === 'json' ? 25 : 10, seed: 20240614, endOnFailure: true },
      );
    }, 60_000);
  }

  const small: RouteLimits = { maxNameChars: 5, maxMessageChars: 5, maxEntries: 2 };
  it('with small limits (names and messages of 5 characters, 2 names)', async () => {
    const machine = createRouteServer(registerExitRuleOptions(fixedServerOptions, small));
    await fc.assert(
      fc.asyncProperty(fc.array(action, { minLength: 4, maxLength: 20 }), async (actions) => runBoth(actions, 'json', machine, small)),
      { numRuns: 15, seed: 20240615, endOnFailure: true },
    );
  }, 60_000);

  for (const defect of ['trust-sender-field', 'trust-exit-field', 'duplicate-name-replaces', 'keep-vanished-client']) {
    it(`with the defect ${defect} (the rules' option, in the model machine and the server)`, async () => {
      const machine = createRouteServer(registerExitRuleOptions(fixedServerOptions, { maxNameChars: 64, maxMessageChars: 4096, maxEntries: 100_000 }, defect));
      await fc.assert(
        fc.asyncProperty(fc.array(action, { minLength: 4, maxLength: 20 }), async (actions) => runBoth(actions, 'json', machine, undefined, defect)),
        { numRuns: 8, seed: 20240616, endOnFailure: true },
      );
    }, 60_000);
  }
});
