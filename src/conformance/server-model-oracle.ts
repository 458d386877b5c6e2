/**
 * A protocol's server model as the oracle for a live stream server (DESIGN: "the model of the role
 * under test is the oracle"). The harness tells the oracle every message a client sent, every
 * disconnect, and every arrival; the oracle steps the server role's machine (the `fixed` variant)
 * through xstate's pure transition and says whether each arrival is one the model allows.
 *
 * Live runs are not deterministic, so the oracle keeps a set of possible worlds (Maelstrom style),
 * as the kv oracle keeps possible store states:
 *  - a model timer (a heartbeat sweep) fires live at some moment near its due time: within
 *    `[dueMs - earlyMs, dueMs + lateMs]` both "fired" and "not yet" are possible; past the window it
 *    must have fired;
 *  - a request the model has no message for (a malformed frame, an unknown opcode) may be answered
 *    with an error or not at all, as the protocol's mapping says;
 *  - an outcome the harness cannot see (was a push confirmed before the connection dropped?) is
 *    kept both ways until an arrival decides.
 * An arrival that no possible world allows is a FAIL, with what the model expected and what came.
 *
 * Each world (oracle-worlds.ts) holds the model state, its pending timers, what each client must
 * still receive (in order), and the protocol mapping's bindings (a model session id `s1` bound to
 * the wire's `7`).
 */
import type { Expectation, ModelEvent, WireMapping, WorldView } from '../models/live-types.js';
import type { PrintParams, ProtocolMessage } from '../models/types.js';
import { canonicalJson } from '../sim/canonical-json.js';
import { RoleRuntime } from '../sim/role-runtime.js';
import { show } from './message-pattern.js';
import { describeExpectation, describeNext, maxUnreadableFrames, outstandingIn, placeArrival, skipIn, unreadableIn, type Arrival, type PlaceOps } from './oracle-world-ops.js';
import { goneQueues, processEnded, timersAmong, timersInFlight, withoutQueue } from './oracle-process-faults.js';
import { distinctWorlds, fireDueTimers, requestOrders, worldDone, type InFlight, type OracleFailure, type PlacedPrint, type ServerNodeState, type TimerTolerance, type World, type WorldHooks } from './oracle-worlds.js';

export { mayClose, optional } from '../models/live-types.js';
export type { Comparison, Expectation, Inbound, Marking, ModelEvent, ServerModelSpec, WireMapping, WorldView } from '../models/live-types.js';
export { maxPossibleWorlds, maxRequestOrders, maxTimerFiringsPerAdvance, OracleLimitError, type OracleFailure, type PlacedPrint } from './oracle-worlds.js';
export type { ServerNodeState, TimerTolerance, WorldHooks } from './oracle-worlds.js';

export interface OracleOptions {
  /**
   * Text mismatches (a message of the expected kind with other text) do not fail an arrival at once:
   * they are judged by `settle()` at the end of the exchange, after every message that arrived was
   * checked for being one the model sends at all. The host must then call `settle()`.
   */
  deferText?: boolean;
}

export class ServerModelOracle {
  private readonly runtime: RoleRuntime;
  private readonly tolerance: TimerTolerance;
  private worlds: World[];
  /**
   * Requests in flight together: sent on different connections with no arrival in between, so the
   * server may have taken them in any order (each connection's own in order). `batchBase` is the
   * set of worlds before the first of them; `worlds` is every order of `batch` applied to it;
   * `newestInFlight`: when the newest request of it was sent (timers that fired meanwhile aside).
   */
  private batchBase: World[] | null = null;
  private batch: InFlight[] = [];
  private newestInFlight: number | null = null;
  /** clients whose connection the model closed (and the harness saw closed) */
  readonly closedByModel = new Set<string>();
  /** clients whose host vanished: what the model sends them is never read, so never expected */
  private readonly ignored = new Set<string>();
  /** clients that wrote bytes ending inside a frame: the server's framing of their connection is lost */
  private readonly unframed = new Set<string>();
  /** clients whose connection died with the server process (kill, stop): nothing they send is read */
  private readonly gone = new Set<string>();
  /** paused (SIGSTOP) since `pausedAt`: what clients do is `held` until it resumes; no timer fires past `frozenAt` */
  private pausedAt: number | null = null;
  private frozenAt: number | null = null;
  private held: (() => void)[] = [];

