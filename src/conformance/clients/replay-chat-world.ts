/**
 * The world of a chat protocol's counterexample replayed on client programs (./replay-case.ts
 * drives it). protosim plays the server: its reference server (the protocol's fixed rules: a correct
 * server, so a failure that shows live is the programs' doing), with the one TCP proxy in front of
 * it for each program. Each proxy holds every message both ways, and protosim lets them through in
 * the trace's order: a program's message reaches the server once every message the trace's server
 * received before it has (one the trace has no more of waits for the end of the schedule); a
 * server's message reaches its program when the trace delivers it, with whatever the server wrote
 * to that program before it, in one write (TCP keeps no message boundaries; a moment of the trace
 * is one write). Messages are matched by effect (the package's `clientReplay.effect`), so a
 * program's own messages the model does not have (a keepalive) go through and are listed.
 *
 * People type the trace's lines at the trace's moments (after the messages before them), kills and
 * restarts strike there, and every wait is on something observable (a message held at a proxy, a
 * prompt), bounded by the step bound. After the schedule everything held goes at once and the
 * programs are watched for `observeMs`; the trace's failure shows when the package's live check of
 * the broken property (`clientReplay.live`) finds it on what the programs sent, were written and
 * showed.
 *
 * What a program does that the model's client role rules out (the package's `clientReplay.ruledOut`:
 * a message its model client could not send there, a line it shows that was never written to it)
 * ends the ordering there: DIVERGED, with the step and both sides (./replay-chat-ruled-out.ts). Seen
 * after the trace's steps (while watched), it is DIVERGED unless the trace's failure showed; seen
 * after the live run left the trace otherwise, it is listed only.
 */
import type { ClientReplayMapping, LiveClientsView } from '../../models/live-types.js';
import type { ProtocolMessage } from '../../models/types.js';
import type { TraceEvent, TraceHeader } from '../../sim/trace.js';
import type { LiveCodec } from '../live-codec.js';
import type { ManagedProcess } from '../managed-process.js';
import { ChatProxies, type ProxiedMessage } from './replay-chat-proxies.js';
import { ChatRuledOutJudge } from './replay-chat-ruled-out.js';
import { chatScheduleOf, describeChatItem, matchArrival, type ChatItem, type MessageItem } from './replay-chat-schedule.js';
import type { ReplayWorld } from './replay-case.js';
import type { LiveReplayOptions } from './replay-on-clients.js';
import { findingOf, replayVerdict, type LeftTrace, type LiveReplayResult, type ReplayMatch, type TraceFinding } from './replay-verdict.js';
import { clientIndex, messageKeys } from './adapter.js';
import { ClientSession } from './client-session.js';
import { startReferenceServer } from './reference-server.js';
import { portDrained } from '../proc-net.js';

export const defaultChatObserveMs = 2500;
export const defaultChatStepTimeoutMs = 4000;

export interface ChatReplayOptions extends LiveReplayOptions {
  mapping: ClientReplayMapping;
  codec: LiveCodec;
  /** what the reference server is started with to speak that codec (`--codec gob`) */
  serverArgs: readonly string[];
}

/** Whether the program has shown its joined line and no prompt since (it prompts for its login only). */
function promptsForLoginOnly(s: ClientSession): boolean {
  let joined = -1;
  s.events.forEach((e, i) => {
    if (e.kind === 'joined') joined = i;
  });
  return joined >= 0 && !s.events.slice(joined).some((e) => e.kind === 'prompt');
}

export class ChatReplayWorld implements ReplayWorld<ChatItem> {
  readonly items: ChatItem[];
  private readonly finding: TraceFinding | undefined;
  /** model node -> the name its program goes by */
  private readonly names = new Map<string, string>();
  private readonly sessions = new Map<string, ClientSession>();
  private server: ManagedProcess | undefined;
  private serverPort = 0;
  private proxies: ChatProxies | undefined;
  private divergence: LeftTrace | null = null;
  private released = false;
  private readonly waiters: (() => void)[] = [];
  /** per node: index of its last arrival done */
  private readonly cursor = new Map<string, number>();
  private readonly matches: ReplayMatch[] = [];
  /** per node: answers still to come to its messages the model does not have */
  private readonly extrasAnswered = new Map<string, number>();
  private readonly observeMs: number;
  private readonly stepTimeoutMs: number;
  private readonly judge: ChatRuledOutJudge;
  /** the schedule item being carried out */
  private current = 0;
  /** what a program did that the model rules out, seen after the trace's steps (while watched) or after the live run left the trace */
  private ruledOutLate: string | null = null;

