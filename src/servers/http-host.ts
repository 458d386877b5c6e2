/**
 * The generic host for request/response protocols over HTTP/1.1 (the kv IM server today), the
 * sibling of stream-host.ts in the same plug-in style. It owns what is not the protocol: listening on
 * loopback, the connection cap, request-head size and timeouts (Node's HTTP parser enforces them),
 * garbage and oversize heads (400, 431, 408), connection identity (`#N`, given by the host, never
 * read from a request), logging and shutdown. The protocol plug-in (`HttpProtocol`) brings a codec
 * (request target -> request, answer -> status, headers and body) and a runner that steps the
 * protocol's pure rules from src/models/<protocol>/.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Clock } from './clock.js';
import { formatAddress, listenOn } from './loopback-host.js';
import type { ServerEvents } from './server-events.js';
import type { ServerHandle, ServerLimits } from './server-options.js';
import type { StreamHostConfig } from './stream-host.js';
import { describe } from './tcp-host.js';

/** An HTTP answer as written. */
export interface HttpReply {
  status: number;
  headers: Record<string, string | number>;
  body: string;
}

export interface HttpCodec<Req, Out> {
  /** What a request (method, target) asks, or the answer it gets without reaching the rules. */
  decode(method: string, target: string, limits: ServerLimits): { kind: 'request'; request: Req } | { kind: 'answer'; out: Out };
  encode(out: Out): HttpReply;
  /** The answer to a request the rules failed on (an internal error). */
  internalError(): Out;
}

/** A protocol's rules on the HTTP host: one answer per request, at once or after a while (a defect). */
export interface HttpRulesRunner<Req, Out> {
  request(conn: string, request: Req): Out | Promise<Out>;
}

export interface HttpProtocol<Req, Out> {
  name: string;
  codec: HttpCodec<Req, Out>;
  rules(host: { log(line: string): void; clock: Clock }): HttpRulesRunner<Req, Out>;
}

/** Time given to in-flight requests at shutdown before every connection is closed. */
const shutdownGraceMs = 500;

/** What the HTTP host's handlers share: the protocol, its rules, the limits, log and events, and the open sockets. */
interface HttpHostState<Req, Out> {
  name: string;
  codec: HttpCodec<Req, Out>;
  rules: HttpRulesRunner<Req, Out>;
  limits: ServerLimits;
  log: (line: string) => void;
  events: ServerEvents;
  sockets: Set<Socket>;
  /** the host's `#N` of each connection */
  ids: WeakMap<Socket, string>;
  nextId: number;
}

/** Starts `protocol` on the HTTP host and resolves once it listens. */
export async function startHttpServer<Req, Out>(protocol: HttpProtocol<Req, Out>, config: StreamHostConfig): Promise<ServerHandle> {
  const { limits, log } = config;
  const { name, codec } = protocol;
  const { events } = config;
  const rules = protocol.rules({ log, clock: config.clock });
  const state: HttpHostState<Req, Out> = { name, codec, rules, limits, log, events, sockets: new Set<Socket>(), ids: new WeakMap<Socket, string>(), nextId: 1 };
  const { sockets } = state;

  const server = createServer(
    {
      maxHeaderSize: limits.maxFrameBytes,
      requestTimeout: limits.readTimeoutMs,
      headersTimeout: limits.readTimeoutMs,
      keepAliveTimeout: limits.idleTimeoutMs,
      connectionsCheckingInterval: Math.max(100, Math.min(limits.readTimeoutMs, 1000)),
    },
    (req, res) => {
      handle(state, req, res).catch((error: unknown) => {
        log(`${name}: internal error: ${describe(error)}`);
        if (!res.headersSent) write(res, codec.encode(codec.internalError()));
        else res.destroy();
      });
    },
  );
  server.maxConnections = limits.maxConnections;
  server.timeout = limits.idleTimeoutMs;
  watchConnections(server, state);

  const port = await listenOn(server, config.host, config.port);
  server.on('error', (error) => log(`${name}: server error: ${describe(error)}`));

  let closing: Promise<void> | undefined;
  let resolveClosed!: () => void;
  const closed = new Promise<void>((resolve) => (resolveClosed = resolve));
  return {
    protocol: name,
    address: formatAddress('http', config.host, port),
    host: config.host,
    port,
    defect: config.defect,
    connectionCount: () => sockets.size,
    events,
    closed,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => {
          resolveClosed();
          events.emit({ type: 'server-closed' });
          resolve();
        });
        server.closeIdleConnections();
        // In-flight requests get a moment to finish; then everything goes.
        setTimeout(() => server.closeAllConnections(), shutdownGraceMs).unref();
      });
      return closing;
    },
  };
}

/** Names, counts and logs the connections; logs and answers refused ones and bad requests. */
function watchConnections<Req, Out>(server: Server, state: HttpHostState<Req, Out>): void {
  const { name, limits, log, events, sockets, ids } = state;
  server.on('connection', (socket: Socket) => {
    const id = `#${state.nextId++}`;
    const remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    ids.set(socket, id);
    sockets.add(socket);
    socket.on('close', (hadError: boolean) => {
      sockets.delete(socket);
      events.emit({ type: 'connection-closed', conn: id, remote, byServer: false, hadError, reason: hadError ? 'failed' : 'closed' });
    });
    log(`${name}: connection ${id} from ${remote}`);
    events.emit({ type: 'connection-accepted', conn: id, remote });
  });
  server.on('drop', (data?: { remoteAddress?: string; remotePort?: number }) => {
    const remote = `${data?.remoteAddress ?? '?'}:${data?.remotePort ?? '?'}`;
    log(`${name}: refused connection from ${remote}: limit maxConnections=${limits.maxConnections} reached`);
    events.emit({ type: 'connection-refused', remote, reason: `limit maxConnections=${limits.maxConnections} reached` });
  });
  server.on('clientError', (error: Error, socket: Socket) => {
    // Garbage, oversize heads and timeouts land here; answer like Node would, but log it.
    log(`${name}: bad request: ${describe(error)}`);
    const code = (error as NodeJS.ErrnoException).code;
    const status = code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request';
    if (socket.writable) socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    else socket.destroy();
  });
}

/** One request: decoded, answered by the codec or the rules, and told. */
async function handle<Req, Out>(state: HttpHostState<Req, Out>, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { codec, rules, limits, events, ids } = state;
  req.resume(); // a body is drained and ignored: requests are their method and target
  const decoded = codec.decode(req.method ?? 'GET', req.url ?? '/', limits);
  const conn = ids.get(req.socket) ?? '#?';
  if (decoded.kind === 'answer') return write(res, codec.encode(decoded.out));
  const out = await rules.request(conn, decoded.request);
  write(res, codec.encode(out));
  events.emit({ type: 'request-applied', conn, request: decoded.request });
}

/** Writes an answer: status, headers and body. */
function write(res: ServerResponse, reply: HttpReply): void {
  res.writeHead(reply.status, reply.headers);
  res.end(reply.body);
}
