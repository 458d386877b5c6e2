/**
 * The fault proxy on its own, between a test client and an echo server on loopback: each fault
 * does what it says, measured.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { FaultProxy } from '../../src/conformance/fault-proxy.js';
import { liveCodecFor } from '../../src/conformance/live-codec.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function echoServer(): Promise<Server> {
  const server = createServer((s) => {
    s.on('error', () => undefined);
    s.pipe(s);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return server;
}

async function proxyTo(server: Server, lines = false): Promise<FaultProxy> {
  const codec = liveCodecFor('ping-liveness', 'json-lines', 'length-delimited')!;
  const proxy = await FaultProxy.start({
    targetHost: '127.0.0.1',
    targetPort: (server.address() as { port: number }).port,
    splitter: lines ? (d) => codec.splitter(d, 1024 * 1024) : undefined,
    random: () => 0.5,
  });
  cleanups.push(() => proxy.close());
  return proxy;
}

interface Client {
  socket: Socket;
  received(): string;
  closed: Promise<'end' | 'reset'>;
}

async function client(proxy: FaultProxy): Promise<Client> {
  const socket = connect({ host: proxy.host, port: proxy.port });
  let text = '';
  socket.on('data', (d) => (text += d.toString()));
  const closed = new Promise<'end' | 'reset'>((resolve) => {
    socket.on('error', () => resolve('reset'));
    socket.on('close', (hadError) => resolve(hadError ? 'reset' : 'end'));
  });
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  cleanups.push(() => void socket.destroy());
  return { socket, received: () => text, closed };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(predicate: () => boolean, withinMs: number): Promise<number> {
  const started = performance.now();
  while (!predicate()) {
    if (performance.now() - started > withinMs) throw new Error(`not within ${withinMs} ms`);
    await sleep(2);
  }
  return performance.now() - started;
}

describe('fault proxy', () => {
  it('forwards both ways untouched without faults', async () => {
    const c = await client(await proxyTo(await echoServer()));
    c.socket.write('hello\n');
    await until(() => c.received() === 'hello\n', 1000);
  });

  it('latency and jitter delay every chunk each way (a round trip pays them twice)', async () => {
    const proxy = await proxyTo(await echoServer());
    proxy.set({ latencyMs: 60, jitterMs: 40 }); // random() = 0.5: +20 ms each way
    const c = await client(proxy);
    c.socket.write('x');
    const ms = await until(() => c.received() === 'x', 2000);
    expect(ms).toBeGreaterThanOrEqual(150);
  });

  it('bandwidth paces the bytes', async () => {
    const proxy = await proxyTo(await echoServer());
    proxy.set({ bytesPerSecond: 20_000 });
    const c = await client(proxy);
    const started = performance.now();
    for (let i = 0; i < 10; i++) c.socket.write('y'.repeat(500));
    await until(() => c.received().length === 5000, 3000);
    expect(performance.now() - started).toBeGreaterThanOrEqual(200);
  });

  it('partition holds the bytes and heal delivers them; timeout drops them for good', async () => {
    const proxy = await proxyTo(await echoServer());
    const c = await client(proxy);
    proxy.set({ partitioned: true });
    c.socket.write('held\n');
    await sleep(150); // nothing must arrive while partitioned: a quiet window, not a wait for something
    expect(c.received()).toBe('');
    proxy.heal();
    await until(() => c.received() === 'held\n', 1000);
    proxy.set({ blackhole: true });
    c.socket.write('gone\n');
    await sleep(150); // quiet windows: the dropped bytes must not come back, before or after clear()
    proxy.clear();
    await sleep(100);
    expect(c.received()).toBe('held\n');
  });

  it('cut after N bytes forwards exactly N, then resets the connection', async () => {
    const proxy = await proxyTo(await echoServer());
    const c = await client(proxy);
    proxy.cutAfter('from-target', 4);
    c.socket.write('abcdefgh');
    expect(await c.closed).toBe('reset');
    expect(c.received()).toBe('abcd');
  });

  it('reset ends every connection with RST', async () => {
    const proxy = await proxyTo(await echoServer());
    const c = await client(proxy);
    c.socket.write('up\n'); // a round trip: the proxy has both sides of the link
    await until(() => c.received() === 'up\n', 1000);
    proxy.resetAll();
    expect(await c.closed).toBe('reset');
  });

  it('drop removes exactly one whole message (codec-aware), even when several share a write', async () => {
    const proxy = await proxyTo(await echoServer(), true);
    const c = await client(proxy);
    proxy.drop('to-target', 1);
    c.socket.write('{"n":1}\n{"n":2}\n{"n":3}\n');
    await until(() => c.received() === '{"n":2}\n{"n":3}\n', 1000);
  });

  it('drop of a gob message takes its type definitions with it when the stream repeats them (a new encoder per message), not when it sent them once', async () => {
    // gob frames: a length byte, then the signed type id (65: 0xff 0x82; its definition, -65: 0xff 0x83), then a byte of payload
    const def = (n: number) => Buffer.from([3, 0xff, 0x83, n]);
    const val = (n: number) => Buffer.from([3, 0xff, 0x82, n]);
    const codec = liveCodecFor('register-exit', 'gob', 'length-delimited')!;
    const server = await echoServer();
    const start = async (): Promise<{ proxy: FaultProxy; c: Client; got: () => string }> => {
      const proxy = await FaultProxy.start({ targetHost: '127.0.0.1', targetPort: (server.address() as { port: number }).port, splitter: (d) => codec.splitter(d, 1024 * 1024), random: () => 0.5 });
      cleanups.push(() => proxy.close());
      const c = await client(proxy);
      let bytes = Buffer.alloc(0);
      c.socket.removeAllListeners('data');
      c.socket.on('data', (d: Buffer) => (bytes = Buffer.concat([bytes, d])));
      return { proxy, c, got: () => bytes.toString('hex') };
    };
    const hex = (...bs: Buffer[]) => Buffer.concat(bs).toString('hex');
    // a new encoder per message: every message is a definition and a value
    const each = await start();
    each.c.socket.write(Buffer.concat([def(1), val(1)]));
    await until(() => each.got() === hex(def(1), val(1)), 1000);
    each.proxy.drop('to-target', 1);
    each.c.socket.write(Buffer.concat([def(2), val(2), def(3), val(3)]));
    await until(() => each.got() === hex(def(1), val(1), def(3), val(3)), 1000);
    // one encoder for the stream: the definition came once; a dropped message is its value alone
    const once = await start();
    once.c.socket.write(Buffer.concat([def(1), val(1)]));
    await until(() => once.got() === hex(def(1), val(1)), 1000);
    once.proxy.drop('to-target', 1);
    once.c.socket.write(Buffer.concat([val(2), val(3)]));
    await until(() => once.got() === hex(def(1), val(1), val(3)), 1000);
  });

  it('slow close passes the FIN on later', async () => {
    const proxy = await proxyTo(await echoServer());
    proxy.set({ slowCloseMs: 200 });
    const c = await client(proxy);
    const started = performance.now();
    c.socket.end();
    await c.closed;
    expect(performance.now() - started).toBeGreaterThanOrEqual(180);
  });
});