  constructor(
    readonly mapping: WireMapping,
    /** model time now, in ms (the harness maps its clock, scaled if a scenario says so) */
    private readonly clock: () => number,
    tolerance: TimerTolerance = { earlyMs: 100, lateMs: 500 },
    private readonly hooks?: WorldHooks,
    private readonly options: OracleOptions = {},
  ) {
    const slack = mapping.timerSlackMs ?? 0;
    this.tolerance = { earlyMs: tolerance.earlyMs + slack, lateMs: tolerance.lateMs + slack };
    this.runtime = new RoleRuntime('server', mapping.role.machine);
    this.worlds = [this.freshWorld({ log: [], history: [], ext: hooks?.initial ?? null })];
  }

  /** The model's server just started (its start effects applied now), with `keep`'s host data. */
  private freshWorld(keep: Pick<World, 'log' | 'history' | 'ext'>): World {
    const start = this.runtime.start(this.mapping.input);
    const world: World = { ...keep, state: start.next, timers: {}, expected: {}, bind: {}, notes: {} };
    this.apply(world, start.effects, this.clock());
    return world;
  }

  get name(): string {
    return this.mapping.name;
  }

  /** How many worlds are possible now (for tests and reports). */
  get possibleWorlds(): number {
    return this.worlds.length;
  }

  /** The model context of the first possible world (for reports). */
  context(): Record<string, unknown> {
    return this.runtime.state(this.worlds[0]!.state).context;
  }

  /** A value the mapping bound (model id -> canonical wire value) in some world. */
  bound(modelValue: string): string | undefined {
    return this.worlds.find((w) => w.bind[modelValue] !== undefined)?.bind[modelValue];
  }

  /**
   * What the server printed since the last call, in the first possible world (worlds rarely differ
   * in what they print; where they do, the first one stands for them all).
   */
  takeLog(): PrintParams[] {
    const log = this.worlds[0]?.log ?? [];
    if (log.length > 0) {
      this.worlds = this.worlds.map((w) => ({ ...w, log: [] }));
      if (this.batchBase !== null) this.batchBase = this.batchBase.map((w) => ({ ...w, log: [] }));
    }
    return log;
  }

  /** The server node as invariants see it: the first possible world's state. */
  serverView(): { value: unknown; context: Record<string, unknown>; tags: readonly string[] } {
    const st = this.runtime.state(this.worlds[0]!.state);
    return { value: st.snapshot.value, context: st.context, tags: st.tags };
  }

  /** Every binding of the first possible world: model value -> canonical wire value. */
  bindings(): Readonly<Record<string, string>> {
    return this.worlds[0]!.bind;
  }

  /** The model value bound to a canonical wire value in some world. */
  modelValueOf(wireCanonical: string): string | undefined {
    for (const w of this.worlds) for (const [k, v] of Object.entries(w.bind)) if (v === wireCanonical) return k;
    return undefined;
  }

  private view(w: World): WorldView {
    return { context: this.runtime.state(w.state).context, bind: w.bind, notes: w.notes };
  }

  /** Applies effects of a step taken at model time `atMs`. */
  private apply(w: World, effects: readonly { type: string; [k: string]: unknown }[], atMs: number): void {
    for (const e of effects) {
      if ((e.type === 'send' && this.ignored.has(e.to as string)) || (e.type === 'close' && this.ignored.has(e.peer as string))) continue;
      if (e.type === 'send') {
        const to = e.to as string;
        const msg = e.msg as ProtocolMessage;
        const shown = this.mapping.expand?.(msg, this.view(w)) ?? [{ kind: 'message', msg } as Expectation];
        w.expected = { ...w.expected, [to]: [...(w.expected[to] ?? []), ...shown] };
      } else if (e.type === 'close') {
        const peer = e.peer as string;
        w.expected = { ...w.expected, [peer]: [...(w.expected[peer] ?? []), { kind: 'close' }] };
      } else if (e.type === 'print') {
        w.log = [...w.log, e.params as PrintParams];
      } else if (e.type === 'timer.start') {
        w.timers = { ...w.timers, [e.id as string]: { dueMs: atMs + (e.delayMs as number), event: e.event as ModelEvent } };
      } else if (e.type === 'timer.cancel') {
        const { [e.id as string]: _gone, ...rest } = w.timers;
        w.timers = rest;
      }
    }
  }

  private step(w: World, event: ModelEvent, atMs: number): World {
    const result = this.runtime.step(w.state, event, canonicalJson(event));
    const next: World = { ...w, state: result.next };
    this.apply(next, result.effects as never, atMs);
    if (this.hooks !== undefined) {
      const prints = result.effects.flatMap((e) => (e.type === 'print' ? [e.params] : []));
      if (prints.length > 0) {
        const pos = this.hooks.position();
        next.history = [...next.history, ...prints.map((params) => ({ pos, atMs, params }))];
      }
      next.ext = this.hooks.onPrints(next.ext, prints, this.stateOf(next));
    }
    return next;
  }

