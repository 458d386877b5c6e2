import { describe, expect, it } from 'vitest';
import { delimit, encodeClient2Server, encodeServer2Client, splitConcatenatedMessages } from './protocol-wire.js';
import { startBlackholeProxy } from './blackhole-proxy.js';
import { loggedInOq, openOq, type Framing } from './offline-queue-client.js';
import { ManualClock, type ServerHandle } from '../../src/servers/index.js';
import { closedOnServer, serve } from './server-fixture.js';

const ascii = (s: string) => Buffer.from(s, 'utf8').toString('hex');

/** Resolves once the next push (a write whose flushing the rules hear of) has left the server. */
function pushFlushed(server: ServerHandle): Promise<unknown> {
  return server.events.waitFor((e) => e.type === 'write-flushed', { after: server.events.count, what: 'a push flushed' });
}

describe('offline-queue protobuf bytes', () => {
  /**
   * proto3 encoding: each field is a tag varint (field number << 3 | wire type) then the value;
   * wire type 2 (length-delimited) for strings: varint length + UTF-8; wire type 0 for int32: varint.
   * Fields holding their default ("" or 0) are not written.
   */
  it('Client2Server send request', () => {
    const bytes = encodeClient2Server({ opcode: 3, sender: 'alice', receiver: 'bob', msg: 'hi' });
    expect(Buffer.from(bytes).toString('hex')).toBe(
      [
        '0a', '03', ascii('0.1'), // field 1 version: tag 1<<3|2 = 0x0a, length 3
        '10', '03', // field 2 opcode: tag 2<<3|0 = 0x10, varint 3
        '1a', '05', ascii('alice'), // field 3 sender: tag 0x1a
        '22', '03', ascii('bob'), // field 4 receiver: tag 0x22
        '2a', '02', ascii('hi'), // field 5 msg: tag 0x2a
      ].join(''),
    );
  });

  it('Server2Client push, an empty unread list, and the length-delimited framing', () => {
    const push = encodeServer2Client({ opcode: 17, msg: 'alice:hi\n' });
    // version, opcode 17 = 0x11, msg (field 3, tag 0x1a) of 9 bytes
    expect(Buffer.from(push).toString('hex')).toBe(`0a03${ascii('0.1')}1011` + `1a09${ascii('alice:hi\n')}`);
    // msg "" is proto3's default and is not written at all
    expect(Buffer.from(encodeServer2Client({ opcode: 6, msg: '' })).toString('hex')).toBe(`0a03${ascii('0.1')}1006`);
    // framing: one varint byte count (18 = 0x12) before the message
    expect(delimit(push).toString('hex')).toBe(`12${Buffer.from(push).toString('hex')}`);
    // a 200-byte message needs a two-byte varint: 200 = 0b1_1001000 -> c8 01
    expect(delimit(new Uint8Array(200)).subarray(0, 2).toString('hex')).toBe('c801');
  });

  it('splits back-to-back raw messages where the field numbers start over', () => {
    const a = encodeClient2Server({ opcode: 4 });
    const b = encodeClient2Server({ opcode: 3, receiver: 'x', msg: 'y' });
    const c = encodeClient2Server({ opcode: 7 });
    const pieces = splitConcatenatedMessages(Buffer.concat([a, b, c]));
    expect(pieces.map((p) => Buffer.from(p).toString('hex'))).toEqual([a, b, c].map((p) => Buffer.from(p).toString('hex')));
    expect(splitConcatenatedMessages(Buffer.from('ff', 'hex'))).toHaveLength(1); // malformed stays whole
  });
});

