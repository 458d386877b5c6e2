/**
 * The world of a key-value counterexample replayed on client programs (./replay-case.ts drives it):
 * protosim plays the IM server, whose sequencer applies the clients' requests in the order the
 * trace's store received them (a request is held until every request before it in the trace has
 * been made) and releases each reply when the trace delivers it, so a race the model found is
 * forced live. Requests are matched by effect (./replay-schedule.ts). The model's client runs
 * alongside each program (ClientShadow), so the model's invariants and history properties are
 * judged on the live clients; a deadlock or livelock shows as clients polling with nothing changing.
 */
import type { ModelVariant, Observation, ProtocolMessage } from '../../models/types.js';
import type { TraceEvent, TraceHeader } from '../../sim/trace.js';
import { ClientSession } from './client-session.js';
import { ClientShadow } from './client-shadow.js';
import { describeImRequest, ImServer, kvRequestOfRecord, type ImRequestRecord } from './im-server.js';
import type { ReplayWorld } from './replay-case.js';
import type { LiveReplayOptions } from './replay-on-clients.js';
import { describeReq, matchRequest, scheduleOf, type Item, type RequestItem } from './replay-schedule.js';
import { findingOf, replayVerdict, type LeftTrace, type LiveReplayResult, type ReplayMatch, type TraceFinding } from './replay-verdict.js';
import { analyzeStall, everyClientPolled, pollingWindowMs } from './stall-analysis.js';
import { liveView, modelKeys, printOf } from './replay-observations.js';

export const defaultObserveMs = 2500;
/** The most live requests the result lists (a client polling a key the model does not have makes many). */
const maxMatchesKept = 2000;
/** How much longer than `observeMs` a replay may watch for slow pollers. */
const maxObserveFactor = 4;
export const defaultStepTimeoutMs = 4000;

/** One replay: the IM server, the sessions and shadows of the trace's clients, the sequencer. */
export class KvReplayWorld implements ReplayWorld<Item> {
  private readonly clientNodes: string[];
  readonly items: Item[];
  private readonly finding: TraceFinding | undefined;
  private readonly im = new ImServer();
  private readonly sessions = new Map<string, ClientSession>();
  private readonly shadows = new Map<string, ClientShadow>();
  private readonly observeMs: number;
  private readonly stepTimeoutMs: number;
  private divergence: LeftTrace | null = null;
  private violation: { id: string; reason: string } | null = null;
  /** the schedule is over: every held request goes */
  private released = false;
  /** the watch after the schedule is over: replies the trace never delivered go too */
  private watchOver = false;
  /** per client: index into items of its last done request */
  private readonly cursor = new Map<string, number>();
  private readonly waiters: (() => void)[] = [];
  private readonly extras = new Set<number>();
  /** live request seq -> the trace step it carried out */
  private readonly stepOf = new Map<number, RequestItem>();
  /** keys the model's clients use (in the trace and in ordinary runs), and per client the keys outside them it wrote */
  private readonly traceKeys: Set<string>;
  private readonly offModelKeys = new Map<string, Set<string>>();
  private readonly matches: ReplayMatch[] = [];
  private readonly monitors: { property: NonNullable<ModelVariant['properties']>[number]; state: unknown }[];
  /** the trace's clock: the time of the last step carried out, plus live time after the schedule ends */
  private clockMs = 0;
  private clockLiveMs: number;

