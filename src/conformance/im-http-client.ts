/**
 * The course's IM server interface (docs/protocols.md section 1) from the client side: one HTTP GET per
 * operation on a new connection, `?action=get|set|unset|clear|keys&key=K&value=V`, as the real
 * clients do. A case's kv message (`{type: SET, key, value}`, the kv-store model's requests) becomes
 * the query; the response becomes `{status, body, error}` (`error` is protosim's X-Protosim-Error).
 *
 * A response body is read up to `maxBodyBytes`; a target that sends more is cut off and the reply
 * is reported as over the limit.
 */
import { request } from 'node:http';
import type { KvRequest } from '../models/kv-store/messages.js';
import { EncodeError } from './live-codec.js';

/** What came back for one request. */
export type KvOutcome =
  | { kind: 'reply'; reply: KvWireReply }
  /** no (complete) reply: the request may or may not have been applied */
  | { kind: 'failed'; reason: string; timedOut: boolean };

export interface KvWireReply {
  status: number;
  body: string;
  /** X-Protosim-Error, when the server refused the request */
  error?: string;
}

/** Largest response body read. */
export const maxBodyBytes = 1024 * 1024;

/** The query of a kv request, percent-encoded as the real clients do (`/` left as it is). */
export function kvQuery(msg: unknown, store: string | undefined): string {
  if (typeof msg !== 'object' || msg === null) throw new EncodeError(`a kv request must be a mapping like {type: GET, key: k}, got ${JSON.stringify(msg)}`);
  const m = msg as Record<string, unknown>;
  const enc = (s: string): string => encodeURIComponent(s).replace(/%2F/g, '/');
  const parts: string[] = [];
  // `action` may be given raw (an unknown action, a missing key) to test the server's refusals.
  if (typeof m.action === 'string' || m.type === undefined) {
    for (const [k, v] of Object.entries(m)) parts.push(`${enc(k)}=${enc(String(v))}`);
  } else {
    const r = m as KvRequest;
    const action = { GET: 'get', SET: 'set', UNSET: 'unset', CLEAR: 'clear', KEYS: 'keys' }[r.type as string];
    if (action === undefined) throw new EncodeError(`kv request type must be GET, SET, UNSET, CLEAR or KEYS, got ${JSON.stringify(r.type)}`);
    parts.push(`action=${action}`);
    if ('key' in r) {
      if (typeof r.key !== 'string') throw new EncodeError(`${r.type} needs a string key`);
      parts.push(`key=${enc(r.key)}`);
    }
    if (r.type === 'SET') {
      if (typeof r.value !== 'string') throw new EncodeError('SET needs a string value');
      parts.push(`value=${enc(r.value)}`);
    }
  }
  if (store !== undefined) parts.push(`store=${enc(store)}`);
  return parts.join('&');
}

/** Sends one request on a new connection and waits at most `timeoutMs` for the whole reply. */
export function kvRequest(host: string, port: number, path: string, query: string, timeoutMs: number): Promise<KvOutcome> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (outcome: KvOutcome): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(outcome);
    };
    const base = path.split('?')[0] || '/';
    const req = request({ host, port, path: `${base}?${query}`, method: 'GET', agent: false, headers: { Connection: 'close' } }, (res) => {
      const chunks: Buffer[] = [];
      let bytes = 0;
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (bytes > maxBodyBytes) {
          req.destroy();
          finish({ kind: 'failed', reason: `the response body is over maxBodyBytes=${maxBodyBytes}`, timedOut: false });
          return;
        }
        chunks.push(chunk);
      });
      res.on('end', () => {
        const error = res.headers['x-protosim-error'];
        const reply: KvWireReply = { status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') };
        if (typeof error === 'string') reply.error = error;
        finish({ kind: 'reply', reply });
      });
      res.on('error', (e) => finish({ kind: 'failed', reason: `the response broke off: ${e.message}`, timedOut: false }));
    });
    req.on('error', (e: NodeJS.ErrnoException) => finish({ kind: 'failed', reason: `request failed: ${e.code ?? e.message}`, timedOut: false }));
    const timer = setTimeout(() => {
      req.destroy();
      finish({ kind: 'failed', reason: `no complete reply within ${timeoutMs} ms`, timedOut: true });
    }, timeoutMs);
    req.end();
  });
}
