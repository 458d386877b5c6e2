/**
 * `protosim explore --adapter`: systematic testing of client programs' interleavings, without a
 * model counterexample first. protosim plays the key-value store; the clients start at the same
 * instant; at every decision, among the requests waiting at the store, a scheduler (./schedulers.ts)
 * picks the one that goes next. A decision is taken as soon as every running client has a request
 * waiting (each process has reached the point where it asks), or, when some client is not asking
 * (it sleeps between polls, or waits for its person), once no request has come for `settleMs`.
 * Lines are typed at each prompt, as a person would. Past `steps` decisions requests go as they
 * come, and protosim watches: a schedule fails when every running client keeps polling and nothing
 * changes while none waits for its person (nobody can make progress: a deadlock), or when a client
 * is killed by a signal nobody sent (a crash).
 */
import type { Adapter } from '../clients/adapter.js';
import type { IoMode } from '../clients/client-process.js';
import { ClientSession } from '../clients/client-session.js';
import { describeImRequest, ImServer, type ImRequestRecord } from '../clients/im-server.js';
import { analyzeStall, everyClientPolled, pollingWindowMs } from '../clients/stall-analysis.js';
import { ListScheduler, NamedScheduler, nextPrefix, PctScheduler, pctBound, type Scheduler } from './schedulers.js';

export interface ScheduleOptions {
  adapter: Adapter;
  clients: number;
  /** decisions controlled per schedule */
  steps: number;
  /** lines each client types, one per prompt */
  lines: number;
  settleMs: number;
  observeMs: number;
  vars?: Readonly<Record<string, string>>;
  io?: IoMode;
  protosimLauncher: readonly string[];
}

export interface ScheduleRun {
  /** the order the controlled requests went in: `c1 GET connected` */
  order: string[];
  /** the choice at each decision (index among the waiting clients, sorted by name) */
  choices: number[];
  /** the client chosen at each decision */
  chosen: string[];
  /**
   * What `--choices c1.c2…` repeats: the clients chosen, then the clients of the requests that went
   * free after the controlled steps, up to the last write among them. Past the controlled steps the
   * order is the programs' and the machine's, so repeating only the controlled prefix would leave
   * the race that failed to chance; polls after the last write change nothing.
   */
  repeat: string[];
  /** the requests that went free after the controlled steps, up to the last write: `c2 SET status="one"` */
  freeOrder: string[];
  failure: string | null;
  details: string[];
}

/** How long the first decision waits for a client that has not asked yet (it is still starting). */
const startBoundMs = 5000;

interface Waiting {
  record: ImRequestRecord;
  go: () => void;
}