describe.each(['length-delimited', 'raw'] as const)('offline-queue server (%s framing)', (framing: Framing) => {
  it('creates, logs in, pushes to an online recipient and queues for an offline one', async () => {
    const { port } = await serve('offline-queue', { framing });
    const alice = await openOq(port, framing);
    expect(await alice.ask({ opcode: 1, msg: 'alice' })).toEqual({ version: '0.1', opcode: 1, msg: 'alice' });
    expect(await alice.ask({ opcode: 1, msg: 'alice' })).toMatchObject({ opcode: 2 });
    expect(await alice.ask({ opcode: 2, msg: 'alice' })).toMatchObject({ opcode: 13, msg: 'alice' });
    const bob = await loggedInOq(port, 'bob', framing);
    expect(await alice.ask({ opcode: 3, receiver: 'bob', msg: 'hello' })).toMatchObject({ opcode: 3 });
    expect(await bob.next()).toEqual({ version: '0.1', opcode: 17, msg: 'alice:hello\n' });
    expect(await bob.ask({ opcode: 7 })).toMatchObject({ opcode: 11 });
    expect(await alice.ask({ opcode: 3, receiver: 'bob', msg: 'one' })).toMatchObject({ opcode: 3 });
    expect(await alice.ask({ opcode: 3, receiver: 'bob', msg: 'two' })).toMatchObject({ opcode: 3 });
    expect(await bob.drain(30)).toEqual([]);
    expect(await bob.ask({ opcode: 2, msg: 'bob' })).toMatchObject({ opcode: 13 });
    expect(await bob.ask({ opcode: 4 })).toEqual({ version: '0.1', opcode: 6, msg: 'alice:one\nalice:two\n' });
    expect(await bob.ask({ opcode: 4 })).toEqual({ version: '0.1', opcode: 6, msg: '' });
  });

  it('answers every "not logged in" and "no such" case with its opcode', async () => {
    const { port } = await serve('offline-queue', { framing });
    const c = await openOq(port, framing);
    expect(await c.ask({ opcode: 3, receiver: 'x', msg: 'hi' })).toMatchObject({ opcode: 4 });
    expect(await c.ask({ opcode: 4 })).toMatchObject({ opcode: 7 });
    expect(await c.ask({ opcode: 5 })).toMatchObject({ opcode: 9 });
    expect(await c.ask({ opcode: 7 })).toMatchObject({ opcode: 12 });
    expect(await c.ask({ opcode: 2, msg: 'ghost' })).toMatchObject({ opcode: 14 });
    await c.ask({ opcode: 1, msg: 'carol' });
    await c.ask({ opcode: 2, msg: 'carol' });
    expect(await c.ask({ opcode: 3, receiver: 'ghost', msg: 'hi' })).toMatchObject({ opcode: 5 });
    expect(await c.ask({ opcode: 2, msg: 'carol' })).toMatchObject({ opcode: 15 });
    await c.ask({ opcode: 1, msg: 'dave' });
    expect(await c.ask({ opcode: 2, msg: 'dave' })).toMatchObject({ opcode: 16, msg: 'dave' });
    expect(await c.ask({ opcode: 9 })).toMatchObject({ opcode: 0, msg: 'unknown opcode 9; requests are 1..7' });
    expect(await c.ask({ opcode: 4, version: '0.2' })).toMatchObject({ opcode: 0, msg: expect.stringMatching(/unsupported version "0.2"/) });
  });

  it('binds the sender to the login, not the sender field', async () => {
    const { port } = await serve('offline-queue', { framing });
    const mallory = await loggedInOq(port, 'mallory', framing);
    const bob = await loggedInOq(port, 'bob', framing);
    await mallory.ask({ opcode: 3, sender: 'alice', receiver: 'bob', msg: 'from alice, honest' });
    expect(await bob.next()).toMatchObject({ opcode: 17, msg: 'mallory:from alice, honest\n' });
  });

  it('moves a login to the new connection and tells the old one (opcode 11)', async () => {
    const { port } = await serve('offline-queue', { framing });
    const first = await loggedInOq(port, 'bob', framing);
    const second = await loggedInOq(port, 'bob', framing);
    expect(await first.next()).toMatchObject({ opcode: 11 });
    const alice = await loggedInOq(port, 'alice', framing);
    await alice.ask({ opcode: 3, receiver: 'bob', msg: 'where are you' });
    expect(await second.next()).toMatchObject({ opcode: 17, msg: 'alice:where are you\n' });
    expect(await first.ask({ opcode: 4 })).toMatchObject({ opcode: 7 }); // no longer logged in
  });

  it('delete returns the unread messages, then the account is gone', async () => {
    const { port } = await serve('offline-queue', { framing });
    const alice = await loggedInOq(port, 'alice', framing);
    const bob = await loggedInOq(port, 'bob', framing);
    await bob.ask({ opcode: 7 });
    await alice.ask({ opcode: 3, receiver: 'bob', msg: 'unread 1' });
    await alice.ask({ opcode: 3, receiver: 'bob', msg: 'unread 2' });
    await bob.ask({ opcode: 2, msg: 'bob' });
    expect(await bob.ask({ opcode: 5 })).toEqual({ version: '0.1', opcode: 8, msg: 'alice:unread 1\nalice:unread 2\n' });
    expect(await alice.ask({ opcode: 3, receiver: 'bob', msg: 'too late' })).toMatchObject({ opcode: 5 });
    expect(await bob.drain(30)).toEqual([]);
    expect(await bob.ask({ opcode: 4 })).toMatchObject({ opcode: 7 });
    expect(await alice.ask({ opcode: 6, msg: '*' })).toMatchObject({ opcode: 10, msg: 'alice\n' });
    expect(await bob.ask({ opcode: 1, msg: 'bob' })).toMatchObject({ opcode: 1 }); // the name is free again
  });

  it('lists accounts with _ and * wildcards, everything else literal', async () => {
    const { port } = await serve('offline-queue', { framing });
    const c = await openOq(port, framing);
    for (const name of ['alice', 'alike', 'bob', 'a.c', 'abc']) await c.ask({ opcode: 1, msg: name });
    expect(await c.ask({ opcode: 6, msg: 'ali_e' })).toMatchObject({ opcode: 10, msg: 'alice\nalike\n' });
    expect(await c.ask({ opcode: 6, msg: 'a*' })).toMatchObject({ opcode: 10, msg: 'a.c\nabc\nalice\nalike\n' });
    expect(await c.ask({ opcode: 6, msg: 'a.c' })).toMatchObject({ opcode: 10, msg: 'a.c\n' });
    expect(await c.ask({ opcode: 6, msg: '' })).toMatchObject({ opcode: 10, msg: 'a.c\nabc\nalice\nalike\nbob\n' });
    expect(await c.ask({ opcode: 6, msg: 'zz*' })).toEqual({ version: '0.1', opcode: 10, msg: '' });
    expect(await c.ask({ opcode: 6, msg: '*'.repeat(65) })).toMatchObject({ opcode: 18, msg: 'pattern longer than maxPatternChars=64' });
  });

  it('refuses oversize names and messages and invalid names, naming the limit', async () => {
    const { port } = await serve('offline-queue', { framing });
    const c = await openOq(port, framing);
    expect(await c.ask({ opcode: 1, msg: 'x'.repeat(26) })).toMatchObject({ opcode: 0, msg: 'account name longer than maxNameChars=25' });
    expect(await c.ask({ opcode: 1, msg: 'a:b' })).toMatchObject({ opcode: 0, msg: expect.stringMatching(/cannot contain ":"/) });
    expect(await c.ask({ opcode: 1, msg: '' })).toMatchObject({ opcode: 0 });
    await c.ask({ opcode: 1, msg: 'x'.repeat(25) });
    await c.ask({ opcode: 2, msg: 'x'.repeat(25) });
    expect(await c.ask({ opcode: 3, receiver: 'x'.repeat(25), msg: 'm'.repeat(101) })).toMatchObject({ opcode: 0, msg: 'message longer than maxMessageChars=100' });
    // to oneself: the push comes first, then the reply
    expect(await c.ask({ opcode: 3, receiver: 'x'.repeat(25), msg: 'm'.repeat(100) })).toMatchObject({ opcode: 17, msg: `${'x'.repeat(25)}:${'m'.repeat(100)}\n` });
    expect(await c.next()).toMatchObject({ opcode: 3 });
  });

  it('answers garbage with opcode 0 and keeps serving this and other clients', async () => {
    const { port } = await serve('offline-queue', { framing });
    const bob = await loggedInOq(port, 'bob', framing);
    const c = await openOq(port, framing);
    c.write(framing === 'raw' ? Buffer.from('ffffffff', 'hex') : Buffer.from('04ffffffff', 'hex'));
    expect(await c.next()).toMatchObject({ opcode: 0, msg: expect.stringMatching(/^bad request/) });
    await c.ask({ opcode: 1, msg: 'carol' });
    expect(await c.ask({ opcode: 2, msg: 'carol' })).toMatchObject({ opcode: 13 });
    await c.ask({ opcode: 3, receiver: 'bob', msg: 'still fine' });
    expect(await bob.next()).toMatchObject({ opcode: 17, msg: 'carol:still fine\n' });
  });

  it('handles requests written back to back in one write', async () => {
    const { port } = await serve('offline-queue', { framing });
    const c = await openOq(port, framing);
    const wire = (m: Parameters<typeof encodeClient2Server>[0]) => (framing === 'raw' ? Buffer.from(encodeClient2Server(m)) : delimit(encodeClient2Server(m)));
    c.write(Buffer.concat([wire({ opcode: 1, msg: 'alice' }), wire({ opcode: 2, msg: 'alice' }), wire({ opcode: 4 })]));
    expect((await c.next()).opcode).toBe(1);
    expect((await c.next()).opcode).toBe(13);
    expect((await c.next()).opcode).toBe(6);
  });
});

