/**
 * The course's IM key-value server (protocols lock-alternation and status-handshake), with the exact
 * HTTP interface of PROTOCOLS.md section 1: GET `?action=get|set|unset|clear|keys&key=K&value=V`,
 * every response 200 `text/html`, every body ending with one extra newline. It answers on any path
 * (`/anything/IMserver.php`) because clients are given a full URL and only the query matters.
 *
 * Reading of the unspecified cases (the course server is PHP, so we follow what `$_GET` does):
 *  - `+` decodes to a space and a repeated parameter takes its last value, as in PHP;
 *  - a missing `value` on `set` stores the empty string (PHP's `$_GET['value']` would be null → "");
 *  - an unknown or missing action, a missing or empty key, or a limit hit still answers 200 (the
 *    course server never sends another status and clients only read the body), with a one-line body
 *    `error: ...\n` naming the problem and an `X-Protosim-Error` header so tools can tell it from a value.
 *  - `store=NAME` selects a separate store (default: the unnamed store). Only that query parameter
 *    chooses the store; keys and values are opaque data.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { imErrorBody, imHeaders, imKeysBody, imOkBody, imValueBody, isImRefusal, parseImRequest } from '../wire/kvHttp.js';
import { KvStores, type KvStore } from './kvStores.js';
import { formatAddress } from './loopbackHost.js';
import type { ServerHandle, ServerLimits } from './serverOptions.js';
import { describe } from './tcpHost.js';

/** kv's own limit defaults: keys are short names, values are chat messages. */
export const kvLimitDefaults: Partial<ServerLimits> = {
  maxNameChars: 256,
  maxMessageChars: 16 * 1024,
  maxFrameBytes: 64 * 1024,
};

export interface KvServerConfig {
  host: string;
  port: number;
  limits: ServerLimits;
  log: (line: string) => void;
  defect: string | undefined;
}

/** How long the `nonatomic-kv` defect yields inside a set: wide enough for requests to interleave. */
const nonatomicYieldMs = 20;

interface Reply {
  body: string;
  /** `X-Protosim-Error` header value when the request was refused */
  error?: string;
}

export async function startKvServer(config: KvServerConfig): Promise<ServerHandle> {
  const { limits, log, defect } = config;
  const stores = new KvStores();
  const sockets = new Set<Socket>();
  let nextId = 1;

  const server = createServer(
    {
      maxHeaderSize: limits.maxFrameBytes,
      requestTimeout: limits.readTimeoutMs,
      headersTimeout: limits.readTimeoutMs,
      keepAliveTimeout: limits.idleTimeoutMs,
      connectionsCheckingInterval: Math.max(100, Math.min(limits.readTimeoutMs, 1000)),
    },
    (req, res) => {
      handle(req, res).catch((error: unknown) => {
        log(`kv: internal error: ${describe(error)}`);
        if (!res.headersSent) send(res, { body: 'error: internal error\n', error: 'internal' });
        else res.destroy();
      });
    },
  );
  server.maxConnections = limits.maxConnections;
  server.timeout = limits.idleTimeoutMs;
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    log(`kv: connection #${nextId++} from ${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`);
  });
  server.on('drop', (data?: { remoteAddress?: string; remotePort?: number }) => {
    log(`kv: refused connection from ${data?.remoteAddress ?? '?'}:${data?.remotePort ?? '?'}: limit maxConnections=${limits.maxConnections} reached`);
  });
  server.on('clientError', (error: Error, socket: Socket) => {
    // Garbage, oversize heads and timeouts land here; answer like Node would, but log it.
    log(`kv: bad request: ${describe(error)}`);
    const code = (error as NodeJS.ErrnoException).code;
    const status = code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request';
    if (socket.writable) socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    else socket.destroy();
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    req.resume(); // the interface is GET; a body is drained and ignored
    send(res, await answer(req.url ?? '/'));
  }

  function send(res: ServerResponse, reply: Reply): void {
    let body = reply.body;
    if (defect === 'no-trailing-newline' && body.endsWith('\n')) body = body.slice(0, -1);
    res.writeHead(200, imHeaders(body, reply.error));
    res.end(body);
  }

  function refuse(code: string, text: string): Reply {
    return { body: imErrorBody(text), error: code };
  }

  async function answer(target: string): Promise<Reply> {
    const query = parseImRequest(target);
    if (isImRefusal(query)) return refuse(query.error, query.text);
    const action = query.action;
    const storeName = defect === 'shared-stores' ? '' : query.store;
    if ([...storeName].length > limits.maxNameChars) {
      return refuse('limit', `store name longer than maxNameChars=${limits.maxNameChars}`);
    }
    const store = stores.open(storeName, limits.maxEntries);
    if (store === undefined) return refuse('limit', `too many stores: limit maxEntries=${limits.maxEntries} reached`);

    switch (action) {
      case 'clear':
        store.entries.clear();
        return { body: imOkBody };
      case 'keys':
        return { body: imKeysBody(store.entries.keys()) };
      default:
        break;
    }
    const key = query.key!;
    if ([...key].length > limits.maxNameChars) return refuse('limit', `key longer than maxNameChars=${limits.maxNameChars}`);
    switch (action) {
      case 'get':
        return { body: imValueBody(store.entries.get(key)) };
      case 'unset':
        store.entries.delete(key);
        return { body: imOkBody };
      default: {
        const value = query.value ?? '';
        if ([...value].length > limits.maxMessageChars) return refuse('limit', `value longer than maxMessageChars=${limits.maxMessageChars}`);
        if (!store.entries.has(key) && store.entries.size >= limits.maxEntries) {
          return refuse('limit', `store full: limit maxEntries=${limits.maxEntries} reached`);
        }
        if (defect === 'nonatomic-kv') await setNonAtomically(store, key, value);
        else store.entries.set(key, value);
        return { body: imOkBody };
      }
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: config.host, port: config.port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (error) => log(`kv: server error: ${describe(error)}`));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.port;

  let closing: Promise<void> | undefined;
  let resolveClosed!: () => void;
  const closed = new Promise<void>((resolve) => (resolveClosed = resolve));
  return {
    protocol: 'kv',
    address: formatAddress('http', config.host, port),
    host: config.host,
    port,
    defect,
    connectionCount: () => sockets.size,
    closed,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => {
          resolveClosed();
          resolve();
        });
        server.closeIdleConnections();
        // In-flight requests get a moment to finish; then everything goes.
        setTimeout(() => server.closeAllConnections(), 500).unref();
      });
      return closing;
    },
  };
}

/**
 * The `nonatomic-kv` defect: a read-copy-yield-write update, as a server backed by a file it
 * rewrites whole would do. Two sets that overlap lose one of them, and a value written in two halves
 * can be read torn in between.
 */
async function setNonAtomically(store: KvStore, key: string, value: string): Promise<void> {
  const copy = new Map(store.entries);
  await sleep(nonatomicYieldMs);
  copy.set(key, value.slice(0, Math.ceil(value.length / 2)));
  store.entries = copy;
  await sleep(nonatomicYieldMs);
  copy.set(key, value); // into its own copy, which a concurrent set may have replaced meanwhile
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