/** Runs the clients once under `scheduler`; what went in which order and whether it failed. */
export async function runSchedule(opts: ScheduleOptions, scheduler: Scheduler): Promise<ScheduleRun> {
  const im = new ImServer();
  const names = Array.from({ length: opts.clients }, (_, i) => `c${i + 1}`);
  const sessions: ClientSession[] = [];
  const waiting: Waiting[] = [];
  const order: string[] = [];
  const choices: number[] = [];
  const chosenNames: string[] = [];
  const free: ImRequestRecord[] = [];
  const typed = new Map<string, number>();
  let lastArrival = im.nowMs();
  const begunMs = im.nowMs();
  const everAsked = new Set<string>();
  let decisions = 0;
  let isFree = false;
  let deciding: NodeJS.Timeout | undefined;
  const running = (): ClientSession[] => sessions.filter((s) => s.process.running);
  const decide = (): void => {
    deciding = undefined;
    if (isFree || waiting.length === 0) return;
    const asking = new Set(waiting.map((w) => w.record.client));
    const everyone = running().every((s) => asking.has(s.name));
    // a client that has not asked yet is still starting (slow under load): wait for its first
    // request, up to startBoundMs, before deciding without it
    const starting = running().some((s) => !everAsked.has(s.name)) && im.nowMs() - begunMs < startBoundMs;
    const quiet = !starting && im.nowMs() - lastArrival >= opts.settleMs;
    // a repeated schedule waits for the client its decision names (up to startBoundMs without a request)
    const awaited = scheduler.awaits?.(decisions);
    const awaiting = awaited !== undefined && !asking.has(awaited) && running().some((s) => s.name === awaited) && im.nowMs() - lastArrival < startBoundMs;
    if (awaiting || (!everyone && !quiet)) {
      deciding = setTimeout(decide, awaiting ? 20 : Math.max(1, opts.settleMs - (im.nowMs() - lastArrival)));
      return;
    }
    const clients = [...asking].sort();
    const choice = scheduler.choose(decisions, clients);
    const chosen = clients[choice]!;
    const index = waiting.findIndex((w) => w.record.client === chosen);
    const [w] = waiting.splice(index, 1);
    choices.push(choice);
    chosenNames.push(chosen);
    order.push(`${chosen} ${describeImRequest(w!.record)}`);
    decisions += 1;
    w!.go(); // before the rest, so that it takes effect first
    if (decisions >= opts.steps) letAllGo();
    if (waiting.length > 0) deciding ??= setTimeout(decide, 0);
  };
  const letAllGo = (): void => {
    if (!isFree) for (const w of waiting) free.push(w.record);
    isFree = true;
    for (const w of waiting.splice(0)) w.go();
  };
  im.gate = (record) => {
    everAsked.add(record.client);
    if (isFree) {
      free.push(record);
      return undefined;
    }
    lastArrival = im.nowMs();
    return new Promise<void>((go) => {
      waiting.push({ record, go });
      if (deciding !== undefined) clearTimeout(deciding);
      deciding = setTimeout(decide, 0);
    });
  };

  try {
    await startSessions(opts, im, names, sessions, typed);
    const failure = await watch(im, sessions, typed, opts, () => decisions >= opts.steps || running().length === 0);
    letAllGo();
    const freeWrites = free.slice(0, lastWriteIndex(free) + 1);
    const freeOrder = freeWrites.map((r) => `${r.client} ${describeImRequest(r)}`);
    return { order, choices, chosen: chosenNames, repeat: [...chosenNames, ...freeWrites.map((r) => r.client)], freeOrder, ...failure };
  } finally {
    isFree = true;
    if (deciding !== undefined) clearTimeout(deciding);
    for (const w of waiting.splice(0)) w.go();
    await Promise.all(sessions.map((s) => s.stop().catch(() => undefined)));
    await im.close();
  }
}

/** Starts one program per name, typing at its prompts, all at the same instant (every one started before any is waited for). */
async function startSessions(opts: ScheduleOptions, im: ImServer, names: readonly string[], sessions: ClientSession[], typed: Map<string, number>): Promise<void> {
  for (const name of names) {
    const s = new ClientSession({ adapter: opts.adapter, name, address: await im.urlFor(name), protosimLauncher: opts.protosimLauncher, ...(opts.vars ? { vars: opts.vars } : {}), ...(opts.io ? { io: opts.io } : {}) });
    sessions.push(s);
    typeAtPrompts(s, typed, opts.lines);
  }
  await Promise.all(sessions.map((s) => s.start()));
}

/** The index of the last request that changes the store (-1: none). */
function lastWriteIndex(records: readonly ImRequestRecord[]): number {
  for (let i = records.length - 1; i >= 0; i--) if (records[i]!.action !== 'get' && records[i]!.action !== 'invalid') return i;
  return -1;
}

/** Types one line at each prompt of `s`, up to `lines`, counting them in `typed`. */
function typeAtPrompts(s: ClientSession, typed: Map<string, number>, lines: number): void {
  typed.set(s.name, 0);
  let seen = 0;
  s.process.onSegment(() => {
    for (; seen < s.events.length; seen++) {
      if (s.events[seen]!.kind !== 'prompt') continue;
      const n = typed.get(s.name)!;
      if (n < lines) {
        typed.set(s.name, n + 1);
        s.typeMessage(`${s.name} line ${n + 1}`);
      }
    }
  });
}

