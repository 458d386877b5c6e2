/**
 * Loopback fixtures for the fault proxy's tests: a server that records every read it gets (and
 * echoes it, unless told not to), clients that record theirs, and the cleanups that close them.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { FaultProxy, type FaultProxyOptions, type ProxyDirection } from '../../src/conformance/fault-proxy.js';
import { liveCodecFor } from '../../src/conformance/live-codec.js';

export const cleanups: (() => Promise<void> | void)[] = [];

export async function runCleanups(): Promise<void> {
  for (const c of cleanups.splice(0).reverse()) await c();
}

/** What one end of a connection read, read by read. */
export interface Reads {
  chunks: string[];
  text(): string;
  bytes: number;
}

function reads(): Reads {
  const r: Reads = { chunks: [], text: () => r.chunks.join(''), bytes: 0 };
  return r;
}

export interface RecordingServer {
  server: Server;
  port: number;
  /** per accepted connection, in accept order */
  connections: Reads[];
  /** every read, in the order the server got them: which connection, what */
  arrivals: { connection: number; text: string }[];
}

export async function recordingServer(options: { echo?: boolean } = {}): Promise<RecordingServer> {
  const rec: RecordingServer = { server: undefined!, port: 0, connections: [], arrivals: [] };
  const sockets = new Set<Socket>();
  rec.server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    const r = reads();
    const connection = rec.connections.push(r) - 1;
    s.on('error', () => undefined);
    s.on('data', (d: Buffer) => {
      r.chunks.push(d.toString());
      r.bytes += d.length;
      rec.arrivals.push({ connection, text: d.toString() });
      if (options.echo !== false) s.write(d);
    });
    s.on('end', () => s.end());
  });
  await new Promise<void>((resolve) => rec.server.listen(0, '127.0.0.1', resolve));
  rec.port = (rec.server.address() as { port: number }).port;
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        rec.server.close(() => resolve());
      }),
  );
  return rec;
}

const codec = liveCodecFor('ping-liveness', 'json-lines', 'length-delimited')!;

/** A proxy to `server` that cuts messages at newlines. */
export async function lineProxy(server: RecordingServer, options: Partial<FaultProxyOptions> = {}): Promise<FaultProxy> {
  const proxy = await FaultProxy.start({ targetHost: '127.0.0.1', targetPort: server.port, splitter: (d) => codec.splitter(d, 1024 * 1024), random: () => 0.5, ...options });
  cleanups.push(() => proxy.close());
  return proxy;
}

/** A preview that reads a JSON line as the harness's decoder does. */
export function jsonPreview(_direction: ProxyDirection, bytes: Buffer): string | undefined {
  const decoded = codec.decoder(1024 * 1024).push(bytes)[0];
  return decoded?.kind === 'message' ? JSON.stringify(decoded.msg) : undefined;
}

export interface Client extends Reads {
  socket: Socket;
  closed: Promise<'end' | 'reset'>;
  /** when each read came, performance.now() */
  times: number[];
}

export async function client(proxy: FaultProxy): Promise<Client> {
  const socket = connect({ host: proxy.host, port: proxy.port, noDelay: true });
  const c: Client = { ...reads(), socket, closed: undefined!, times: [] };
  c.text = () => c.chunks.join('');
  socket.on('data', (d: Buffer) => {
    c.chunks.push(d.toString());
    c.bytes += d.length;
    c.times.push(performance.now());
  });
  c.closed = new Promise<'end' | 'reset'>((resolve) => {
    socket.on('error', () => resolve('reset'));
    socket.on('close', (hadError) => resolve(hadError ? 'reset' : 'end'));
  });
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  cleanups.push(() => void socket.destroy());
  return c;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Waits until `predicate` holds; the time it took, ms. */
export async function until(predicate: () => boolean, withinMs: number, what = 'the condition'): Promise<number> {
  const started = performance.now();
  while (!predicate()) {
    if (performance.now() - started > withinMs) throw new Error(`${what}: not within ${withinMs} ms`);
    await sleep(2);
  }
  return performance.now() - started;
}

/** Writes each line as its own write, `gapMs` apart, so each is its own read at the proxy. */
export async function sendLines(socket: Socket, lines: readonly string[], gapMs = 30): Promise<void> {
  for (const [i, line] of lines.entries()) {
    if (i > 0) await sleep(gapMs);
    socket.write(`${line}\n`);
  }
}
