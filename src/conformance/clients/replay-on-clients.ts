/**
 * Replays a model counterexample (a trace file) against live client programs of a key-value
 * protocol: the same clients start, the same lines are typed, the same faults strike, and the IM
 * server protosim plays applies the clients' requests in the order the trace's store received them
 * (a sequencer holds a request until every request before it in the trace has been made), so a race
 * the model found is forced live. Then it watches: does the live system show the same failure? A
 * deadlock or livelock shows as clients polling with nothing changing; an invariant violation is
 * checked on the live clients through the model's client role stepped alongside each (ClientShadow).
 *
 * Polls are collapsed: a read a client repeats in the trace is one schedule item, and the live
 * client may repeat it any number of times. A live client that makes a request the trace does not
 * have (a fixed client, another reading of the seed) ends the ordering there: the rest runs free and
 * the result says where the live run diverged.
 */
import type { KvRequest } from '../../models/kv-store/messages.js';
import type { GlobalView, ModelVariant, NodeView, Observation, PrintParams, ProtocolMessage } from '../../models/types.js';
import type { FaultSpec } from '../../sim/config.js';
import type { TraceEvent, TraceHeader } from '../../sim/trace.js';
import type { Adapter } from './adapter.js';
import type { IoMode } from './client-process.js';
import { ClientSession, type SessionEvent } from './client-session.js';
import { ClientShadow } from './client-shadow.js';
import { describeImRequest, ImServer, kvRequestOfRecord, type ImRequestRecord } from './im-server.js';
import { analyzeStall } from './stall-analysis.js';

export interface LiveReplayOptions {
  adapter: Adapter;
  variant: ModelVariant | undefined;
  vars?: Readonly<Record<string, string>>;
  io?: IoMode;
  protosimLauncher: readonly string[];
  /** how long to watch once the trace's steps are done */
  observeMs?: number;
  /** how long one step of the trace may take live before the replay says the live run diverged */
  stepTimeoutMs?: number;
}

export interface LiveReplayResult {
  /** the live system showed the failure the trace ends with */
  reproduced: boolean;
  /** the trace's finding, as the model reported it */
  expected: string;
  /** what the live system did, in one line */
  observed: string;
  details: string[];
  /** where the live run stopped following the trace, if it did */
  divergence: string | null;
  /** schedule items carried out / total */
  stepsDone: number;
  stepsTotal: number;
}

/** One step of the schedule; `t` is its time in the trace (the model's clock). */
type Item = { t: number } & (
  | { kind: 'start'; node: string }
  | { kind: 'request'; node: string; req: KvRequest; repeatable: boolean; done: boolean }
  | { kind: 'input'; node: string; text: string }
  | { kind: 'quit'; node: string }
  | { kind: 'fault'; fault: FaultSpec }
);

type RequestItem = Item & { kind: 'request' };

export const defaultObserveMs = 2500;
export const defaultStepTimeoutMs = 4000;

/** The schedule of a trace: starts, store arrivals, inputs, quits and client faults, in trace order. */
export function scheduleOf(events: readonly TraceEvent[], clients: ReadonlySet<string>): Item[] {
  const items: Item[] = [];
  const last = new Map<string, RequestItem>();
  for (const e of events) {
    if (e.k === 'start' && clients.has(e.node) && e.fresh && !items.some((i) => i.kind === 'start' && i.node === e.node)) items.push({ t: e.t, kind: 'start', node: e.node });
    else if (e.k === 'deliver' && e.to === 'store' && clients.has(e.from)) {
      const req = e.msg as unknown as KvRequest;
      const prev = last.get(e.from);
      const read = req.type === 'GET' || req.type === 'KEYS';
      if (prev !== undefined && read && sameRequest(prev.req, req)) {
        prev.repeatable = true; // a poll: one item, repeated live as often as the client likes
        continue;
      }
      const item = { t: e.t, kind: 'request' as const, node: e.from, req, repeatable: false, done: false };
      items.push(item);
      last.set(e.from, item);
    } else if (e.k === 'input' && clients.has(e.node)) items.push({ t: e.t, kind: 'input', node: e.node, text: e.text });
    else if (e.k === 'quit' && clients.has(e.node)) items.push({ t: e.t, kind: 'quit', node: e.node });
    else if (e.k === 'fault' && 'node' in e.fault && clients.has(e.fault.node)) {
      items.push({ t: e.t, kind: 'fault', fault: e.fault });
      if (e.fault.kind === 'crash' || e.fault.kind === 'restart') last.delete(e.fault.node);
    } else if (e.k === 'finding') break;
  }
  return items;
}

