/**
 * The QUIC message proxy (src/conformance/proxy/quic-proxy.ts): a terminating proxy that sees the
 * messages of every stream in the clear, between a QUIC client and a QUIC echo server that records
 * every read of every stream. Each operation is checked by what the server read and what the
 * client got: drop, duplicate, merge (two messages of two streams in one stream write), split (one
 * message across writes, either direction), hold and release in another order, a stream reset, a
 * connection reset, an orderly close passed on, and the decisions of a seeded policy replayed.
 * Every connection, proxy and server is closed at the end.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QuicFaultProxy, linkResetCode } from '../../src/conformance/proxy/quic-proxy.js';
import { replayChoices, seededChoices } from '../../src/conformance/proxy/proxy-choices.js';
import { connectQuic, JsonObjectSplitter, listenQuic, type QuicClosed, type QuicListener, type QuicPeer, type QuicStreamHandle } from '../../src/transports/quic-transport.js';

/** One read of the echo server: which connection and stream, and the text. */
interface Read {
  peer: string;
  stream: number;
  text: string;
}

let server: QuicListener;
const reads: Read[] = [];
const serverCloses: QuicClosed[] = [];
const proxies: QuicFaultProxy[] = [];
const clients: QuicPeer[] = [];

/** Echoes every JSON object on the stream it came on, and finishes a stream when the client does. */
beforeAll(async () => {
  server = await listenQuic({ rawStreams: true }, (peer) => {
    const splitters = new Map<QuicStreamHandle, JsonObjectSplitter>();
    peer.onEvent = (event) => {
      if (event.kind === 'data') {
        reads.push({ peer: peer.id, stream: event.stream.streamId, text: Buffer.from(event.bytes).toString('utf8') });
        if (!splitters.has(event.stream)) splitters.set(event.stream, new JsonObjectSplitter(65536));
        for (const piece of splitters.get(event.stream)!.push(event.bytes)) if (piece.kind === 'message') void event.stream.write(piece.text).catch(() => undefined);
      } else if (event.kind === 'stream-end') void event.stream.finish();
      else if (event.kind === 'closed') serverCloses.push(event);
    };
  });
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await Promise.all(proxies.map((p) => p.close()));
  await server.close();
  expect(server.connectionCount()).toBe(0);
});