describe('offline-queue delivery guarantees', () => {
  it('keeps per-sender order across pushes and queue, with nothing lost or doubled', async () => {
    const { port } = await serve('offline-queue');
    const alice = await loggedInOq(port, 'alice');
    const bob = await loggedInOq(port, 'bob');
    const received: string[] = [];
    await bob.ask({ opcode: 7 });
    for (let i = 0; i < 20; i++) expect((await alice.ask({ opcode: 3, receiver: 'bob', msg: `m${i}` })).opcode).toBe(3);
    await bob.ask({ opcode: 2, msg: 'bob' });
    // bob is online but alice's older messages wait in the queue: new ones queue behind them
    for (let i = 20; i < 30; i++) expect((await alice.ask({ opcode: 3, receiver: 'bob', msg: `m${i}` })).opcode).toBe(3);
    received.push(...(await bob.ask({ opcode: 4 })).msg.split('\n').filter(Boolean));
    for (let i = 30; i < 40; i++) expect((await alice.ask({ opcode: 3, receiver: 'bob', msg: `m${i}` })).opcode).toBe(3);
    for (let i = 30; i < 40; i++) received.push((await bob.next()).msg.trimEnd());
    expect(received).toEqual(Array.from({ length: 40 }, (_, i) => `alice:m${i}`));
  });

  it('queues a message pushed to a recipient whose connection silently died', async () => {
    // The clock stands still: bob comes back well within deliveryConfirmMs.
    const server = await serve('offline-queue', { deliveryConfirmMs: 2000, clock: new ManualClock() });
    const proxy = await startBlackholeProxy(server.port);
    try {
      const bobViaProxy = await loggedInOq(proxy.port, 'bob');
      const alice = await loggedInOq(server.port, 'alice');
      proxy.blackhole(); // bob's host vanishes: no FIN, no RST; the server's writes still succeed
      const pushed = pushFlushed(server);
      expect(await alice.ask({ opcode: 3, receiver: 'bob', msg: 'into the void?' })).toMatchObject({ opcode: 3 });
      await pushed;
      const bob = await loggedInOq(server.port, 'bob'); // bob comes back from elsewhere
      expect(await bob.ask({ opcode: 4 })).toMatchObject({ opcode: 6, msg: 'alice:into the void?\n' });
      expect(bobViaProxy.closed).toBe(false);
    } finally {
      await proxy.close();
    }
  });

  it('confirms a push once the recipient talks again, so a later takeover does not repeat it', async () => {
    const { port } = await serve('offline-queue', { deliveryConfirmMs: 60_000 });
    const alice = await loggedInOq(port, 'alice');
    const bob = await loggedInOq(port, 'bob');
    await alice.ask({ opcode: 3, receiver: 'bob', msg: 'seen' });
    expect(await bob.next()).toMatchObject({ opcode: 17 });
    expect(await bob.ask({ opcode: 6, msg: 'b*' })).toMatchObject({ opcode: 10 }); // bob speaks: confirmed
    const bob2 = await loggedInOq(port, 'bob');
    expect(await bob2.ask({ opcode: 4 })).toEqual({ version: '0.1', opcode: 6, msg: '' });
  });

  it('queues messages for a recipient whose connection was reset', async () => {
    const server = await serve('offline-queue');
    const { port } = server;
    const alice = await loggedInOq(port, 'alice');
    const bob = await loggedInOq(port, 'bob');
    const gone = closedOnServer(server, bob);
    bob.reset();
    await gone;
    await alice.ask({ opcode: 3, receiver: 'bob', msg: 'after reset' });
    const bob2 = await loggedInOq(port, 'bob');
    expect(await bob2.ask({ opcode: 4 })).toMatchObject({ msg: 'alice:after reset\n' });
  });

  it('closes a connection with a frame over maxFrameBytes after an error reply', async () => {
    const { port } = await serve('offline-queue');
    const c = await openOq(port);
    c.write(Buffer.from('8010', 'hex')); // varint 2048
    expect(await c.next()).toMatchObject({ opcode: 0, msg: 'frame of 2048 bytes exceeds maxFrameBytes=1024' });
    expect(await c.waitClosed()).toBe(true);
  });

  it('answers a hostile pattern at once', async () => {
    const { port } = await serve('offline-queue');
    const c = await openOq(port);
    for (let i = 0; i < 50; i++) await c.ask({ opcode: 1, msg: 'a'.repeat(20) + String(i).padStart(5, '0') });
    const started = Date.now();
    expect(await c.ask({ opcode: 6, msg: '*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b' })).toEqual({ version: '0.1', opcode: 10, msg: '' });
    expect(Date.now() - started).toBeLessThan(1000);
  });
});