function sameRequest(a: KvRequest, b: KvRequest): boolean {
  const f = (r: KvRequest): string => JSON.stringify([r.type, (r as { key?: string }).key ?? null, (r as { value?: string }).value ?? null]);
  return f(a) === f(b);
}

const describeReq = (r: KvRequest): string => (r.type === 'SET' ? `SET ${r.key}=${JSON.stringify(r.value)}` : 'key' in r ? `${r.type} ${r.key}` : r.type);

export async function replayOnClients(header: TraceHeader, events: readonly TraceEvent[], opts: LiveReplayOptions): Promise<LiveReplayResult> {
  const config = header.config;
  const clientNodes = config.nodes.filter((n) => n.role === 'client').map((n) => n.id);
  const clients = new Set(clientNodes);
  const store = config.nodes.find((n) => n.role === 'store');
  const finding = events.find((e): e is Extract<TraceEvent, { k: 'finding' }> => e.k === 'finding');
  const expected = finding === undefined ? 'no finding (the trace ends without one)' : `${finding.kind}: ${finding.summary}`;
  const items = scheduleOf(events, clients);
  const im = new ImServer();
  const initial = (store?.params.initial ?? {}) as Record<string, string>;
  if (Object.keys(initial).length > 0) im.preload(initial);
  const sessions = new Map<string, ClientSession>();
  const shadows = new Map<string, ClientShadow>();
  const observeMs = opts.observeMs ?? defaultObserveMs;
  const stepTimeoutMs = opts.stepTimeoutMs ?? defaultStepTimeoutMs;
  let divergence: string | null = null;
  let violation: { id: string; reason: string } | null = null;
  let stepsDone = 0;
  /** the schedule is over: every held request goes */
  let released = false;

  // The sequencer: a client's next request item may be applied once every item before it is done.
  const cursor = new Map<string, number>(); // per client: index into items of its last done request
  const waiters: (() => void)[] = [];
  const wake = (): void => {
    for (const w of waiters.splice(0)) w();
  };
  const firstPending = (): number => items.findIndex((i) => i.kind === 'request' && !i.done);
  const diverge = (why: string): void => {
    if (divergence === null) divergence = why;
    im.gate = undefined;
    wake();
  };
  im.gate = (record) => {
    if (divergence !== null) return undefined;
    const live = kvRequestOfRecord(record);
    const lastIndex = cursor.get(record.client);
    const lastItem = lastIndex === undefined ? undefined : items[lastIndex];
    const nextIndex = items.findIndex((i, k) => k > (lastIndex ?? -1) && i.kind === 'request' && i.node === record.client);
    const next = nextIndex < 0 ? undefined : (items[nextIndex] as RequestItem);
    if (next !== undefined && sameRequest(next.req, live)) {
      return new Promise<void>((resolveGate) => {
        const tryGo = (): void => {
          if (divergence !== null) return resolveGate();
          const blocker = firstPending();
          if (blocker === nextIndex || blocker < 0) {
            next.done = true;
            cursor.set(record.client, nextIndex);
            resolveGate();
            setImmediate(wake);
          } else waiters.push(tryGo);
        };
        tryGo();
      });
    }
    if (lastItem?.kind === 'request' && lastItem.repeatable && sameRequest(lastItem.req, live)) return undefined; // another poll
    if (next === undefined && lastIndex !== undefined) {
      // Past the trace's end for this client: in the trace it did nothing more before the finding,
      // so it waits until every other step is done (a faster poller must not change the outcome).
      return new Promise<void>((resolveGate) => {
        const tryGo = (): void => {
          if (divergence !== null || released || firstPending() < 0) resolveGate();
          else waiters.push(tryGo);
        };
        tryGo();
      });
    }
    diverge(`${record.client} sent ${describeImRequest(record)} where the trace has ${next ? describeReq(next.req) : 'nothing more'}${lastItem?.kind === 'request' ? ` (after ${describeReq(lastItem.req)})` : ''}`);
    return undefined;
  };
  // The model's invariants and history properties, over the live run as the shadows see it, on the
  // trace's clock (the time of the last step carried out, plus live time after the schedule ends).
  let clockMs = 0;
  let clockLiveMs = im.nowMs();
  const virtualNow = (): number => clockMs + (released ? im.nowMs() - clockLiveMs : 0);
  const monitors = (opts.variant?.properties ?? []).map((p) => ({ property: p, state: p.initial as unknown }));
  const viewNow = (): GlobalView => liveView(shadows, sessions, im.data(), virtualNow());
  const observe = (obs: Observation): void => {
    if (violation !== null || opts.variant === undefined) return;
    const view = viewNow();
    for (const m of monitors) {
      const out = m.property.observe(m.state, obs, view);
      if ('violation' in out) {
        violation = { id: m.property.id, reason: out.violation };
        return;
      }
      m.state = out.state;
    }
    for (const inv of opts.variant.invariants) {
      const reason = inv.check(view);
      if (reason !== null) {
        violation = { id: inv.id, reason };
        return;
      }
    }
  };
  im.onRequest((record, phase) => {
    const shadow = shadows.get(record.client);
    if (phase === 'arrived') {
      shadow?.request(record);
      observe({ kind: 'deliver', from: record.client, to: 'store', msg: kvRequestOfRecord(record) as unknown as ProtocolMessage });
    }
    if (phase === 'replied') {
      shadow?.reply(record);
      observe({ kind: 'deliver', from: 'store', to: record.client, msg: { type: 'REPLY', body: typeof record.reply === 'object' ? record.reply.body : '' } });
    }
  });

  const session = async (name: string): Promise<ClientSession> => {
    let s = sessions.get(name);
    if (s === undefined) {
      const created = new ClientSession({ adapter: opts.adapter, name, address: await im.urlFor(name), protosimLauncher: opts.protosimLauncher, ...(opts.vars ? { vars: opts.vars } : {}), ...(opts.io ? { io: opts.io } : {}) });
      sessions.set(name, created);
      let seen = 0;
      created.process.onSegment(() => {
        for (; seen < created.events.length; seen++) observe({ kind: 'print', node: name, params: printOf(created.events[seen]!) });
      });
      s = created;
    }
    return s;
  };
  const shadowFor = (name: string): void => {
    if (opts.variant === undefined) return;
    const params = config.nodes.find((n) => n.id === name)?.params ?? {};
    const pollMs = Number(opts.vars?.pollMs ?? opts.adapter.spec.vars?.pollMs ?? params.pollMs ?? 500);
    shadows.set(name, new ClientShadow(opts.variant, name, clientNodes, { ...params, pollMs }));
  };
  const waitDone = (index: number): Promise<boolean> =>
    new Promise((resolveDone) => {
      const timer = setTimeout(() => resolveDone(false), stepTimeoutMs);
      const check = (): void => {
        const item = items[index] as RequestItem;
        if (item.done || divergence !== null) {
          clearTimeout(timer);
          resolveDone(item.done);
        } else waiters.push(check);
      };
      check();
    });

  try {
    for (const [index, item] of items.entries()) {
      if (divergence !== null) break;
      clockMs = item.t;
      switch (item.kind) {
        case 'start': {
          const s = await session(item.node);
          shadowFor(item.node);
          await s.start();
          break;
        }
        case 'request':
          if (!(await waitDone(index))) {
            const s = sessions.get(item.node);
            const made = im.requests.filter((r) => r.client === item.node).slice(-3).map((r) => describeImRequest(r));
            diverge(`${item.node} did not send ${describeReq(item.req)} within ${stepTimeoutMs} ms${made.length ? ` (its last requests: ${made.join(', ')})` : ''}${s ? ` (${s.status()})` : ''}`);
          }
          break;
        case 'input': {
          const s = await session(item.node);
          const prompt = await s.waitFor('prompt', stepTimeoutMs);
          if (!prompt.ok) {
            diverge(`${item.node} did not prompt for the line ${JSON.stringify(item.text)} within ${stepTimeoutMs} ms`);
            break;
          }
          shadows.get(item.node)?.typedLine(item.text);
          s.typeMessage(item.text);
          break;
        }
        case 'quit':
          (await session(item.node)).quit();
          break;
        case 'fault': {
          const f = item.fault;
          if (!('node' in f)) break;
          const s = await session(f.node);
          if (f.kind === 'crash') {
            await s.kill();
            observe({ kind: 'crash', node: f.node });
          } else if (f.kind === 'restart') {
            shadowFor(f.node);
            observe({ kind: 'restart', node: f.node, fresh: true });
            await s.restart();
          } else if (f.kind === 'pause') s.pause();
          else if (f.kind === 'resume') s.resume();
          break;
        }
      }
      if (divergence === null) stepsDone += 1;
    }
    released = true;
    clockLiveMs = im.nowMs();
    im.gate = undefined;
    wake();
    await new Promise((r) => setTimeout(r, observeMs));
    const stall = analyzeStall({
      im,
      sinceMs: 0,
      clients: [...sessions.values()].map((s) => ({ name: s.name, status: s.status(), running: s.process.running })),
      shadows: [...shadows.values()],
      variant: opts.variant,
    });
    const details = [...stall.details];
    if (divergence !== null) details.unshift(`the live run left the trace: ${divergence}`);
    let reproduced = false;
    let observed: string;
    const running = [...sessions.values()].filter((s) => s.process.running).map((s) => s.name);
    if (finding?.kind === 'invariant') {
      const v = violation as { id: string; reason: string } | null;
      // The trace names it `invariant <id> (<description>) broken: ...`.
      reproduced = v !== null && finding.summary.startsWith(`invariant ${v.id} `);
      observed = v === null ? 'no invariant or history property of the model broke in the live run' : `invariant ${v.id} broke live: ${v.reason}`;
    } else if (finding !== undefined) {
      // deadlock, livelock, liveness: clients keep polling (or sit still) and nothing is shown.
      reproduced = stall.summary !== null && running.every((n) => stall.stuck.includes(n));
      observed = stall.summary ?? `no client is stuck polling (${[...sessions.values()].map((s) => `${s.name} ${s.status()}`).join(', ')})`;
    } else {
      observed = 'the trace has no finding to compare with';
    }
    // REPRODUCED only when every client of the counterexample took part live: a stall of the one
    // client that started is not the trace's failure.
    const takingPart = new Set(items.map((i) => (i.kind === 'fault' ? ('node' in i.fault ? i.fault.node : undefined) : i.node)).filter((n): n is string => n !== undefined));
    const absent = [...takingPart].filter((n) => sessions.get(n)?.everStarted !== true);
    if (reproduced && absent.length > 0) {
      reproduced = false;
      observed = `${observed}; but ${absent.join(', ')} of the trace never started live, so this is not the trace's failure`;
    }
    for (const s of sessions.values()) details.push(`--- ${s.name} (${s.status()}):\n${s.tail(8)}`);
    return { reproduced, expected, observed, details, divergence, stepsDone, stepsTotal: items.length };
  } finally {
    await Promise.all([...sessions.values()].map((s) => s.stop().catch(() => undefined)));
    await im.close();
  }
}

