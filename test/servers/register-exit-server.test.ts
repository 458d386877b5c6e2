import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { encodeGobMessage, encodeGobMessageValue, frameGob, GobDecoder, gobMessageTypeDefinition, type GobMessage } from './protocol-wire.js';
import type { ServerHandle } from '../../src/servers/index.js';
import { applied, closedOnServer, connOf, serve, within } from './server-fixture.js';
import { StreamClient, jsonLines, type StreamDecoder } from './stream-client.js';

type Codec = 'json' | 'gob';
type Client = StreamClient<GobMessage> & { say(m: Partial<GobMessage>): void };

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
  client.say = (m) => client.write(codec === 'gob' ? encodeGobMessage(m) : JSON.stringify(m) + '\n');
  return client;
}

/** A client that asked to register as `name`, once the server has applied it (registered, or refused). */
async function registered(server: ServerHandle, codec: Codec, name: string): Promise<Client> {
  const client = await open(server.port, codec);
  await applied(server, client, () => client.say({ From: name, Register: true }));
  return client;
}

const notConnected = { From: 'Error', Content: 'That user is not connected to this server' };

describe.each(['json', 'gob'] as const)('register-exit server (%s)', (codec) => {
  it('routes a message to the named user with the sender as From', async () => {
    const server = await serve('register-exit', { codec });
    const alice = await registered(server, codec, 'alice');
    const bob = await registered(server, codec, 'bob');
    alice.say({ To: 'bob', Content: 'hello bob' });
    expect(await bob.next()).toMatchObject({ To: 'bob', From: 'alice', Content: 'hello bob', Register: false, Exit: false });
    bob.say({ To: 'alice', Content: 'hi alice' });
    expect(await alice.next()).toMatchObject({ From: 'bob', Content: 'hi alice' });
  });

  it('answers an unknown recipient with the seed error message', async () => {
    const server = await serve('register-exit', { codec });
    const alice = await registered(server, codec, 'alice');
    alice.say({ To: 'carol', Content: 'anyone?' });
    expect(await alice.next()).toMatchObject(notConnected);
  });

  it('uses the registered name as From, never the field the client filled in', async () => {
    const server = await serve('register-exit', { codec });
    const mallory = await registered(server, codec, 'mallory');
    const bob = await registered(server, codec, 'bob');
    mallory.say({ To: 'bob', From: 'alice', Content: 'it is me, alice' });
    expect(await bob.next()).toMatchObject({ From: 'mallory', Content: 'it is me, alice' });
  });

  it('forgets a client that exits and closes its connection', async () => {
    const server = await serve('register-exit', { codec });
    const alice = await registered(server, codec, 'alice');
    const bob = await registered(server, codec, 'bob');
    bob.say({ From: 'bob', Exit: true });
    expect(await bob.waitClosed()).toBe(true);
    alice.say({ To: 'bob', Content: 'still there?' });
    expect(await alice.next()).toMatchObject(notConnected);
    const bob2 = await registered(server, codec, 'bob'); // the name is free again
    alice.say({ To: 'bob', Content: 'welcome back' });
    expect(await bob2.next()).toMatchObject({ From: 'alice', Content: 'welcome back' });
  });

  it('Exit naming someone else forgets only the sender', async () => {
    const server = await serve('register-exit', { codec });
    const alice = await registered(server, codec, 'alice');
    const mallory = await registered(server, codec, 'mallory');
    mallory.say({ From: 'alice', Exit: true });
    expect(await mallory.waitClosed()).toBe(true);
    const bob = await registered(server, codec, 'bob');
    bob.say({ To: 'alice', Content: 'are you there?' });
    expect(await alice.next()).toMatchObject({ From: 'bob' });
  });

  it('forgets a client that vanishes without Exit, and stays up', async () => {
    const server = await serve('register-exit', { codec });
    const alice = await registered(server, codec, 'alice');
    const bob = await registered(server, codec, 'bob');
    const gone = closedOnServer(server, bob);
    bob.reset();
    await gone;
    alice.say({ To: 'bob', Content: 'gone?' });
    expect(await alice.next()).toMatchObject(notConnected);
    await registered(server, codec, 'bob');
  });

  it('refuses a name in use, a second registration, reserved names and sending unregistered', async () => {
    const server = await serve('register-exit', { codec, limits: { maxNameChars: 5 } });
    const alice = await registered(server, codec, 'alice');
    const impostor = await registered(server, codec, 'alice');
    expect(await impostor.next()).toMatchObject({ From: 'Error', Content: 'The name alice is already registered' });
    alice.say({ From: 'alice2', Register: true });
    expect(await alice.next()).toMatchObject({ From: 'Error', Content: 'Already registered as alice' });
    const fake = await registered(server, codec, 'Error');
    expect(await fake.next()).toMatchObject({ From: 'Error', Content: expect.stringMatching(/^Invalid name "Error"/) });
    const long = await registered(server, codec, 'abcdef');
    expect(await long.next()).toMatchObject({ Content: 'Name longer than maxNameChars=5' });
    impostor.say({ To: 'alice', Content: 'hi' });
    expect(await impostor.next()).toMatchObject({ From: 'Error', Content: expect.stringMatching(/^Register first/) });
    // Nothing else reached alice: the reply to her next request is the first thing she reads.
    alice.say({ To: 'nobody', Content: 'x' });
    expect(await alice.next()).toMatchObject(notConnected);
  });

  it('delivers every message of a burst, in order', async () => {
    const server = await serve('register-exit', { codec });
    const alice = await registered(server, codec, 'alice');
    const bob = await registered(server, codec, 'bob');
    const burst = Array.from({ length: 100 }, (_, i) => (codec === 'gob' ? encodeGobMessage({ To: 'bob', Content: `m${i}` }) : JSON.stringify({ To: 'bob', Content: `m${i}` }) + '\n'));
    alice.write(Buffer.concat(burst.map((b) => Buffer.from(b))));
    for (let i = 0; i < 100; i++) expect((await bob.next()).Content).toBe(`m${i}`);
  });

  it('tells every client Exit when it shuts down', async () => {
    const server = await serve('register-exit', { codec });
    const alice = await registered(server, codec, 'alice');
    const stranger = await open(server.port, codec);
    await connOf(server, stranger);
    await server.close();
    expect(await alice.next()).toMatchObject({ Exit: true });
    expect(await stranger.next()).toMatchObject({ Exit: true });
    expect(await alice.waitClosed()).toBe(true);
  });

  it('refuses an oversize message and keeps serving others', async () => {
    const server = await serve('register-exit', { codec, limits: { maxMessageChars: 5, maxFrameBytes: 512 } });
    const alice = await registered(server, codec, 'alice');
    const bob = await registered(server, codec, 'bob');
    alice.say({ To: 'bob', Content: '123456' });
    expect(await alice.next()).toMatchObject({ From: 'Error', Content: 'Message longer than maxMessageChars=5' });
    alice.say({ To: 'bob', Content: 'x'.repeat(600) });
    expect(await alice.next()).toMatchObject({ From: 'Error', Content: expect.stringMatching(/maxFrameBytes=512/) });
    expect(await alice.waitClosed()).toBe(true);
    const carol = await registered(server, codec, 'carol');
    carol.say({ To: 'bob', Content: 'ok' });
    expect(await bob.next()).toMatchObject({ From: 'carol', Content: 'ok' });
  });
});

