/**
 * The course IM server's HTTP interface (docs/protocols.md section 1), the pure parts shared by
 * protosim's reference kv server (server-program.ts) and the IM server the harness plays for client
 * programs (src/conformance/clients/im-server.ts): reading a request's query as PHP's `$_GET` would,
 * and writing reply bodies with the exact trailing-newline rules real clients depend on.
 */
import { utf8Length } from '../wire-fields.js';

/** The actions of the IM server. */
export const imActions = ['get', 'set', 'unset', 'clear', 'keys'] as const;
export type ImAction = (typeof imActions)[number];

/** One request, as the query said it. */
export interface ImQuery {
  action: ImAction;
  /** present for get, set and unset (non-empty) */
  key?: string;
  /** set only; a missing value is "" (PHP's `$_GET['value']` of nothing) */
  value?: string;
  /** `store=NAME` (protosim's extension); '' is the default store */
  store: string;
}

/** A request the server answers with an error body (still status 200, as the course server would). */
export interface ImRefusal {
  /** the `X-Protosim-Error` header value */
  error: 'malformed-url' | 'missing-action' | 'unknown-action' | 'missing-key';
  text: string;
}

/** PHP's `$_GET`: the last occurrence of a parameter wins (`+` is a space, as URLSearchParams reads it). */
export function phpParam(query: URLSearchParams, name: string): string | undefined {
  const all = query.getAll(name);
  return all.length === 0 ? undefined : all[all.length - 1];
}

/** Reads a request target (`/IMserver.php?action=get&key=k`) into a query or a refusal. */
export function parseImRequest(target: string): ImQuery | ImRefusal {
  let query: URLSearchParams;
  try {
    query = new URL(target, 'http://kv.invalid').searchParams;
  } catch {
    return { error: 'malformed-url', text: 'malformed request URL' };
  }
  const action = phpParam(query, 'action');
  if (action === undefined) return { error: 'missing-action', text: `missing action; expected one of ${imActions.join(', ')}` };
  if (!(imActions as readonly string[]).includes(action)) {
    return { error: 'unknown-action', text: `unknown action ${JSON.stringify(action)}; expected one of ${imActions.join(', ')}` };
  }
  const store = phpParam(query, 'store') ?? '';
  if (action === 'clear' || action === 'keys') return { action, store };
  const key = phpParam(query, 'key');
  if (key === undefined || key === '') return { error: 'missing-key', text: `action ${action} needs a non-empty key parameter` };
  if (action === 'set') return { action, key, value: phpParam(query, 'value') ?? '', store };
  return { action: action as ImAction, key, store };
}

export function isImRefusal(q: ImQuery | ImRefusal): q is ImRefusal {
  return 'error' in q;
}

/** `get`: the value plus `\n`; a missing key is just `\n` (indistinguishable from ""). */
export function imValueBody(value: string | null | undefined): string {
  return `${value ?? ''}\n`;
}

/** `set`, `unset`, `clear`: `\n`. */
export const imOkBody = '\n';

/** `keys`: each key followed by `\n`, then one more `\n` (an empty store is `\n`). */
export function imKeysBody(keys: Iterable<string>): string {
  let body = '';
  for (const key of keys) body += `${key}\n`;
  return `${body}\n`;
}

/** A refused request's body: one line naming the problem. */
export function imErrorBody(text: string): string {
  return `error: ${text}\n`;
}

/** The headers of every IM reply. */
export function imHeaders(body: string, error?: string): Record<string, string | number> {
  const headers: Record<string, string | number> = {
    'Content-Type': 'text/html; charset=UTF-8',
    'Content-Length': utf8Length(body),
  };
  if (error !== undefined) headers['X-Protosim-Error'] = error;
  return headers;
}