/** The live system as the model's checks see it: each client as its shadow (while it follows the model), the store's data. */
function liveView(shadows: ReadonlyMap<string, ClientShadow>, sessions: ReadonlyMap<string, ClientSession>, data: Record<string, string>, timeMs: number): GlobalView {
  const nodes: Record<string, NodeView> = { store: { id: 'store', role: 'store', status: 'running', value: 'serving', context: { data }, tags: ['server'] } };
  for (const [name, shadow] of shadows) {
    if (shadow.lost !== null) continue;
    const s = sessions.get(name);
    nodes[name] = shadow.view(s?.process.running ? (s.process.paused ? 'paused' : 'running') : s?.process.exit?.expected === false ? 'done' : 'crashed');
  }
  return { timeMs, nodes, inFlight: [] };
}

/** A line the adapter recognised, as the model prints it (`serverBusy` is the model's turned-away error). */
function printOf(e: SessionEvent): PrintParams {
  switch (e.kind) {
    case 'message':
      return { kind: 'message', text: e.text ?? e.line, ...(e.from !== undefined ? { author: e.from } : {}) };
    case 'prompt':
      return { kind: 'prompt', text: e.line };
    case 'peerLeft':
    case 'serverShutdown':
      return { kind: 'peer-left', text: e.line };
    case 'serverBusy':
      return { kind: 'error', text: e.line, data: { event: 'turned-away' } };
    case 'refused':
    case 'error':
      return { kind: 'error', text: e.line };
    default:
      return { kind: 'status', text: e.line };
  }
}
