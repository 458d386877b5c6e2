/**
 * The QUIC transport on its own (protosim on both sides): the JSON-object framing, certificate
 * verification, stream resets, idle timeout, limits, and stream counts over a long run.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { connectQuic, JsonObjectSplitter, listenQuic, QuicStreamLimitError, type QuicListener, type QuicPeer } from '../../src/transports/quic-transport.js';

describe('JsonObjectSplitter', () => {
  it('gives whole objects: one per push, several per push, one across pushes, braces inside strings', () => {
    const s = new JsonObjectSplitter(1024);
    expect(s.push(Buffer.from('{"a":1}'))).toEqual([{ kind: 'message', text: '{"a":1}' }]);
    expect(s.push(Buffer.from('{"a":2}{"b":[3,{"c":"}{"}]}'))).toEqual([
      { kind: 'message', text: '{"a":2}' },
      { kind: 'message', text: '{"b":[3,{"c":"}{"}]}' },
    ]);
    expect(s.push(Buffer.from('{"m":"a \\"quoted\\" {'))).toEqual([]);
    expect(s.hasPartial()).toBe(true);
    expect(s.push(Buffer.from('x"} \n{"n":1}'))).toEqual([
      { kind: 'message', text: '{"m":"a \\"quoted\\" {x"}' },
      { kind: 'message', text: '{"n":1}' },
    ]);
    expect(s.hasPartial()).toBe(false);
  });

  it('splits inside a multi-byte character without harm, and names its limits', () => {
    const s = new JsonObjectSplitter(16);
    const bytes = Buffer.from('{"é":"ü"}');
    expect([...s.push(bytes.subarray(0, 3)), ...s.push(bytes.subarray(3))]).toEqual([{ kind: 'message', text: '{"é":"ü"}' }]);
    expect(s.push(Buffer.from('hello'))[0]).toMatchObject({ kind: 'invalid', reason: expect.stringMatching(/outside a JSON object/) });
    expect(s.push(Buffer.from('{"long":"aaaaaaaaaaaaaaaa"}'))[0]).toMatchObject({ kind: 'invalid', reason: expect.stringMatching(/maxMessageBytes=16/) });
  });
});

describe('QUIC transport, protosim on both sides', () => {
  const listeners: QuicListener[] = [];
  const peers: QuicPeer[] = [];
  afterAll(async () => {
    await Promise.all(peers.map((p) => p.close()));
    await Promise.all(listeners.map((l) => l.close()));
  });

  /** An echo server: answers every message on its stream; finishes streams the client finished unless told not to. */
  async function echo(options: { finishStreams?: boolean; idleTimeoutMs?: number } = {}): Promise<{ listener: QuicListener; server: QuicPeer[] }> {
    const server: QuicPeer[] = [];
    const listener = await listenQuic({ limits: { idleTimeoutMs: options.idleTimeoutMs ?? 10_000 } }, (peer) => {
      server.push(peer);
      peer.onEvent = (event) => {
        if (event.kind === 'message') void event.stream.write(event.text).catch(() => undefined);
        if (event.kind === 'stream-end' && options.finishStreams !== false) void event.stream.finish();
      };
    });
    listeners.push(listener);
    return { listener, server };
  }

  async function client(port: number, options: Parameters<typeof connectQuic>[2] = {}): Promise<QuicPeer> {
    const peer = await connectQuic('127.0.0.1', port, options);
    peers.push(peer);
    return peer;
  }

  it('verifies the self-signed certificate when given it as the CA, and refuses it otherwise when verifying', async () => {
    const { listener } = await echo();
    const trusted = await client(listener.port, { ca: listener.certificate.cert });
    await trusted.send('{"x":1}');
    expect(await trusted.next(2000)).toMatchObject({ kind: 'message', value: { x: 1 } });
    await expect(connectQuic('127.0.0.1', listener.port, { verify: true, connectTimeoutMs: 1000 })).rejects.toThrow(/no QUIC connection/);
  });

  it('a stream the peer resets is seen with its code; the connection goes on', async () => {
    const seen: unknown[] = [];
    const listener = await listenQuic({}, (peer) => {
      peer.onEvent = (event) => {
        if (event.kind === 'stream-reset') seen.push({ code: event.code, direction: event.direction });
        if (event.kind === 'message') void event.stream.write(event.text);
      };
    });
    listeners.push(listener);
    const c = await client(listener.port);
    const s = c.openStream();
    await s.write('{"half":');
    s.reset(42);
    await expect.poll(() => seen, { timeout: 2000 }).toContainEqual({ code: 42, direction: 'read' });
    await c.send('{"after":true}');
    expect(await c.next(2000)).toMatchObject({ kind: 'message', value: { after: true } });
  });

  it('an idle connection times out on both sides within the named bound', async () => {
    const { listener, server } = await echo({ idleTimeoutMs: 500 });
    const c = await client(listener.port, { limits: { idleTimeoutMs: 500 } });
    await c.send('{"x":1}');
    await c.next(2000);
    const closed = await c.closed();
    expect(closed).toMatchObject({ how: 'idle-timeout', reason: expect.stringMatching(/idleTimeoutMs=500/) });
    await expect.poll(() => server[0]!.isOpen(), { timeout: 2000 }).toBe(false);
  });

  it('counts streams: 150 exchanges leave none open when both sides finish; a server that never finishes runs out of streams at 100', async () => {
    const exchange = async (c: QuicPeer, i: number): Promise<void> => {
      await c.send(JSON.stringify({ i }));
      let event = await c.next(2000);
      while (event.kind === 'stream-end') event = await c.next(2000);
      expect(event).toMatchObject({ kind: 'message', value: { i } });
    };
    const tidy = await echo();
    const c = await client(tidy.listener.port);
    for (let i = 0; i < 150; i++) await exchange(c, i);
    await expect.poll(() => tidy.listener.streamCounts(), { timeout: 2000 }).toEqual({ open: 0, opened: 150 });

    // The seed's streams are never finished; the peer's stream credit (100 by default) runs out.
    const leaky = await echo({ finishStreams: false });
    const d = await client(leaky.listener.port);
    for (let i = 0; i < 100; i++) await exchange(d, i);
    expect(leaky.listener.streamCounts()).toEqual({ open: 100, opened: 100 });
    await expect(d.send('{"i":100}')).rejects.toThrow(QuicStreamLimitError);
  });

  it('a client peer closing shows as closed by the peer with its code on the server', async () => {
    const { listener, server } = await echo();
    const c = await client(listener.port);
    await c.send('{"x":1}');
    await c.next(2000);
    await c.close({ code: 9, reason: 'bye' });
    expect(await server[0]!.closed()).toMatchObject({ how: 'peer', code: 9, isApp: true, reason: expect.stringMatching(/bye/) });
    expect(await c.closed()).toMatchObject({ how: 'local' });
  });
});
