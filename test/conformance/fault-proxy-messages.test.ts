/**
 * The fault proxy's message operations, each in both directions, between a client and a
 * recording echo server on loopback. The receiving end of a direction is the server for
 * `to-target` and the client for `from-target`; its reads show what the operation did.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ProxyReleaseError, type FaultProxy, type ProxyDirection } from '../../src/conformance/fault-proxy.js';
import { client, lineProxy, recordingServer, runCleanups, sendLines, sleep, until, type Client, type Reads, type RecordingServer } from './proxy-fixture.js';

afterEach(runCleanups);

interface Setup {
  proxy: FaultProxy;
  server: RecordingServer;
  c: Client;
  /** the reads of the end that receives `direction` */
  receiver(): Reads;
}

async function setup(direction: ProxyDirection): Promise<Setup> {
  const server = await recordingServer();
  const proxy = await lineProxy(server);
  const c = await client(proxy);
  await until(() => server.connections.length === 1, 1000, 'the server accepts');
  return { proxy, server, c, receiver: () => (direction === 'to-target' ? server.connections[0]! : c) };
}

/** Waits for `text` at the receiver, then a little more to see that nothing else comes. */
async function expectReceived(s: Setup, text: string): Promise<void> {
  await until(() => s.receiver().text().length >= text.length, 2000, `receiving ${JSON.stringify(text)}`);
  await sleep(60);
  expect(s.receiver().text()).toBe(text);
}

describe.each(['to-target', 'from-target'] as const)('fault proxy message operations, %s', (direction) => {
  it('hold keeps the next N messages until release, which delivers them oldest first', async () => {
    const s = await setup(direction);
    s.proxy.hold(direction, { count: 2 });
    await sendLines(s.c.socket, ['a', 'b', 'c']);
    await expectReceived(s, 'c\n');
    expect(s.proxy.held().map((h) => [h.direction, h.index])).toEqual([
      [direction, 0],
      [direction, 1],
    ]);
    expect(s.proxy.release().map((r) => r.index)).toEqual([0, 1]);
    await expectReceived(s, 'c\na\nb\n');
    expect(s.proxy.held()).toEqual([]);
  });

  it('release takes an explicit order of held message indices; hold lasts until cleared', async () => {
    const s = await setup(direction);
    s.proxy.hold(direction);
    await sendLines(s.c.socket, ['a', 'b', 'c']);
    await s.proxy.whenHeld(3, 2000, { direction });
    s.proxy.release({ direction, order: [2, 0] });
    await expectReceived(s, 'c\na\n');
    expect(() => s.proxy.release({ direction, order: [7] })).toThrow(ProxyReleaseError);
    s.proxy.release(1);
    await expectReceived(s, 'c\na\nb\n');
    s.proxy.clearMessageOps(direction);
    await sendLines(s.c.socket, ['d']);
    await expectReceived(s, 'c\na\nb\nd\n');
  });

  it('delay writes the next message later, and only the next', async () => {
    const s = await setup(direction);
    s.proxy.delay(direction, 250, { count: 1 });
    s.c.socket.write('a\n');
    expect(await until(() => s.receiver().text() === 'a\n', 2000)).toBeGreaterThanOrEqual(230);
    s.c.socket.write('b\n');
    expect(await until(() => s.receiver().text() === 'a\nb\n', 2000)).toBeLessThan(150);
  });

  it('duplicate delivers the next message twice', async () => {
    const s = await setup(direction);
    s.proxy.duplicate(direction, { count: 1 });
    await sendLines(s.c.socket, ['a', 'b']);
    await expectReceived(s, 'a\na\nb\n');
  });

  it('split writes one message as parts, so the peer reads parts; the next is whole', async () => {
    const s = await setup(direction);
    s.proxy.split(direction, { count: 1, parts: 3, gapMs: 80 });
    await sendLines(s.c.socket, ['abcdefghi', 'next'], 250);
    await expectReceived(s, 'abcdefghi\nnext\n');
    expect(s.receiver().chunks).toEqual(['abc', 'def', 'ghi\n', 'next\n']);
  });

  it('merge writes the next k messages in one write, so the peer reads them at once', async () => {
    const s = await setup(direction);
    s.proxy.merge(direction, { count: 1, messages: 3 });
    await sendLines(s.c.socket, ['a', 'b', 'c', 'd'], 60);
    await expectReceived(s, 'a\nb\nc\nd\n');
    expect(s.receiver().chunks).toEqual(['a\nb\nc\n', 'd\n']);
  });

  it('drop removes the next message', async () => {
    const s = await setup(direction);
    s.proxy.drop(direction, 1);
    expect(s.proxy.pendingDrops(direction)).toBe(1);
    await sendLines(s.c.socket, ['a', 'b']);
    await expectReceived(s, 'b\n');
    expect(s.proxy.pendingDrops(direction)).toBe(0);
  });

  it('reorder lets the message after it pass first', async () => {
    const s = await setup(direction);
    s.proxy.reorder(direction, { count: 1 });
    await sendLines(s.c.socket, ['a', 'b', 'c']);
    await expectReceived(s, 'b\na\nc\n');
  });

  it('an operation on the other direction leaves this one whole', async () => {
    const s = await setup(direction);
    const other: ProxyDirection = direction === 'to-target' ? 'from-target' : 'to-target';
    s.proxy.split(other, { parts: 3, gapMs: 60 });
    await sendLines(s.c.socket, ['abcdef', 'ghijkl'], 300);
    await expectReceived(s, 'abcdef\nghijkl\n');
    await until(() => s.c.text() === 'abcdef\nghijkl\n', 2000);
    const otherReceiver = direction === 'to-target' ? s.c : s.server.connections[0]!;
    expect(s.receiver().chunks).toEqual(['abcdef\n', 'ghijkl\n']);
    expect(otherReceiver.chunks).toEqual(['ab', 'cd', 'ef\n', 'gh', 'ij', 'kl\n']);
  });
});

describe('fault proxy release across connections', () => {
  it('an index held on two connections must be named with its connection', async () => {
    const server = await recordingServer();
    const proxy = await lineProxy(server);
    proxy.hold('to-target');
    const [a, b] = [await client(proxy), await client(proxy)];
    a.socket.write('a\n');
    b.socket.write('b\n');
    await proxy.whenHeld(2, 2000);
    expect(() => proxy.release({ order: [0] })).toThrow(/held on 2 streams/);
    proxy.release({ connection: 1, order: [0] });
    await until(() => server.arrivals.length === 1, 1000);
    expect(server.arrivals.map((x) => x.text)).toEqual(['b\n']);
    proxy.release({ order: [{ connection: 0, direction: 'to-target', index: 0 }] });
    await until(() => server.arrivals.length === 2, 1000);
    expect(server.arrivals.map((x) => x.text)).toEqual(['b\n', 'a\n']);
  });

  it('whenHeld fails with its limit when not enough messages come', async () => {
    const proxy = await lineProxy(await recordingServer());
    await expect(proxy.whenHeld(1, 50)).rejects.toThrow(/0 of 1 messages held within timeoutMs=50/);
  });
});