  private stateOf(w: World): ServerNodeState {
    const st = this.runtime.state(w.state);
    return { value: st.snapshot.value, context: st.context, tags: st.tags };
  }

  /** Applies `fn` to the host data of every world (a client-side observation, judged in each world). */
  mapExt(fn: (ext: unknown, server: ServerNodeState) => unknown): void {
    this.endBatch();
    this.worlds = this.worlds.map((w) => ({ ...w, ext: fn(w.ext, this.stateOf(w)) }));
  }

  /** The host data and console lines of every possible world, first world first. */
  outcomes(): { ext: unknown; history: readonly PlacedPrint[]; server: ServerNodeState }[] {
    return this.worlds.map((w) => ({ ext: w.ext, history: w.history, server: this.stateOf(w) }));
  }

  private setWorlds(worlds: World[]): void {
    this.worlds = distinctWorlds(worlds);
  }

  /** The requests in flight so far are settled: later ones come after them (something was observed). */
  private endBatch(): void {
    this.batchBase = null;
    this.batch = [];
    this.newestInFlight = null;
  }

  /** Fires the timers that must have fired by now, and forks on those that may have. */
  private advance(): void {
    const now = this.frozenAt ?? this.clock();
    const { worlds, fired } = fireDueTimers(this.worlds, now, this.tolerance, (w, event, atMs) => this.step(w, event, atMs));
    const among = fired && this.batchBase !== null ? timersAmong(this.batchBase, this.batch, now, (w, r) => this.receive(w, r)) : null;
    if (among === null) {
      if (fired) this.endBatch();
      return this.setWorlds(worlds);
    }
    [this.batchBase, this.batch] = [among.base, among.batch];
    this.setWorlds(requestOrders(this.batchBase, this.batch, (w, r) => this.receive(w, r)));
  }

  /** Steps one request of `client` into `w`: every way the mapping says it reaches the model. */
  private receive(w: World, r: InFlight): World[] {
    if (r.client === timersInFlight) return fireDueTimers([w], r.atMs, this.tolerance, (v, event, atMs) => this.step(v, event, atMs)).worlds;
    const out: World[] = [];
    if (r.indefinite) out.push(w);
    if (this.closedByModel.has(r.client) || this.gone.has(r.client)) {
      // Its connection is closed (the server closed it): the bytes reach nobody.
      if (!r.indefinite) out.push(w);
      return out;
    }
    for (const alt of this.mapping.inbound(r.client, r.wire, this.view(w))) {
      let next = w;
      const before = (w.expected[r.client] ?? []).length;
      for (const event of alt.events) next = this.step(next, event, r.atMs);
      let extra = alt.extra;
      if (typeof extra === 'function') {
        const sent = (next.expected[r.client] ?? []).slice(before).flatMap((e) => (e.kind === 'message' ? [e.msg] : []));
        extra = extra(sent);
      }
      if (extra !== undefined && extra.length > 0) next = { ...next, expected: { ...next.expected, [r.client]: [...(next.expected[r.client] ?? []), ...extra] } };
      out.push(next);
    }
    return out;
  }

  /**
   * A client sent `wire` (the harness wrote it to the live server). `indefinite`: it went through
   * a faulty link and may never have reached the server; both stay possible. Requests sent on
   * different connections with nothing arriving in between are in flight together: the server may
   * take them in any order (linearizability: an order consistent with what was observed when).
   */
  send(client: string, wire: unknown, indefinite = false): void {
    if (this.holds(() => this.send(client, wire, indefinite))) return;
    if (this.unframed.has(client)) return this.sendUnreadable(client, false);
    const r: InFlight = { client, wire, indefinite, atMs: this.clock() };
    this.newestInFlight = r.atMs;
    if (this.batchBase !== null && this.batch.some((b) => b.client !== client)) {
      // Another connection's requests are in flight: every order of the batch, then the timers due
      // by now in each (a timer a first request started must not settle the order of the rest).
      this.batch.push(r);
      this.setWorlds(requestOrders(this.batchBase, this.batch, (w, r) => this.receive(w, r)));
      this.advance();
      return;
    }
    this.advance();
    if (this.batchBase === null) {
      this.batchBase = this.worlds;
      this.batch = [];
    }
    // One connection only so far: its requests are taken in order; no need to replay.
    this.batch.push(r);
    this.setWorlds(this.worlds.flatMap((w) => this.receive(w, r)));
  }

