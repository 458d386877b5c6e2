/**
 * Why live clients are stuck, from the requests they made: who keeps polling what, how fast, what
 * the store answers, and — where a client still follows the model (its ClientShadow) — what the
 * model says it waits for and the model's own diagnosis. This is the evidence behind a FAIL such as
 * "c1 and c2 both wait for connected=2 (a second client to join), polling GET connected".
 */
import type { ModelVariant, NodeView } from '../../models/types.js';
import { diagnoseLive, type ClientShadow } from './client-shadow.js';
import { describeImRequest, type ImRequestRecord, type ImServer } from './im-server.js';

export interface StallAnalysis {
  /** one line for the verdict's reason, when some client is stuck polling; null when none is */
  summary: string | null;
  /** per client: requests, rate, answers; the store; the model's diagnosis */
  details: string[];
  /** clients that only polled during the window */
  stuck: string[];
  windowStartMs: number;
}

export interface StallInput {
  im: ImServer;
  /** the window starts no earlier than this (the failing step's start) */
  sinceMs: number;
  /** the window looked at, when not stallWindowMs (a replay watches everything after its schedule) */
  windowMs?: number;
  clients: { name: string; status: string; running: boolean }[];
  shadows: readonly ClientShadow[];
  variant: ModelVariant | undefined;
}

/** The window looked at: the last this many ms before the failure (a client that joined, then polls, is stuck in the tail). */
export const stallWindowMs = 1500;

/** Fewest requests in the window for a client to count as polling. */
export const minPollingRequests = 3;

/** Added to a window reaching back to a request, so that the clock moving on does not leave it out. */
const windowSlackMs = 5;

/**
 * The window to judge a stall in when watching after a schedule: the last stallWindowMs, reaching
 * back far enough to hold each running client's last minPollingRequests requests made since
 * `sinceMs` (a slow poller is judged on its own last requests, not on a fixed span).
 */
export function pollingWindowMs(im: ImServer, sinceMs: number, clients: readonly { name: string; running: boolean }[]): number {
  const now = im.nowMs();
  let from = now - stallWindowMs;
  for (const c of clients) {
    if (!c.running) continue;
    const mine = im.requests.filter((r) => r.client === c.name && r.atMs >= sinceMs);
    if (mine.length >= minPollingRequests) from = Math.min(from, mine[mine.length - minPollingRequests]!.atMs);
  }
  return now - from + windowSlackMs;
}

/** Whether every running client has made enough requests since `sinceMs` to tell a poller from one that moved on. */
export function everyClientPolled(im: ImServer, sinceMs: number, clients: readonly { name: string; process: { running: boolean } }[]): boolean {
  return clients.every((c) => !c.process.running || im.requests.filter((r) => r.client === c.name && r.atMs >= sinceMs).length >= minPollingRequests);
}

const isRead = (r: ImRequestRecord): boolean => r.action === 'get' || r.action === 'keys';

function answerOf(r: ImRequestRecord): string {
  if (r.reply === 'reset') return 'connection reset';
  if (r.reply === 'none') return 'no reply';
  if (r.reply.status !== 200) return `HTTP ${r.reply.status}`;
  const body = r.reply.body.endsWith('\n') ? r.reply.body.slice(0, -1) : r.reply.body;
  return r.action === 'get' ? (body === '' ? 'absent' : JSON.stringify(body)) : JSON.stringify(body);
}

/** `GET connected ×42 (answer "1")` for each distinct request, most frequent first. */
export function summarizeRequests(requests: readonly ImRequestRecord[]): string {
  // Grouped by action and key; a key set to many values (a heartbeat counter) is one group.
  const groups = new Map<string, { count: number; answers: Set<string>; values: Set<string>; first: ImRequestRecord }>();
  for (const r of requests) {
    const key = `${r.action} ${r.key ?? ''}`;
    const g = groups.get(key) ?? { count: 0, answers: new Set<string>(), values: new Set<string>(), first: r };
    g.count += 1;
    if (isRead(r)) g.answers.add(answerOf(r));
    if (r.value !== undefined) g.values.add(r.value);
    groups.set(key, g);
  }
  return [...groups.values()]
    .sort((a, b) => b.count - a.count)
    .map((g) => {
      const what = g.values.size > 1 ? `${describeImRequest({ action: g.first.action, ...(g.first.key !== undefined ? { key: g.first.key } : {}) }).replace(/^SET/, 'SET')} (${g.values.size} values)` : describeImRequest(g.first);
      const answers = g.answers.size > 0 ? ` (answer ${[...g.answers].slice(0, 3).join(' or ')}${g.answers.size > 3 ? '...' : ''})` : '';
      return `${what} ×${g.count}${answers}`;
    })
    .join(', ');
}