describe('offline-queue defects', () => {
  it('defect drop-offline-queue: messages to an offline recipient are acknowledged, then missing', async () => {
    const { port } = await serve('offline-queue', { defect: 'drop-offline-queue' });
    const alice = await loggedInOq(port, 'alice');
    const c = await openOq(port);
    await c.ask({ opcode: 1, msg: 'bob' });
    expect(await alice.ask({ opcode: 3, receiver: 'bob', msg: 'lost' })).toMatchObject({ opcode: 3 });
    await c.ask({ opcode: 2, msg: 'bob' });
    expect(await c.ask({ opcode: 4 })).toMatchObject({ opcode: 6, msg: '' });
  });

  it('defect reorder-queue: check returns the newest first', async () => {
    const { port } = await serve('offline-queue', { defect: 'reorder-queue' });
    const alice = await loggedInOq(port, 'alice');
    const c = await openOq(port);
    await c.ask({ opcode: 1, msg: 'bob' });
    await alice.ask({ opcode: 3, receiver: 'bob', msg: '1' });
    await alice.ask({ opcode: 3, receiver: 'bob', msg: '2' });
    await c.ask({ opcode: 2, msg: 'bob' });
    expect(await c.ask({ opcode: 4 })).toMatchObject({ msg: 'alice:2\nalice:1\n' });
  });

  it('defect trust-sender-field: the sender field names the author', async () => {
    const { port } = await serve('offline-queue', { defect: 'trust-sender-field' });
    const mallory = await loggedInOq(port, 'mallory');
    const bob = await loggedInOq(port, 'bob');
    await mallory.ask({ opcode: 3, sender: 'alice', receiver: 'bob', msg: 'trust me' });
    expect(await bob.next()).toMatchObject({ msg: 'alice:trust me\n' });
  });

  it('defect lose-back-to-back: only the first of several requests in one read is handled', async () => {
    const { port } = await serve('offline-queue', { defect: 'lose-back-to-back' });
    const c = await openOq(port);
    const wire = (m: Parameters<typeof encodeClient2Server>[0]) => delimit(encodeClient2Server(m));
    c.write(Buffer.concat([wire({ opcode: 1, msg: 'alice' }), wire({ opcode: 2, msg: 'alice' })]));
    expect((await c.next()).opcode).toBe(1);
    // the login was never served: the reply to the next request (a list) is the first thing read
    expect(await c.ask({ opcode: 6, msg: 'nobody*' })).toMatchObject({ opcode: 10 });
  });

  it('defect deliver-to-deleted: a deleted account that was online still receives', async () => {
    const { port } = await serve('offline-queue', { defect: 'deliver-to-deleted' });
    const alice = await loggedInOq(port, 'alice');
    const bob = await loggedInOq(port, 'bob');
    expect(await bob.ask({ opcode: 5 })).toMatchObject({ opcode: 8 });
    expect(await alice.ask({ opcode: 3, receiver: 'bob', msg: 'ghost mail' })).toMatchObject({ opcode: 3 });
    expect(await bob.next()).toMatchObject({ opcode: 17, msg: 'alice:ghost mail\n' });
  });

  it('defect regex-pattern: the pattern runs as a regular expression', async () => {
    const { port } = await serve('offline-queue', { defect: 'regex-pattern' });
    const c = await openOq(port);
    for (const name of ['alice', 'abc']) await c.ask({ opcode: 1, msg: name });
    expect(await c.ask({ opcode: 6, msg: 'a.c' })).toMatchObject({ opcode: 10, msg: 'abc\n' });
    expect(await c.ask({ opcode: 6, msg: '(' })).toMatchObject({ opcode: 18 });
  });

  it('defect drop-on-dead-connection: a push to a silently dead connection is lost', async () => {
    const server = await serve('offline-queue', { defect: 'drop-on-dead-connection' });
    const proxy = await startBlackholeProxy(server.port);
    try {
      await loggedInOq(proxy.port, 'bob');
      const alice = await loggedInOq(server.port, 'alice');
      proxy.blackhole();
      const pushed = pushFlushed(server);
      await alice.ask({ opcode: 3, receiver: 'bob', msg: 'into the void?' });
      await pushed;
      const bob = await loggedInOq(server.port, 'bob');
      expect(await bob.ask({ opcode: 4 })).toEqual({ version: '0.1', opcode: 6, msg: '' });
    } finally {
      await proxy.close();
    }
  });
});