  constructor(
    private readonly header: TraceHeader,
    events: readonly TraceEvent[],
    private readonly opts: LiveReplayOptions,
  ) {
    const config = header.config;
    this.clientNodes = config.nodes.filter((n) => n.role === 'client').map((n) => n.id);
    this.items = scheduleOf(events, new Set(this.clientNodes));
    this.finding = findingOf(header, events);
    this.traceKeys = modelKeys(header, events, opts.variant);
    const initial = (config.nodes.find((n) => n.role === 'store')?.params.initial ?? {}) as Record<string, string>;
    if (Object.keys(initial).length > 0) this.im.preload(initial);
    this.observeMs = opts.observeMs ?? defaultObserveMs;
    this.stepTimeoutMs = opts.stepTimeoutMs ?? defaultStepTimeoutMs;
    this.monitors = (opts.variant?.properties ?? []).map((p) => ({ property: p, state: p.initial as unknown }));
    this.clockLiveMs = this.im.nowMs();
    this.im.gate = (record) => this.gate(record);
    this.im.replyGate = (record) => this.replyGate(record);
    this.im.onRequest((record, phase) => {
      if (phase !== 'replied' || this.extras.has(record.seq)) return;
      this.shadows.get(record.client)?.reply(record);
      this.observe({ kind: 'deliver', from: 'store', to: record.client, msg: { type: 'REPLY', body: typeof record.reply === 'object' ? record.reply.body : '' } });
    });
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  private firstPending(): number {
    return this.items.findIndex((i) => i.kind === 'request' && !i.done);
  }

  get left(): LeftTrace | null {
    return this.divergence;
  }

  leave(why: string, diverged: boolean): void {
    if (this.divergence === null) this.divergence = { why, diverged };
    this.wake();
  }

  /** A live request arrived: what it is in the trace, and when it may take effect. */
  private gate(record: ImRequestRecord): Promise<void> | undefined {
    const live = kvRequestOfRecord(record);
    const liveText = `#${record.seq} ${describeImRequest(record)}`;
    if (this.divergence !== null || this.released) {
      this.intoModel(record);
      return undefined;
    }
    const lastIndex = this.cursor.get(record.client);
    const lastItem = lastIndex === undefined ? undefined : this.items[lastIndex];
    const upcoming = this.items.flatMap((i, k) => (k > (lastIndex ?? -1) && i.kind === 'request' && i.node === record.client ? [k] : []));
    const match = matchRequest(live, upcoming.map((k) => this.items[k] as RequestItem), lastItem);
    const nextIndex = match.kind === 'step' ? upcoming[match.skip]! : -1;
    const next = nextIndex < 0 ? undefined : (this.items[nextIndex] as RequestItem);
    if (match.kind === 'step') {
      for (const k of upcoming.slice(0, match.skip)) {
        // a read of the model's the program does not make: done, it changes nothing
        (this.items[k] as RequestItem).done = true;
        this.matches.push({ step: k + 1, node: record.client, live: '(not made)', as: 'skipped', model: describeReq((this.items[k] as RequestItem).req), why: 'a read the program does not make' });
      }
      if (match.skip > 0) setImmediate(() => this.wake());
    }
    switch (match.kind) {
      case 'step':
        this.intoModel(record);
        this.matches.push({ step: nextIndex + 1, node: record.client, live: liveText, as: 'step', model: describeReq(next!.req) });
        this.stepOf.set(record.seq, next!);
        return this.hold(() => {
          const blocker = this.firstPending();
          if (blocker !== nextIndex && blocker >= 0) return false;
          next!.done = true;
          this.cursor.set(record.client, nextIndex);
          setImmediate(() => this.wake());
          return true;
        });
      case 'poll':
        this.intoModel(record);
        return undefined;
      case 'past-end':
        // In the trace it did nothing more at the store before the finding (or nothing at all: its
        // requests were lost with it): it waits until the schedule is done, faults included (a
        // faster poller must not change the outcome).
        this.intoModel(record);
        return this.hold(() => false);
      case 'extra':
        this.extras.add(record.seq);
        if (record.key !== undefined && (record.action === 'set' || record.action === 'unset') && !this.traceKeys.has(record.key)) {
          const keys = this.offModelKeys.get(record.client) ?? new Set<string>();
          this.offModelKeys.set(record.client, keys.add(record.key));
        }
        if (this.matches.length < maxMatchesKept) this.matches.push({ step: null, node: record.client, live: liveText, as: 'extra', model: null, why: match.why });
        return undefined;
      case 'conflict':
        this.intoModel(record);
        this.leave(`${record.client} sent ${describeImRequest(record)}: ${match.why}${lastItem?.kind === 'request' ? ` (after ${describeReq(lastItem.req)})` : ''}`, true);
        return undefined;
    }
  }

  /**
   * A step's reply goes when the trace delivers it: once every request the trace's store received
   * before that is done (a reply the trace never delivers waits for the end of the schedule).
   */
  private replyGate(record: ImRequestRecord): Promise<void> | undefined {
    const item = this.stepOf.get(record.seq);
    if (item === undefined || this.divergence !== null || this.watchOver) return undefined;
    const replyT = item.replyT;
    // not delivered before the trace's finding: not before the watch for it is over either
    if (replyT === undefined) return this.hold(() => this.watchOver, true);
    return this.hold(() => this.items.every((i) => i.kind !== 'request' || i.t >= replyT || i.done));
  }

  /** A promise that resolves once `go()` says so (or the replay stops ordering, unless `pastSchedule`). */
  private hold(go: () => boolean, pastSchedule = false): Promise<void> {
    return new Promise<void>((resolveGate) => {
      const tryGo = (): void => {
        if (this.divergence !== null || (this.released && !pastSchedule) || this.watchOver || go()) resolveGate();
        else this.waiters.push(tryGo);
      };
      tryGo();
    });
  }

  /** A request of the model's: its shadow follows it and the properties see it arrive. */
  private intoModel(record: ImRequestRecord): void {
    this.shadows.get(record.client)?.request(record);
    this.observe({ kind: 'deliver', from: record.client, to: 'store', msg: kvRequestOfRecord(record) as unknown as ProtocolMessage });
  }

  private virtualNow(): number {
    return this.clockMs + (this.released ? this.im.nowMs() - this.clockLiveMs : 0);
  }

  /** The model's invariants and history properties, over the live run as the shadows see it. */
  private observe(obs: Observation): void {
    const variant = this.opts.variant;
    if (this.violation !== null || variant === undefined) return;
    const view = liveView(this.shadows, this.sessions, this.im.data(), this.virtualNow());
    for (const m of this.monitors) {
      const out = m.property.observe(m.state, obs, view);
      if ('violation' in out) {
        this.violation = { id: m.property.id, reason: out.violation };
        return;
      }
      m.state = out.state;
    }
    for (const inv of variant.invariants) {
      const reason = inv.check(view);
      if (reason !== null) {
        this.violation = { id: inv.id, reason };
        return;
      }
    }
  }

  private async session(name: string): Promise<ClientSession> {
    let s = this.sessions.get(name);
    if (s === undefined) {
      const opts = this.opts;
      const created = new ClientSession({ adapter: opts.adapter, name, address: await this.im.urlFor(name), protosimLauncher: opts.protosimLauncher, ...(opts.vars ? { vars: opts.vars } : {}), ...(opts.io ? { io: opts.io } : {}) });
      this.sessions.set(name, created);
      let seen = 0;
      created.process.onSegment(() => {
        for (; seen < created.events.length; seen++) this.observe({ kind: 'print', node: name, params: printOf(created.events[seen]!) });
      });
      s = created;
    }
    return s;
  }

  private shadowFor(name: string): void {
    if (this.opts.variant === undefined) return;
    const params = this.header.config.nodes.find((n) => n.id === name)?.params ?? {};
    const pollMs = Number(this.opts.vars?.pollMs ?? this.opts.adapter.spec.vars?.pollMs ?? params.pollMs ?? 500);
    this.shadows.set(name, new ClientShadow(this.opts.variant, name, this.clientNodes, { ...params, pollMs }));
  }

  /** Whether request item `index` is carried out within the step bound. */
  private waitDone(index: number): Promise<boolean> {
    return new Promise((resolveDone) => {
      let settled = false;
      const timer = setTimeout(() => {
        settled = true; // no longer re-armed by later wakes
        resolveDone(false);
      }, this.stepTimeoutMs);
      const check = (): void => {
        if (settled) return;
        const item = this.items[index] as RequestItem;
        if (item.done || this.divergence !== null) {
          clearTimeout(timer);
          resolveDone(item.done);
        } else this.waiters.push(check);
      };
      check();
    });
  }

  describeItem(item: Item): string {
    if (item.kind === 'request') return `${item.node} ${describeReq(item.req)}`;
    if (item.kind === 'input') return `${item.node} types ${JSON.stringify(item.text)}`;
    if (item.kind === 'fault') return `${item.fault.kind}${'node' in item.fault ? ` ${item.fault.node}` : ''}`;
    return `${item.kind} ${item.node}`;
  }

  boundMs(): number {
    // every step at most its bound (a start: the program's start and its login), then the longest watch
    const perItem = this.stepTimeoutMs + this.opts.adapter.spec.startTimeoutMs;
    return this.items.length * perItem + this.observeMs * maxObserveFactor + 10_000;
  }

  /** Carries out one schedule item, on the trace's clock at its time. */
  async runItem(item: Item, index: number): Promise<void> {
    this.clockMs = item.t;
    switch (item.kind) {
      case 'start': {
        const s = await this.session(item.node);
        this.shadowFor(item.node);
        await s.start();
        return;
      }
      case 'request':
        if (!(await this.waitDone(index))) {
          if (this.divergence !== null) return;
          const s = this.sessions.get(item.node);
          const made = this.im.requests.filter((r) => r.client === item.node).slice(-3).map((r) => describeImRequest(r));
          this.leave(`step ${index + 1}: ${item.node} did not send ${describeReq(item.req)} within ${this.stepTimeoutMs} ms${made.length ? ` (its last requests: ${made.join(', ')})` : ''}${s ? ` (${s.status()})` : ''}`, false);
        }
        return;
      case 'input': {
        const s = await this.session(item.node);
        const prompt = await s.waitFor('prompt', this.stepTimeoutMs);
        if (!prompt.ok) return this.leave(`step ${index + 1}: ${item.node} did not prompt for the line ${JSON.stringify(item.text)} within ${this.stepTimeoutMs} ms`, false);
        this.shadows.get(item.node)?.typedLine(item.text);
        s.typeMessage(item.text);
        return;
      }
      case 'quit':
        (await this.session(item.node)).quit();
        return;
      case 'fault':
        return this.fault(item.fault);
    }
  }

  private async fault(f: Extract<Item, { kind: 'fault' }>['fault']): Promise<void> {
    if (!('node' in f)) return;
    const s = await this.session(f.node);
    if (f.kind === 'crash') {
      await s.kill();
      this.observe({ kind: 'crash', node: f.node });
    } else if (f.kind === 'restart') {
      this.shadowFor(f.node);
      this.observe({ kind: 'restart', node: f.node, fresh: true });
      await s.restart();
    } else if (f.kind === 'pause') s.pause();
    else if (f.kind === 'resume') s.resume();
  }

  endSchedule(): void {
    this.released = true;
    this.clockLiveMs = this.im.nowMs();
    this.wake();
  }

  endWatch(): void {
    this.watchOver = true;
    this.wake();
  }

  /**
   * After the schedule: at least `observeMs`, then until every running client has made enough
   * requests to tell a poller from one that moved on (a slow poller needs longer), or a
   * violation shows, at most `maxObserveFactor` times `observeMs`.
   */
  async watch(): Promise<void> {
    const begun = this.im.nowMs();
    const enough = (): boolean => everyClientPolled(this.im, begun, [...this.sessions.values()]);
    for (;;) {
      const elapsed = this.im.nowMs() - begun;
      if (this.violation !== null || this.watchOver || elapsed >= this.observeMs * maxObserveFactor || (elapsed >= this.observeMs && enough())) return;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** The verdict, from what the live system showed against what the trace ends with. */
  result(stepsDone: number): LiveReplayResult {
    const sessions = [...this.sessions.values()];
    const stall = analyzeStall({ im: this.im, sinceMs: this.clockLiveMs, windowMs: pollingWindowMs(this.im, this.clockLiveMs, sessions.map((s) => ({ name: s.name, running: s.process.running }))), clients: sessions.map((s) => ({ name: s.name, status: s.status(), running: s.process.running })), shadows: [...this.shadows.values()], variant: this.opts.variant });
    const takingPart = new Set(this.items.map((i) => (i.kind === 'fault' ? ('node' in i.fault ? i.fault.node : undefined) : i.node)).filter((n): n is string => n !== undefined));
    return replayVerdict({ finding: this.finding, violation: this.violation, stall, sessions, takingPart: [...takingPart], offModel: this.offModelWords(), left: this.divergence, matches: this.matches, stepsDone, stepsTotal: this.items.length });
  }

  /** Clients that wrote keys the model's clients never use: the model's view of them is no evidence. */
  private offModelWords(): string | null {
    if (this.offModelKeys.size === 0) return null;
    const who = [...this.offModelKeys].map(([c, keys]) => `${c} (${[...keys].slice(0, 3).join(', ')}${keys.size > 3 ? ', …' : ''})`).join(', ');
    return `${who} keep${this.offModelKeys.size === 1 ? 's' : ''} state the model does not have, so the model's view of ${this.offModelKeys.size === 1 ? 'it' : 'them'} is no evidence`;
  }

  async close(): Promise<void> {
    this.released = true;
    this.watchOver = true;
    this.wake();
    await Promise.all([...this.sessions.values()].map((s) => s.stop().catch(() => undefined)));
    await this.im.close();
  }
}