export function analyzeStall(input: StallInput): StallAnalysis {
  const { im } = input;
  const now = im.nowMs();
  const sinceMs = Math.max(input.sinceMs, now - (input.windowMs ?? stallWindowMs));
  const spanMs = Math.max(1, now - sinceMs);
  const details: string[] = [];
  const stuck: string[] = [];
  const waits = new Map<string, { what: string; rate: string }>();
  for (const c of input.clients) {
    const mine = im.requests.filter((r) => r.client === c.name && r.atMs >= sinceMs);
    const rate = Math.round((mine.length * 10000) / spanMs) / 10;
    const shadow = input.shadows.find((s) => s.client === c.name);
    const modelWords = shadow === undefined ? '' : shadow.lost === null ? `; the model says it waits for ${shadow.waitsFor() ?? 'nothing'} (state ${shadow.stateText})` : '';
    if (!c.running) {
      details.push(`${c.name}: ${c.status}${mine.length ? `, after ${mine.length} requests` : ''}`);
      continue;
    }
    if (mine.length === 0) {
      details.push(`${c.name}: no request for ${spanMs} ms (${c.status})${modelWords}`);
      continue;
    }
    details.push(`${c.name}: ${mine.length} requests in ${spanMs} ms (${rate}/s): ${summarizeRequests(mine)}${modelWords}`);
    if (mine.length >= minPollingRequests && mine.every(isRead)) {
      stuck.push(c.name);
      const polled = [...new Set(mine.map((r) => describeImRequest(r)))].join(', ');
      const modelWait = shadow !== undefined && shadow.lost === null ? shadow.waitsFor() : null;
      waits.set(c.name, { what: modelWait !== null ? `wait for ${modelWait}, polling ${polled}` : `keep polling ${polled}`, rate: `${c.name} ${rate}/s` });
    }
  }
  const data = im.data();
  details.push(`store now: ${Object.keys(data).length === 0 ? '(empty)' : Object.entries(data).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', ')}`);
  if (input.variant !== undefined) {
    const following = input.shadows.filter((s) => s.lost === null);
    const statusOf = (name: string): NodeView['status'] => (input.clients.find((c) => c.name === name)?.running ? 'running' : 'crashed');
    if (following.length > 0) {
      const diagnosis = diagnoseLive(input.variant, following, statusOf, data, 'deadlock');
      if (diagnosis !== null) details.push(`the model's diagnosis: ${diagnosis}`);
    }
    for (const s of input.shadows) if (s.lost !== null) details.push(`${s.client} does not follow the seed's protocol as modelled: ${s.lost}`);
  }
  if (stuck.length === 0) return { summary: null, details, stuck, windowStartMs: sinceMs };
  // Group clients that wait for the same thing: "c1 and c2 both wait for connected=2 ...".
  const byWhat = new Map<string, string[]>();
  for (const [name, w] of waits) byWhat.set(w.what, [...(byWhat.get(w.what) ?? []), name]);
  const parts = [...byWhat.entries()].map(([what, names]) => `${names.join(' and ')}${names.length === 2 ? ' both' : names.length > 2 ? ' all' : ''} ${names.length === 1 ? what.replace(/^wait /, 'waits ').replace(/^keep /, 'keeps ') : what}`);
  const rates = [...waits.values()].map((w) => w.rate).join(', ');
  return { summary: `${parts.join('; ')} (${rates}) and nothing changes`, details, stuck, windowStartMs: sinceMs };
}