describe('register-exit wire details', () => {
  it('gob: writes each reply as [type definition][value], byte for byte like the seed', async () => {
    const server = await serve('register-exit', { codec: 'gob' });
    const socket = connect(server.port, '127.0.0.1');
    const received: Buffer[] = [];
    socket.on('data', (d: Buffer) => received.push(d));
    await new Promise((r) => socket.once('connect', r));
    socket.write(encodeGobMessage({ From: 'alice', Register: true }));
    socket.write(encodeGobMessage({ To: 'nobody', Content: 'x' }));
    const expected = Buffer.concat([frameGob(gobMessageTypeDefinition), frameGob(encodeGobMessageValue(notConnected))]);
    const enough = new Promise<void>((resolve) => {
      const check = (): void => void (Buffer.concat(received).length >= expected.length && resolve());
      socket.on('data', check);
      check();
    });
    await within(enough, 3000, `the ${expected.length} bytes of the reply`);
    socket.destroy();
    expect(Buffer.concat(received).toString('hex')).toBe(expected.toString('hex'));
    expect(expected[0]).toBe(71);
  });

  it('gob: accepts a Go client using one encoder (type sent once)', async () => {
    const server = await serve('register-exit', { codec: 'gob' });
    const bob = await registered(server, 'gob', 'bob');
    const socket = connect(server.port, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    socket.write(frameGob(gobMessageTypeDefinition));
    socket.write(frameGob(encodeGobMessageValue({ From: 'alice', Register: true })));
    socket.write(frameGob(encodeGobMessageValue({ To: 'bob', From: 'alice', Content: 'one' })));
    socket.write(frameGob(encodeGobMessageValue({ To: 'bob', From: 'alice', Content: 'two' })));
    expect(await bob.next()).toMatchObject({ From: 'alice', Content: 'one' });
    expect(await bob.next()).toMatchObject({ From: 'alice', Content: 'two' });
    socket.destroy();
  });

  it('gob: a garbage stream gets an error and is closed; others are unaffected', async () => {
    const server = await serve('register-exit', { codec: 'gob' });
    const bob = await registered(server, 'gob', 'bob');
    const garbage = await open(server.port, 'gob');
    garbage.write(Buffer.from('0aff0102030405060708090a', 'hex'));
    expect(await garbage.next()).toMatchObject({ From: 'Error', Content: expect.stringMatching(/^bad gob stream/) });
    expect(await garbage.waitClosed()).toBe(true);
    const alice = await registered(server, 'gob', 'alice');
    alice.say({ To: 'bob', Content: 'fine' });
    expect(await bob.next()).toMatchObject({ Content: 'fine' });
  });

  it('json: writes all five fields; bad lines get an error and the connection stays', async () => {
    const server = await serve('register-exit');
    const c = await open(server.port, 'json');
    c.write('not json\n{"To": 5}\n');
    expect(await c.next()).toEqual({ To: '', From: 'Error', Content: 'bad message: not JSON', Register: false, Exit: false });
    expect(await c.next()).toMatchObject({ Content: 'bad message: field To must be a string' });
    c.say({ To: 'x', Content: 'y' });
    expect(await c.next()).toMatchObject({ Content: expect.stringMatching(/^Register first/) });
  });
});

describe('register-exit defects', () => {
  it('defect trust-sender-field: a forwarded message carries the client-filled From', async () => {
    const server = await serve('register-exit', { defect: 'trust-sender-field' });
    const mallory = await registered(server, 'json', 'mallory');
    const bob = await registered(server, 'json', 'bob');
    mallory.say({ To: 'bob', From: 'alice', Content: 'it is me, alice' });
    expect(await bob.next()).toMatchObject({ From: 'alice' });
  });

  it('defect one-read-one-message: a message that arrives in two reads is lost; the correct server reads it whole', async () => {
    for (const defect of [undefined, 'one-read-one-message'] as const) {
      const server = await serve('register-exit', defect === undefined ? {} : { defect });
      const alice = await registered(server, 'json', 'alice');
      const bob = await registered(server, 'json', 'bob');
      const line = `${JSON.stringify({ To: 'bob', From: 'alice', Content: 'in two pieces' })}\n`;
      alice.write(line.slice(0, 10));
      // Two writes reach the server as two reads only with time between them: TCP has no message
      // boundaries to wait on, so this pause is the one way to make them (a quiet window, not a wait).
      await new Promise((r) => setTimeout(r, 100));
      alice.write(line.slice(10));
      if (defect === undefined) expect(await bob.next()).toMatchObject({ From: 'alice', Content: 'in two pieces' });
      else {
        // The second half is no message: the defective server answers it with an error (or drops it); bob gets nothing.
        alice.say({ To: 'bob', From: 'alice', Content: 'whole' });
        expect(await bob.next()).toMatchObject({ Content: 'whole' });
      }
    }
  });

  it('defect trust-exit-field: Exit naming another user unregisters that user', async () => {
    const server = await serve('register-exit', { defect: 'trust-exit-field' });
    await registered(server, 'json', 'alice');
    const mallory = await registered(server, 'json', 'mallory');
    mallory.say({ From: 'alice', Exit: true });
    await mallory.waitClosed();
    const bob = await registered(server, 'json', 'bob');
    bob.say({ To: 'alice', Content: 'are you there?' });
    expect(await bob.next()).toMatchObject(notConnected);
  });

  it('defect duplicate-name-replaces: a second registration takes the name over', async () => {
    const server = await serve('register-exit', { defect: 'duplicate-name-replaces' });
    const alice = await registered(server, 'json', 'alice');
    const impostor = await registered(server, 'json', 'alice');
    const bob = await registered(server, 'json', 'bob');
    bob.say({ To: 'alice', Content: 'secret' });
    expect(await impostor.next()).toMatchObject({ Content: 'secret' });
    // Nothing reached alice, who lost her name: the reply to her next request is the first thing she reads.
    alice.say({ To: 'nobody', Content: 'x' });
    expect(await alice.next()).toMatchObject({ From: 'Error', Content: expect.stringMatching(/^Register first/) });
  });

  it('defect crash-on-disconnect: one vanished client takes the whole server down', async () => {
    const server = await serve('register-exit', { defect: 'crash-on-disconnect' });
    const alice = await registered(server, 'json', 'alice');
    const bob = await registered(server, 'json', 'bob');
    bob.reset();
    await expect(server.closed).rejects.toThrow(/vanished without Exit/);
    expect(await alice.waitClosed()).toBe(true);
    await expect(new Promise((resolve, reject) => connect(server.port, '127.0.0.1', () => resolve('up')).on('error', reject))).rejects.toThrow(/ECONNREFUSED/);
  });

  it('defect keep-vanished-client: a vanished client stays registered, messages to it vanish', async () => {
    const server = await serve('register-exit', { defect: 'keep-vanished-client' });
    const alice = await registered(server, 'json', 'alice');
    const bob = await registered(server, 'json', 'bob');
    const gone = closedOnServer(server, bob);
    bob.reset();
    await gone;
    alice.say({ To: 'bob', Content: 'gone?' });
    alice.say({ To: 'nobody', Content: 'x' });
    // no "not connected" error for bob: the first thing alice reads is the one for nobody
    expect(await alice.next()).toMatchObject({ ...notConnected });
    expect(await alice.drain(0)).toEqual([]);
    const bob2 = await registered(server, 'json', 'bob');
    expect(await bob2.next()).toMatchObject({ Content: 'The name bob is already registered' });
  });
});