  constructor(
    header: TraceHeader,
    events: readonly TraceEvent[],
    private readonly opts: ChatReplayOptions,
  ) {
    const nodes = header.config.nodes;
    const clients = nodes.filter((n) => n.role === 'client');
    const lines = (node: string): string[] => events.flatMap((e) => (e.k === 'input' && e.node === node ? [e.text] : []));
    for (const n of clients) this.names.set(n.id, opts.mapping.liveName({ id: n.id, params: n.params, lines: lines(n.id) }));
    this.judge = new ChatRuledOutJudge(opts.mapping, new Map(clients.map((n) => [n.id, { node: { id: n.id, params: n.params }, name: this.names.get(n.id)! }])));
    const server = nodes.find((n) => n.role !== 'client')?.id ?? 'server';
    this.items = chatScheduleOf(events, new Set(this.names.keys()), server, opts.mapping);
    this.finding = findingOf(header, events);
    this.observeMs = opts.observeMs ?? defaultChatObserveMs;
    this.stepTimeoutMs = opts.stepTimeoutMs ?? defaultChatStepTimeoutMs;
  }

  get left(): LeftTrace | null {
    return this.divergence;
  }

  leave(why: string, diverged: boolean): void {
    if (this.divergence === null) this.divergence = { why, diverged };
    this.wake();
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Resolves once `ready()` holds (woken on every change), or with false after `ms`. */
  private until(ready: () => boolean, ms: number): Promise<boolean> {
    return new Promise((resolveWait) => {
      let settled = false;
      const timer = setTimeout(() => {
        settled = true; // no longer re-armed by later wakes
        resolveWait(ready());
      }, ms);
      const check = (): void => {
        if (settled) return;
        if (ready()) {
          clearTimeout(timer);
          resolveWait(true);
        } else if (this.divergence !== null) {
          clearTimeout(timer);
          resolveWait(false);
        } else this.waiters.push(check);
      };
      check();
    });
  }

  describeItem(item: ChatItem): string {
    return describeChatItem(item);
  }

  boundMs(): number {
    return this.items.length * (this.stepTimeoutMs + this.opts.adapter.spec.startTimeoutMs) + this.observeMs + 20_000;
  }

  private async proxiesUp(): Promise<ChatProxies> {
    if (this.proxies !== undefined) return this.proxies;
    this.server = await startReferenceServer(this.opts.adapter.spec.protocol, this.opts.protosimLauncher, this.opts.serverArgs);
    this.serverPort = Number(/:(\d+)\/?$/.exec(this.server.address ?? '')?.[1] ?? NaN);
    this.proxies ??= new ChatProxies(this.serverPort, this.opts.codec, this.opts.mapping, (m) => this.onHeld(m), () => this.wake(), (m) => this.onSent(m));
    return this.proxies;
  }

  private async session(node: string): Promise<ClientSession> {
    let s = this.sessions.get(node);
    if (s === undefined) {
      const proxies = await this.proxiesUp();
      const port = await proxies.portFor(node);
      const opts = this.opts;
      s = new ClientSession({ adapter: opts.adapter, name: this.names.get(node)!, address: `tcp://127.0.0.1:${port}`, protosimLauncher: opts.protosimLauncher, ...(opts.vars ? { vars: opts.vars } : {}), ...(opts.io ? { io: opts.io } : {}) });
      this.sessions.set(node, s);
    }
    return s;
  }

  /** A program's message, as soon as its proxy has read it: one the model's client could not send there ends the ordering (DIVERGED). */
  private onSent(m: ProxiedMessage): void {
    if (this.ruledOutLate !== null || !this.judge.active || (this.divergence?.diverged ?? false)) return;
    const why = this.judge.sent(m, this.proxies!);
    if (why === null) return;
    this.matches.push({ step: null, node: m.node, live: `#${m.ref.index} ${m.effect}`, as: 'extra', model: null, why: 'what the model\'s client rules out there' });
    this.ruledOut(why);
  }

  /** A program did what the model rules out: DIVERGED at the current step, or (after the steps, or once the live run left the trace) noted. */
  private ruledOut(why: string): void {
    if (this.divergence === null && !this.released) this.leave(`step ${this.current + 1}: ${why}`, true);
    else this.ruledOutLate ??= why;
  }

  /** The lines the programs showed so far, judged: one the model's client rules out ends the ordering (DIVERGED). */
  private judgeShown(): void {
    if (this.ruledOutLate !== null || !this.judge.active || (this.divergence?.diverged ?? false)) return;
    const why = this.judge.shown(this.view());
    if (why !== null) this.ruledOut(why);
  }

  /** A message held at a proxy: a program's, matched with the trace (released in its order); a server's waits for its delivery. */
  private onHeld(m: ProxiedMessage): void {
    if (m.toServer) this.gateToServer(m);
    else this.answerExtra(m);
    this.wake();
  }

  /** The server's answer to a request the model does not have (a setup `create`) goes to its program at once. */
  private answerExtra(m: ProxiedMessage): void {
    const waiting = this.extrasAnswered.get(m.node) ?? 0;
    if (waiting === 0 || this.opts.mapping.answers?.(m.msg) !== true) return;
    this.extrasAnswered.set(m.node, waiting - 1);
    this.matches.push({ step: null, node: m.node, live: `#${m.ref.index} ${m.effect}`, as: 'extra', model: null, why: 'the answer to a message the model does not have' });
    this.proxies!.release(m.node, [m]);
  }

  private gateToServer(m: ProxiedMessage): void {
    const proxies = this.proxies!;
    if (this.divergence !== null || this.released) return proxies.release(m.node, [m]);
    const match = matchArrival(this.items, m.node, m.effect, this.cursor.get(m.node) ?? -1);
    const live = `#${m.ref.index} ${m.effect}`;
    if (match.kind === 'extra') {
      this.matches.push({ step: null, node: m.node, live, as: 'extra', model: null, why: 'a message the model does not have here' });
      if (this.opts.mapping.answers !== undefined) this.extrasAnswered.set(m.node, (this.extrasAnswered.get(m.node) ?? 0) + 1);
      return proxies.release(m.node, [m]);
    }
    if (match.kind === 'past-end') return; // it waits for the end of the schedule
    const item = this.items[match.index] as MessageItem;
    this.matches.push({ step: match.index + 1, node: m.node, live, as: 'step', model: item.effect });
    this.cursor.set(m.node, match.index);
    const go = (): boolean => {
      if (this.divergence !== null || this.released) return true;
      const first = this.items.findIndex((i) => i.kind === 'arrive' && !i.done);
      return first === match.index;
    };
    const tryGo = (): void => {
      if (!go()) return void this.waiters.push(tryGo);
      proxies.release(m.node, [m]);
      void this.taken(m).then(() => {
        item.done = true;
        this.wake();
      });
    };
    tryGo();
  }

  /**
   * Once the server has read message `m` (written on by the proxy, nothing left unread on the
   * server's connections: /proc/net/tcp), so that a message on another connection the trace has
   * after it cannot overtake it inside the server. Polls what it can observe, within the step bound.
   */
  private async taken(m: ProxiedMessage): Promise<void> {
    const until = performance.now() + this.stepTimeoutMs;
    while (performance.now() < until && this.divergence === null && !this.released) {
      if (m.written === true && portDrained(this.serverPort) !== false) return;
      await new Promise((r) => setTimeout(r, 2));
    }
  }

  async runItem(item: ChatItem, index: number): Promise<void> {
    this.current = index;
    await this.carryOut(item, index);
    this.judgeShown();
  }

  private async carryOut(item: ChatItem, index: number): Promise<void> {
    switch (item.kind) {
      case 'start':
        return this.startProgram(item.node);
      case 'arrive':
        return this.arrival(item, index);
      case 'deliver':
        return this.delivery(item, index);
      case 'input':
        return this.typeLine(item.node, item.text, index);
      case 'quit':
        return this.quit(item.node);
      case 'fault':
        return this.fault(item.fault);
    }
  }

  /**
   * Starts a program: done once it is up, within the adapter's `startTimeoutMs`: it has typed its
   * login and connected to its proxy, or sent a message, or ended (a login of several lines may wait
   * for replies the trace delivers later: it goes on alongside). Its start-up is the adapter's
   * allowance, not the next step's: a program with no login to type is typed for as soon as it is
   * spawned, and on a busy machine its first message may come seconds later.
   */
  private async startProgram(node: string): Promise<void> {
    const s = await this.session(node);
    await this.upWithin(node, () => s.start());
  }

  /** Starts (or restarts) `node`'s program with `start` and waits, within the adapter's `startTimeoutMs`, until it is up. */
  private async upWithin(node: string, start: () => Promise<void>): Promise<void> {
    const s = this.sessions.get(node)!;
    for (const line of this.opts.adapter.spec.input.login ?? []) this.judge.keyedInto(node, line.replaceAll('{name}', s.name).replaceAll('{index}', clientIndex(s.name)));
    const connections = this.proxies?.connections(node) ?? 0;
    const messages = this.proxies?.sent(node).length ?? 0;
    let typed = false;
    void start()
      .catch(() => undefined)
      .finally(() => {
        typed = true;
        this.wake();
      });
    const connected = (): boolean => (this.proxies?.connections(node) ?? 0) > connections;
    const sent = (): boolean => (this.proxies?.sent(node).length ?? 0) > messages;
    // a connection accepted (nothing sent yet) wakes no one: look every few ms
    const look = setInterval(() => this.wake(), 10);
    try {
      await this.until(() => sent() || (typed && (connected() || !s.process.running)), this.opts.adapter.spec.startTimeoutMs);
    } finally {
      clearInterval(look);
    }
  }

  private async arrival(item: MessageItem, index: number): Promise<void> {
    if (await this.until(() => item.done, this.stepTimeoutMs)) return;
    if (this.divergence !== null) return;
    const s = this.sessions.get(item.node);
    const sent = this.proxies?.sent(item.node).slice(-3).map((m) => m.effect) ?? [];
    this.leave(`step ${index + 1}: ${item.node} did not send ${item.effect} within ${this.stepTimeoutMs} ms${sent.length ? ` (its last messages: ${sent.join(', ')})` : ''}${s ? ` (${s.status()})` : ''}`, false);
  }

  /** The trace's server message reaches its client: with what the server wrote to it before, in one write. */
  private async delivery(item: MessageItem, index: number): Promise<void> {
    const proxies = await this.proxiesUp();
    const found = (): ProxiedMessage | undefined => proxies.heldFor(item.node).find((m) => m.effect === item.effect);
    if (!(await this.until(() => found() !== undefined, this.stepTimeoutMs))) {
      if (this.divergence !== null) return;
      const held = proxies.heldFor(item.node).map((m) => m.effect);
      return this.leave(`step ${index + 1}: the server did not send ${item.node} ${item.effect} within ${this.stepTimeoutMs} ms${held.length ? ` (held for it: ${held.join(', ')})` : ''}`, false);
    }
    const target = found()!;
    const batch = proxies.heldFor(item.node).filter((m) => m.ref.index <= target.ref.index);
    for (const m of batch) if (m !== target) this.matches.push({ step: null, node: item.node, live: `#${m.ref.index} ${m.effect}`, as: 'extra', model: null, why: 'the server wrote it to this program before the trace\'s message' });
    this.matches.push({ step: index + 1, node: item.node, live: `#${target.ref.index} ${target.effect}`, as: 'step', model: item.effect });
    item.done = true;
    proxies.release(item.node, batch);
  }

  /** The person types a trace line: after a prompt when the program shows one. */
  private async typeLine(node: string, line: string, index: number): Promise<void> {
    const s = await this.session(node);
    const adapter = this.opts.adapter.spec;
    const typed = this.opts.mapping.typing(line, s.name);
    if (typeof typed === 'object' && 'cannot' in typed) return this.leave(`step ${index + 1}: ${node}'s program cannot be made to ${typed.cannot}: an adapter types a login, messages, a check and a quit only`, false);
    this.judge.typedInto(node, line);
    if (Array.isArray(typed) && typed.length === 0) return; // the adapter's login typed it
    if (adapter.patterns.prompt !== undefined && !(adapter.notShown ?? []).includes('prompt')) {
      // A program that prompts for its login only (nothing after its joined line) is typed at as a
      // person would: once it has had the adapter's settleMs to show a prompt.
      const settle = Math.min(adapter.settleMs, this.stepTimeoutMs);
      let prompt = await s.waitFor('prompt', settle);
      if (!prompt.ok && !promptsForLoginOnly(s)) prompt = await s.waitFor('prompt', this.stepTimeoutMs - settle);
      if (!prompt.ok && !(promptsForLoginOnly(s) && s.process.running)) return this.leave(`step ${index + 1}: ${node} did not prompt for the line ${JSON.stringify(line)} within ${this.stepTimeoutMs} ms`, false);
    }
    if (typed === 'quit') return this.quit(node);
    if (typed === 'check') {
      this.judge.keyedInto(node, (adapter.input.check ?? '').replaceAll('{name}', s.name));
      if (!s.check()) this.leave(`step ${index + 1}: the adapter says of no way to ask ${node}'s program for queued messages (input.check)`, false);
      return;
    }
    for (const m of typed) {
      this.judge.keyedInto(node, messageKeys(this.opts.adapter, m.text, this.liveNameOf(m.to), s.name));
      s.typeMessage(m.text, this.liveNameOf(m.to));
    }
  }

  /** The person quits `node`'s program as the adapter says. */
  private async quit(node: string): Promise<void> {
    const s = await this.session(node);
    const how = this.opts.adapter.spec.input.quit;
    if (how !== 'ctrl-c' && how !== 'eof') this.judge.keyedInto(node, how.replaceAll('{name}', s.name));
    s.quit();
  }

  /** A name in a typed line is a model user; the programs go by their live names (the same, unless the mapping says otherwise). */
  private liveNameOf(user: string): string {
    return this.names.get(user) ?? user;
  }

  private async fault(f: Extract<ChatItem, { kind: 'fault' }>['fault']): Promise<void> {
    const s = await this.session(f.node);
    if (f.kind === 'crash') await s.kill();
    else if (f.kind === 'restart') await this.upWithin(f.node, () => s.restart());
    else if (f.kind === 'pause') s.pause();
    else if (f.kind === 'resume') s.resume();
  }

  endSchedule(): void {
    this.released = true;
    this.proxies?.releaseAll();
    this.wake();
  }

  /** Watches the programs for `observeMs`: time for what was written to them to show. */
  async watch(): Promise<void> {
    await this.until(() => this.sessions.size > 0 && [...this.sessions.values()].every((s) => !s.process.running), this.observeMs);
  }

  endWatch(): void {
    this.wake();
  }

  private view(): LiveClientsView {
    const sent = new Map<string, ProtocolMessage[]>();
    const received = new Map<string, ProtocolMessage[]>();
    const shown = new Map<string, { from?: string; text: string; refused?: boolean }[]>();
    const running = new Set<string>();
    for (const [node, s] of this.sessions) {
      sent.set(s.name, this.proxies?.sent(node).map((m) => m.msg) ?? []);
      received.set(s.name, this.proxies?.written(node).map((m) => m.msg) ?? []);
      const lines = s.events.filter((e) => e.kind === 'message' || e.kind === 'refused');
      shown.set(s.name, lines.map((e) => (e.kind === 'refused' ? { text: e.line, refused: true } : { text: e.text ?? e.line, ...(e.from !== undefined ? { from: e.from } : {}) })));
      if (s.process.running) running.add(s.name);
    }
    return { sent, received, shown, running };
  }

  result(stepsDone: number): LiveReplayResult {
    this.judgeShown();
    const id = this.finding?.kind === 'invariant' ? /^invariant (\S+) /.exec(this.finding.summary)?.[1] : undefined;
    const check = id === undefined ? undefined : this.opts.mapping.live[id];
    const reason = check?.(this.view()) ?? null;
    const details: string[] = [];
    if (this.finding !== undefined && check === undefined) {
      details.push(`protosim has no live check of ${id !== undefined ? `invariant ${id}` : `a ${this.finding.kind}`} on ${this.opts.adapter.spec.protocol} client programs: it cannot show on them`);
    }
    for (const [node, s] of this.sessions) {
      const sent = this.proxies?.sent(node) ?? [];
      const written = this.proxies?.written(node) ?? [];
      details.push(`${s.name} (${node}): sent ${sent.length} (${sent.slice(-4).map((m) => m.effect).join(', ') || 'nothing'}); was written ${written.length}; showed ${s.messages().length} message lines`);
    }
    const takingPart = [...new Set(this.items.map((i) => (i.kind === 'fault' ? i.fault.node : i.node)))].map((n) => this.names.get(n) ?? n);
    const sessions = [...this.sessions.values()];
    return replayVerdict({
      finding: this.finding,
      violation: reason === null || id === undefined ? null : { id, reason },
      stall: { summary: null, stuck: [], details },
      sessions,
      takingPart,
      offModel: null,
      left: this.divergence,
      ruledOutLate: this.ruledOutLate,
      matches: this.matches,
      stepsDone,
      stepsTotal: this.items.length,
    });
  }

  async close(): Promise<void> {
    this.released = true;
    this.wake();
    await Promise.all([...this.sessions.values()].map((s) => s.stop().catch(() => undefined)));
    await this.proxies?.close();
    await this.server?.stop().catch(() => undefined);
  }
}