async function through(options: Partial<Parameters<typeof QuicFaultProxy.start>[0]> = {}): Promise<{ proxy: QuicFaultProxy; client: QuicPeer; got: Read[]; events: string[] }> {
  const proxy = await QuicFaultProxy.start({ targetHost: '127.0.0.1', targetPort: server.port, ...options });
  proxies.push(proxy);
  const client = await connectQuic('127.0.0.1', proxy.port, { rawStreams: true });
  clients.push(client);
  const got: Read[] = [];
  const events: string[] = [];
  client.onEvent = (event) => {
    if (event.kind === 'data') got.push({ peer: 'client', stream: event.stream.streamId, text: Buffer.from(event.bytes).toString('utf8') });
    else events.push(event.kind === 'closed' ? `closed ${event.code}` : `${event.kind} ${event.stream.streamId}`);
  };
  return { proxy, client, got, events };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const msg = (tag: string): string => JSON.stringify({ mtype: 3, payload: { message: tag } });
/** The server's reads that carry `tag`. */
const readsOf = (tag: string): Read[] => reads.filter((r) => r.text.includes(`"${tag}"`));
const textOf = (rs: readonly Read[]): string => rs.map((r) => r.text).join('');

async function until(what: string, check: () => boolean, withinMs = 3000): Promise<void> {
  const started = performance.now();
  while (!check()) {
    if (performance.now() - started > withinMs) throw new Error(`not within ${withinMs} ms: ${what}`);
    await sleep(10);
  }
}

describe.concurrent('the QUIC message proxy', () => {
  it('passes messages through on paired streams, and the stream ends both ways', async ({ expect }) => {
    const { client, got, events } = await through();
    const s = await client.send(msg('plain-1'));
    await until('the echo', () => textOf(got).includes('plain-1'));
    expect(got.every((g) => g.stream === s.streamId)).toBe(true);
    await until('the stream end', () => events.includes(`stream-end ${s.streamId}`));
    expect(readsOf('plain-1')).toHaveLength(1);
  });

  it('drop: the next message never reaches the server (its stream is never opened there); the one after does', async ({ expect }) => {
    const { proxy, client, got } = await through();
    proxy.drop('to-target', 1);
    await client.send(msg('drop-a'));
    await client.send(msg('drop-b'));
    await until('the second echo', () => textOf(got).includes('drop-b'));
    await sleep(100);
    expect(readsOf('drop-a')).toEqual([]);
    expect(textOf(got)).not.toContain('drop-a');
  });

  it('duplicate: the server reads the message twice', async ({ expect }) => {
    const { proxy, client, got } = await through();
    proxy.duplicate('to-target', { count: 1 });
    await client.send(msg('dup-a'));
    await until('two echoes', () => textOf(got).split('dup-a').length - 1 === 2);
    expect(textOf(readsOf('dup-a')).split('dup-a').length - 1).toBe(2);
  });

  it('merge: two messages sent on two streams reach the server in one write on one stream', async ({ expect }) => {
    const { proxy, client, got } = await through();
    proxy.merge('to-target', { messages: 2, count: 1 });
    await client.send(msg('merge-a'));
    await client.send(msg('merge-b'));
    await until('both echoes', () => textOf(got).includes('merge-a') && textOf(got).includes('merge-b'));
    const one = readsOf('merge-a');
    expect(one).toHaveLength(1);
    expect(one[0]!.text).toBe(msg('merge-a') + msg('merge-b'));
    // both replies come back on the stream of the first
    expect(new Set(got.filter((g) => g.text.includes('merge-')).map((g) => g.stream)).size).toBe(1);
  });

  it('split: one message reaches the server in 3 writes, and a reply reaches the client in 2', async ({ expect }) => {
    const { proxy, client, got } = await through();
    proxy.split('to-target', { parts: 3, count: 1, gapMs: 40 });
    proxy.split('from-target', { parts: 2, count: 1, gapMs: 40 });
    await client.send(msg('split-a'));
    await until('the echo', () => textOf(got) === msg('split-a'));
    const full = msg('split-a');
    const parts = reads.filter((r) => r.text !== full && full.includes(r.text));
    expect(parts).toHaveLength(3);
    expect(textOf(parts)).toBe(full);
    expect(got).toHaveLength(2);
  });

  it('hold and release in another order: the later message reaches the server first', async ({ expect }) => {
    const { proxy, client, got } = await through();
    proxy.hold('to-target', { count: 2 });
    await client.send(msg('hold-1'));
    await client.send(msg('hold-2'));
    const held = await proxy.whenHeld(2, 3000, { direction: 'to-target' });
    expect(held.map((h) => h.index)).toEqual([0, 1]);
    await sleep(100);
    expect(readsOf('hold-1')).toEqual([]);
    proxy.release({ direction: 'to-target', order: [1, 0] });
    await until('both echoes', () => textOf(got).includes('hold-1') && textOf(got).includes('hold-2'));
    const order = reads.filter((r) => r.text.includes('hold-')).map((r) => (r.text.includes('hold-2') ? 2 : 1));
    expect(order).toEqual([2, 1]);
  });

  it('resetStreams: the stream of the next message is reset at the client, and the server never sees it', async ({ expect }) => {
    const { proxy, client, got, events } = await through();
    proxy.resetStreams('to-target', 1);
    const s = await client.send(msg('reset-a'), { finish: false });
    await until('the reset', () => events.some((e) => e.startsWith('stream-reset') && e.endsWith(` ${s.streamId}`)));
    await client.send(msg('reset-b'));
    await until('the next echo', () => textOf(got).includes('reset-b'));
    expect(readsOf('reset-a')).toEqual([]);
  });

  it('resetAll closes both connections with linkResetCode; an orderly close is passed on with code 0', async ({ expect }) => {
    const a = await through();
    await a.client.send(msg('close-a'));
    await until('the echo', () => textOf(a.got).includes('close-a'));
    const before = serverCloses.length;
    a.proxy.resetAll();
    const closed = await a.client.closed();
    expect(closed.code).toBe(linkResetCode);
    await until('the server sees a close', () => serverCloses.length > before);
    const b = await through();
    await b.client.send(msg('close-b'));
    await until('the echo', () => textOf(b.got).includes('close-b'));
    const count = serverCloses.length;
    await b.client.close({ code: 0, reason: 'bye' });
    await until('the server sees the orderly close', () => serverCloses.slice(count).some((c) => c.how === 'peer' && c.code === 0 && c.reason.includes('bye')));
  });

  it('a seeded loss policy records its decisions, and replaying them loses the same messages', async ({ expect }) => {
    const run = async (choices: Parameters<typeof QuicFaultProxy.start>[0]['choices']): Promise<{ lost: number[]; proxy: QuicFaultProxy }> => {
      const { proxy, client, got } = await through({ choices, policy: { 'to-target': { lossRatio: 0.5 } } });
      const lost: number[] = [];
      proxy.observe((e) => void (e.kind === 'dropped' && lost.push(e.index)));
      const tag = `pol-${Math.random().toString(36).slice(2, 7)}`;
      for (let i = 0; i < 8; i++) {
        await client.send(msg(`${tag}-${i}`));
        await sleep(20);
      }
      await until('every message decided', () => proxy.decisions.length === 8);
      await until('the echoes of the kept', () => textOf(got).split(tag).length - 1 === 8 - lost.length);
      return { lost, proxy };
    };
    const first = await run(seededChoices(7));
    expect(first.lost.length).toBeGreaterThan(0);
    expect(first.lost.length).toBeLessThan(8);
    const again = await run(replayChoices(first.proxy.decisions));
    expect(again.lost).toEqual(first.lost);
  });
});