  /**
   * A client wrote bytes that are not a message (a malformed or oversized frame): the model has
   * nothing to step; the server may ignore them, answer anything, or close the connection.
   * `framed: false`: the bytes may end inside a frame (no line end after them, garbage in a
   * length-prefixed stream), so every later message of this connection is unreadable too, as past
   * `maxUnreadableFrames` frames (garbage lines, one per line end: each may be answered).
   */
  sendUnreadable(client: string, framed = true, frames = 1): void {
    if (this.holds(() => this.sendUnreadable(client, framed, frames))) return;
    if (!framed || frames > maxUnreadableFrames) this.unframed.add(client);
    this.advance();
    this.endBatch();
    this.setWorlds(unreadableIn(this.worlds, client, Math.min(Math.max(frames, 1), maxUnreadableFrames)));
    this.newestInFlight = this.clock(); // a reply may come, late (a cold process): the host gives it time as to a request
  }

  /** A client's connection went away (closed by the client, or reset as a killed client). */
  disconnect(client: string, how: 'closed' | 'reset'): void {
    if (this.holds(() => this.disconnect(client, how))) return;
    this.unframed.delete(client);
    // a connection that died with the server's process: the model has nothing to step
    if (this.gone.delete(client)) return void (this.worlds = this.worlds.map((w) => withoutQueue(w, client)));
    this.advance();
    this.endBatch();
    const now = this.clock();
    const out: World[] = [];
    for (const w of this.worlds) {
      const alts = this.mapping.beforeDisconnect?.(client, how, this.view(w)) ?? [[]];
      for (const events of alts) {
        let next = w;
        for (const event of events) next = this.step(next, event, now);
        out.push(withoutQueue(this.step(next, { type: how === 'reset' ? 'conn.reset' : 'conn.closed', peer: client }, now), client));
      }
    }
    this.setWorlds(out);
  }

  /** Whether the server is paused: what a client did (`op`) waits until it resumes. */
  private holds(op: () => void): boolean {
    if (this.pausedAt !== null) this.held.push(op);
    return this.pausedAt !== null;
  }

  /** The server's process was paused (SIGSTOP): it reads nothing and fires no timer until `resume`. */
  pause(): void {
    if (this.pausedAt !== null) return;
    this.advance();
    this.endBatch();
    this.pausedAt = this.frozenAt = this.clock();
  }

  /** The server's process resumed (SIGCONT): it reads what was sent meanwhile and fires the timers due, in either order. */
  resume(): void {
    if (this.pausedAt === null) return;
    const [held, base, frozen] = [this.held, this.worlds, this.frozenAt];
    this.held = [];
    this.pausedAt = null;
    const run = (timersFirst: boolean): World[] => {
      this.worlds = base;
      this.endBatch();
      this.frozenAt = timersFirst ? null : frozen;
      this.advance();
      for (const op of held) op();
      this.endBatch();
      this.frozenAt = null;
      this.advance();
      return this.worlds;
    };
    const worlds = held.length === 0 ? run(true) : [...run(true), ...run(false)];
    this.endBatch();
    this.setWorlds(worlds);
  }

  /** The server's process ended (kill; `notice`: stop, which may say goodbye): the connections of `clients` close with it. */
  serverDown(clients: readonly string[], unsure: ReadonlySet<string> = new Set(), notice = false): void {
    this.advance();
    this.endBatch();
    this.pausedAt = this.frozenAt = null;
    this.held = [];
    for (const c of clients) this.gone.add(c);
    this.setWorlds(processEnded(this.worlds, clients, unsure, notice));
  }

  /** The server's process started again: the model starts afresh (no state, no bindings). */
  serverUp(): void {
    this.endBatch();
    this.pausedAt = this.frozenAt = null;
    this.held = [];
    this.setWorlds(this.worlds.map((w) => {
      const fresh = this.freshWorld(w);
      return { ...fresh, ...goneQueues(fresh, w, this.gone) };
    }));
  }

  /** `client` opened a new connection: it is heard again, on a connection of its own. */
  connected(client: string): void {
    if (this.gone.delete(client)) this.worlds = this.worlds.map((w) => withoutQueue(w, client));
    this.closedByModel.delete(client);
    this.unframed.delete(client);
  }

  /**
   * `client`'s host vanished (a silent crash): the server is not told, and nothing sent to it is
   * read any more, so nothing is expected for it until it connects again (`heed`).
   */
  ignore(client: string): void {
    this.endBatch();
    this.ignored.add(client);
    this.worlds = this.worlds.map((w) => withoutQueue(w, client));
  }

  /** `client` connects again: what the model sends it is expected again. */
  heed(client: string): void {
    this.ignored.delete(client);
    this.closedByModel.delete(client);
  }