/** Waits for the controlled part to end, then watches for a stall or a crash. */
async function watch(im: ImServer, sessions: readonly ClientSession[], typed: ReadonlyMap<string, number>, opts: ScheduleOptions, controlledDone: () => boolean): Promise<{ failure: string | null; details: string[] }> {
  const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
  const begun = im.nowMs();
  // the controlled decisions (bounded: a client that stops asking ends them by the settle time)
  while (!controlledDone() && im.nowMs() - begun < opts.observeMs * 4) await pause(20);
  const from = im.nowMs();
  const enough = (): boolean => everyClientPolled(im, from, sessions);
  while (im.nowMs() - from < opts.observeMs * 4 && !(im.nowMs() - from >= opts.observeMs && enough())) {
    if (sessions.some((s) => s.process.exit?.expected === false && s.process.exit.signal !== null)) break;
    await pause(50);
  }
  // a crash: killed by a signal nobody sent it; a program that ends by itself with an exit code (it
  // gave up on a silent peer, say) made a choice of its own, which the watch does not judge
  const crashed = sessions.filter((s) => s.process.exit?.expected === false && s.process.exit.signal !== null);
  const tails = sessions.map((s) => `--- ${s.name} (${s.status()}):\n${s.tail(6)}`);
  if (crashed.length > 0) return { failure: `crash: ${crashed.map((s) => `${s.name} ${s.status()}`).join(', ')}`, details: tails };
  const clients = sessions.map((s) => ({ name: s.name, status: s.status(), running: s.process.running }));
  const stall = analyzeStall({ im, sinceMs: from, windowMs: pollingWindowMs(im, from, clients), clients, shadows: [], variant: undefined });
  const live = clients.filter((c) => c.running).map((c) => c.name);
  // a client whose prompt has no line left waits for its person: that is not a deadlock
  const atPrompt = sessions.filter((s) => s.process.running && s.events.filter((e) => e.kind === 'prompt').length > (typed.get(s.name) ?? 0)).map((s) => s.name);
  const stuck = stall.summary !== null && live.length > 0 && live.every((n) => stall.stuck.includes(n)) && atPrompt.length === 0;
  return { failure: stuck ? `deadlock: ${stall.summary}` : null, details: [...stall.details, ...tails] };
}

export interface ExploreOptions extends ScheduleOptions {
  strategy: 'pct' | 'exhaustive' | 'fixed';
  /** the most schedules to try */
  schedules: number;
  /** PCT: the bug depth d */
  depth: number;
  seed: number;
  /** fixed: the choices to repeat (indices, or the clients' names) */
  choices?: readonly (number | string)[];
  /** after each schedule */
  onSchedule?: (index: number, run: ScheduleRun) => void;
}

export interface ExploreResult {
  tried: number;
  /** the enumeration ran out of orders within the bound before the schedule limit */
  exhausted: boolean;
  first: (ScheduleRun & { index: number }) | null;
  /** PCT's probability bound for a depth-d bug, per schedule and of missing it in every schedule tried */
  bound: { perSchedule: number; missAfter: number } | null;
}

/** Tries schedules until one fails, the bound on schedules is reached, or (exhaustive) every order was tried. */
export async function exploreClients(opts: ExploreOptions): Promise<ExploreResult> {
  const names = Array.from({ length: opts.clients }, (_, i) => `c${i + 1}`);
  const named = opts.strategy === 'fixed' && (opts.choices ?? []).some((c) => typeof c === 'string');
  let prefix: number[] | null = opts.strategy === 'fixed' && !named ? (opts.choices ?? []).map(Number) : [];
  let tried = 0;
  let exhausted = false;
  for (let index = 0; index < opts.schedules; index++) {
    let scheduler: Scheduler;
    let list: ListScheduler | undefined;
    if (opts.strategy === 'pct') scheduler = new PctScheduler(opts.seed + index, names, opts.steps, opts.depth);
    else if (named) scheduler = new NamedScheduler((opts.choices ?? []).map(String));
    else scheduler = list = new ListScheduler(prefix ?? []);
    const run = await runSchedule(opts, scheduler);
    tried += 1;
    opts.onSchedule?.(index, run);
    if (run.failure !== null) return { tried, exhausted: false, first: { ...run, index }, bound: boundOf(opts, tried) };
    if (opts.strategy === 'fixed') break;
    if (list !== undefined) {
      prefix = nextPrefix(list.taken);
      if (prefix === null) {
        exhausted = true;
        break;
      }
    }
  }
  return { tried, exhausted, first: null, bound: boundOf(opts, tried) };
}

function boundOf(opts: ExploreOptions, tried: number): ExploreResult['bound'] {
  return opts.strategy === 'pct' ? pctBound(opts.clients, opts.steps, opts.depth, tried) : null;
}
