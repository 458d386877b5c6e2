/**
 * How the servers bench (servers.ts) reaches a server: N connections held open, over HTTP for the IM
 * interface (a message is a request target) or TCP in the server's codec (the package's, through the
 * live codecs of src/conformance).
 */
import { Agent, request } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { LiveProtocol } from '../models/package.js';
import { liveCodecOf, type StreamDecoder } from '../conformance/live-codec.js';

/** Connections opened at once (below the listen backlog). */
const connectBatch = 200;

/** Opens `count` sockets in batches; each gets an `onData`. */
async function openSockets(port: number, count: number, onData: (index: number, chunk: Buffer) => void): Promise<Socket[]> {
  const sockets: Socket[] = [];
  for (let start = 0; start < count; start += connectBatch) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(connectBatch, count - start) }, (_, k) =>
        new Promise<Socket>((resolve, reject) => {
          const index = start + k;
          const socket = connect({ port, host: '127.0.0.1', noDelay: true }, () => resolve(socket));
          socket.on('data', (chunk: Buffer) => onData(index, chunk));
          socket.once('error', reject);
        }),
      ),
    );
    sockets.push(...batch);
  }
  for (const s of sockets) s.on('error', () => undefined);
  return sockets;
}

/** How the driver reaches one server: a request and its reply, or a message without one. */
export interface Transport {
  /** sends `message` for client `i` and resolves with the reply (rejects after the settle limit) */
  request(i: number, message: unknown): Promise<unknown>;
  /** sends `message` for client `i`; no reply comes */
  write(i: number, message: unknown): void;
  /** connections held now */
  held(): number;
  close(): void;
}

/** N keep-alive HTTP connections, one per client (the IM interface: messages are request targets). */
export function httpTransport(port: number, n: number, settleMs: number): Transport {
  const agents = Array.from({ length: n }, () => new Agent({ keepAlive: true, maxSockets: 1, maxFreeSockets: 1 }));
  const get = (i: number, path: string) =>
    new Promise<string>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path, agent: agents[i] }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve(body));
      });
      req.setTimeout(settleMs, () => req.destroy(new Error('timeout')));
      req.on('error', reject);
      req.end();
    });
  const open = (agent: Agent) =>
    Object.values(agent.freeSockets).reduce((k, list) => k + (list?.length ?? 0), 0) + Object.values(agent.sockets).reduce((k, list) => k + (list?.length ?? 0), 0);
  return {
    request: (i, message) => get(i, String(message)),
    write: (i, message) => void get(i, String(message)).catch(() => undefined),
    held: () => agents.reduce((k, agent) => k + open(agent), 0),
    close: () => agents.forEach((agent) => agent.destroy()),
  };
}

/** N TCP connections speaking the server's codec; arrivals go to `arrive`. */
export async function streamTransport(port: number, n: number, live: LiveProtocol, codecName: string, settleMs: number, arrive: (i: number, wire: unknown) => void, waiters: ((reply: unknown) => void)[][]): Promise<Transport> {
  const spec = live.codecs.find((c) => c.name === codecName)!;
  const codec = liveCodecOf(spec, 'length-delimited');
  if (codec === null) throw new Error(`${live.name}: codec ${codecName} is not a stream codec`);
  const decoders: StreamDecoder[] = Array.from({ length: n }, () => codec.decoder(1 << 20));
  const sockets = await openSockets(port, n, (i, chunk) => {
    for (const d of decoders[i]!.push(chunk)) if (d.kind === 'message') arrive(i, d.msg);
  });
  return {
    request: (i, message) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('timeout')), settleMs);
        waiters[i]!.push((reply) => {
          clearTimeout(timer);
          resolve(reply);
        });
        sockets[i]!.write(codec.encode(message));
      }),
    write: (i, message) => void sockets[i]!.write(codec.encode(message)),
    held: () => sockets.filter((s) => !s.destroyed).length,
    close: () => sockets.forEach((s) => s.destroy()),
  };
}