  private describeExpectation(e: Expectation, w: World): string {
    return describeExpectation(e, (msg) => this.mapping.describe(msg, this.view(w)));
  }

  /**
   * Something arrived for `client`: a message, or its connection closed. Returns null when some
   * possible world allows it (the worlds that do not are dropped), else why not. Optional
   * expectations (illustrative parts) before the one met are passed over. An arrival no world has
   * any place for (a second reply, an unsolicited push) is reported before a text that differs.
   */
  arrival(client: string, arrival: Arrival): OracleFailure | null {
    this.advance();
    this.endBatch();
    const out: World[] = [];
    let structural: string | undefined;
    let unexpected: string | undefined;
    let textual: string | undefined;
    const now = this.clock();
    const ops: PlaceOps = {
      name: this.name,
      compare: (msg, wire, w) => this.mapping.compare(msg as ProtocolMessage, wire, this.view(w)),
      describe: (e, w) => this.describeExpectation(e, w),
      // The server chose to close (illustrative): the model learns its connection is gone (unless it died with the process).
      closedByServer: (w) => (this.gone.has(client) ? withoutQueue(w, client) : withoutQueue(this.step(withoutQueue(w, client), { type: 'conn.closed', peer: client }, now), client)),
      deferText: this.options.deferText === true,
    };
    for (const w of this.worlds) {
      const placed = placeArrival(w, client, arrival, ops);
      out.push(...placed.worlds);
      if (placed.worlds.length > 0) continue;
      if ((w.expected[client] ?? []).every((e) => e.optional === true)) {
        unexpected ??= arrival.kind === 'closed' ? `the server closed ${client}'s connection; the ${this.name} keeps it open` : `${client} got a message the ${this.name} does not send`;
      } else if (placed.why !== undefined) {
        if (placed.why.text) textual ??= placed.why.reason;
        else structural ??= placed.why.reason;
      }
    }
    // after bytes that ended inside a frame, the server may read any number of garbage frames
    if (out.length === 0 && this.unframed.has(client) && arrival.kind === 'message') return null;
    if (out.length === 0) {
      // The closest explanation: a text that differs, else a message of another kind, else one the
      // model does not send at all (in every world still possible).
      return {
        reason: textual ?? structural ?? unexpected ?? `${client}: no possible world of the ${this.name} explains this`,
        expected: describeNext(this.worlds, client, (e, w) => this.describeExpectation(e, w)),
        observed: arrival.kind === 'closed' ? 'the connection closed' : show(arrival.msg),
      };
    }
    if (arrival.kind === 'closed') this.closedByModel.add(client);
    this.setWorlds(out);
    return null;
  }

  /**
   * With `deferText`: the exchange is over; a text that differs in every world still possible is
   * a FAIL now (what arrived at all was judged first, by `arrival`). Null when some world has none.
   */
  settle(): OracleFailure | null {
    const clean = this.worlds.filter((w) => (w.textFaults ?? []).length === 0);
    if (clean.length > 0) {
      if (clean.length < this.worlds.length) this.setWorlds(clean);
      return null;
    }
    return this.worlds[0]!.textFaults![0]!;
  }

  /**
   * A case checked one of `client`'s messages with its own pattern: in each world the model's next
   * message for it is taken as seen (bound where it matches, so later ids still line up).
   */
  skip(client: string, wire: unknown): void {
    this.advance();
    this.endBatch();
    this.setWorlds(this.worlds.map((w) => skipIn(w, client, wire, (msg, wire, w) => this.mapping.compare(msg as ProtocolMessage, wire, this.view(w)))));
  }

  /** True when some possible world expects nothing more for any client (of `clients`, when given). */
  satisfied(clients?: readonly string[]): boolean {
    this.advance();
    return this.worlds.some((w) => worldDone(w, clients));
  }

  /** What is still expected, per client, in the world closest to done (for a timeout's message). */
  outstanding(): string {
    return outstandingIn(this.worlds, (e, w) => this.describeExpectation(e, w));
  }

  /**
   * How long ago the newest request still in flight together with others was sent (model ms), or
   * null when none is: requests without replies (a registration) stay in flight until something is
   * observed or the case commits, and a host gives the server time to read them before it commits.
   */
  inFlightAgeMs(): number | null {
    return this.newestInFlight === null ? null : this.clock() - this.newestInFlight;
  }

  /** Keeps only the worlds that expect nothing more (the arrivals so far were all there is). */
  commitSatisfied(clients?: readonly string[]): void {
    this.endBatch();
    const done = this.worlds.filter((w) => worldDone(w, clients));
    if (done.length > 0) this.setWorlds(done);
  }
}
