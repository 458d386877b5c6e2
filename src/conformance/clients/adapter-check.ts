/**
 * `protosim adapter check`: tries an adapter against its program and says which patterns matched
 * and which never did, so a grader can fix an adapter before grading with it. The check plays a
 * short, friendly session: two clients join, exchange two messages, a third tries to join, the
 * first quits. For the key-value protocols protosim is the IM server (or `--url` names one); for
 * the others protosim starts its reference server (or `--url` names one).
 */
import { protocolNamed } from '../../models/registry.js';
import type { ManagedProcess } from '../managed-process.js';
import type { Adapter } from './adapter.js';
import { patternKinds, type PatternKind } from './adapter-schema.js';
import type { IoMode } from './client-process.js';
import { ClientSession } from './client-session.js';
import { ImServer } from './im-server.js';
import { startReferenceServer } from './reference-server.js';

export interface AdapterCheckOptions {
  adapter: Adapter;
  /** a server already running; default: protosim provides one */
  url?: string;
  vars?: Readonly<Record<string, string>>;
  io?: IoMode;
  protosimLauncher: readonly string[];
}

export interface PatternOutcome {
  kind: PatternKind;
  /** matched: seen at least once; never: exercised but never seen; not-exercised: the check cannot provoke it; absent: the adapter has no such pattern */
  status: 'matched' | 'never' | 'not-exercised' | 'absent';
  client?: string;
  line?: string;
}

export interface AdapterCheckResult {
  ok: boolean;
  adapter: string;
  server: string;
  /** pty or pipes, and why pipes when the PTY was wanted */
  io: string;
  outcomes: PatternOutcome[];
  /** what went wrong, in words (a message shown with the wrong text, a program that would not start) */
  problems: string[];
  /** per client: output lines no pattern matched */
  unmatched: Record<string, string[]>;
  /** per client: the end of its output */
  tails: Record<string, string>;
}

/** The kinds the friendly session provokes: the package's `clients.exercised`. */
function exercised(protocol: string): Set<PatternKind> {
  return new Set((protocolNamed(protocol)?.clients?.exercised ?? ['prompt', 'message', 'joined']) as PatternKind[]);
}

/** protosim plays the IM server itself for the key-value protocols (their live transport is the IM interface). */
const playsImServer = (protocol: string): boolean => protocolNamed(protocol)?.live?.transport === 'http';

/** Tries an adapter against its program in a short, friendly session: which patterns matched, and what went wrong. */
export async function checkAdapter(opts: AdapterCheckOptions): Promise<AdapterCheckResult> {
  const { adapter } = opts;
  const protocol = adapter.spec.protocol;
  const imStore = playsImServer(protocol);
  const problems: string[] = [];
  let im: ImServer | undefined;
  let reference: ManagedProcess | undefined;
  let serverText: string;
  const sessions: ClientSession[] = [];
  try {
    const server = await provideServer(opts, protocol, imStore);
    ({ im, reference } = server);
    serverText = server.text;
    await playSession({ opts, protocol, imStore, addressFor: server.addressFor, sessions, problems });
  } finally {
    await Promise.all(sessions.map((s) => s.stop()));
    await im?.close();
    await reference?.stop();
  }
  const outcomes = patternOutcomes(adapter, protocol, sessions);
  const first = sessions[0]?.process;
  const io = first?.io === undefined ? 'not started' : first.fallbackReason ? `pipes (${first.fallbackReason})` : first.io;
  const ok = problems.length === 0 && outcomes.every((o) => o.status !== 'never');
  return {
    ok,
    adapter: adapter.spec.adapter,
    server: serverText!,
    io,
    outcomes,
    problems,
    unmatched: Object.fromEntries(sessions.map((s) => [s.name, s.unmatched.slice(0, 20)])),
    tails: Object.fromEntries(sessions.map((s) => [s.name, s.tail(12)])),
  };
}

/** The server the check's clients talk to: the one `--url` names, protosim's IM server, or its reference server. */
async function provideServer(
  opts: AdapterCheckOptions,
  protocol: string,
  imStore: boolean,
): Promise<{ addressFor: (name: string) => Promise<string>; text: string; im?: ImServer; reference?: ManagedProcess }> {
  if (opts.url !== undefined) {
    const url = opts.url;
    return { addressFor: async () => url, text: url };
  }
  if (imStore) {
    const server = new ImServer();
    return { addressFor: (name) => server.urlFor(name), text: 'protosim IM server (the kv-store model)', im: server };
  }
  // A program that speaks QUIC (the adapter's `transport: quic`) gets the reference server over QUIC.
  const reference = await startReferenceServer(protocol, opts.protosimLauncher, opts.adapter.spec.transport === 'quic' ? ['--transport', 'quic'] : []);
  const address = reference.address!;
  return { addressFor: async () => address, text: `protosim serve ${protocol} at ${address}`, reference };
}

/** What the friendly session plays with: the check's options, the server's addresses, and where sessions and problems go. */
interface SessionPlay {
  opts: AdapterCheckOptions;
  protocol: string;
  imStore: boolean;
  addressFor: (name: string) => Promise<string>;
  sessions: ClientSession[];
  problems: string[];
}

/** The friendly session: two clients join and exchange two messages, a third tries to join (kv), the first quits. */
async function playSession({ opts, protocol, imStore, addressFor, sessions, problems }: SessionPlay): Promise<void> {
  const { adapter } = opts;
  const replyMs = adapter.spec.replyTimeoutMs;
  const open = async (name: string): Promise<ClientSession> => {
    const s = new ClientSession({
      adapter,
      name,
      address: await addressFor(name),
      protosimLauncher: opts.protosimLauncher,
      ...(opts.vars ? { vars: opts.vars } : {}),
      ...(opts.io ? { io: opts.io } : {}),
    });
    sessions.push(s);
    await s.start();
    return s;
  };
  const firstOutput = async (s: ClientSession): Promise<boolean> => {
    const r = await s.process.waitFor((seg) => (seg.kind === 'line' || seg.kind === 'prompt' ? true : undefined), { from: 0, timeoutMs: adapter.spec.startTimeoutMs });
    if (!r.ok) problems.push(`${s.name} printed nothing within startTimeoutMs=${adapter.spec.startTimeoutMs} (${r.reason === 'exited' ? s.status() : 'still running'})`);
    return r.ok;
  };
  // Chat clients: a message reaches only a client that has joined (logged in, registered).
  const joined = async (s: ClientSession): Promise<void> => {
    if (!imStore && adapter.patterns.joined) await s.waitFor('joined', replyMs, { keepCursor: true });
  };
  const c1 = await open('c1');
  if (!(await firstOutput(c1))) return;
  await joined(c1);
  const c2 = await open('c2');
  await firstOutput(c2);
  await joined(c2);
  await exchange(c1, c2, 'adapter check one', protocol, replyMs, problems);
  if (imStore) {
    const c3 = await open('c3');
    if (adapter.patterns.serverBusy) await c3.waitFor('serverBusy', replyMs);
    await c3.stop();
    c1.quit();
    if (adapter.patterns.peerLeft) await c2.waitFor('peerLeft', Math.max(replyMs, 3000));
  } else {
    c1.quit();
  }
}

/** Per pattern kind of the protocol: matched (by whom, on which line), never matched, not exercised, or absent from the adapter. */
function patternOutcomes(adapter: Adapter, protocol: string, sessions: readonly ClientSession[]): PatternOutcome[] {
  const provoked = exercised(protocol);
  return (Object.keys(patternKinds) as PatternKind[]).map((kind) => {
    if (!adapter.patterns[kind]) return { kind, status: 'absent' };
    for (const s of sessions) {
      const e = s.events.find((x) => x.kind === kind);
      if (e) return { kind, status: 'matched', client: s.name, line: e.line };
    }
    return { kind, status: provoked.has(kind) ? 'never' : 'not-exercised' };
  });
}

/**
 * Two turns of conversation. Who sends first is whoever prompts first; the other must show the
 * exact text (for ping-liveness, an echo chat, the sender itself shows it).
 */
async function exchange(a: ClientSession, b: ClientSession, text: string, protocol: string, replyMs: number, problems: string[]): Promise<void> {
  // Whoever prompts first sends first; a client that exits or times out does not win the race.
  const outcomes: string[] = [];
  const firstPrompt = await new Promise<ClientSession | undefined>((resolveFirst) => {
    let pending = 2;
    for (const s of [a, b]) {
      void s.waitFor('prompt', replyMs * 2, { keepCursor: true }).then((r) => {
        if (r.ok) resolveFirst(s);
        else {
          outcomes.push(`${s.name} ${r.reason === 'exited' ? `exited (${s.status()})` : `did not prompt within ${replyMs * 2} ms`}`);
          if (--pending === 0) resolveFirst(undefined);
        }
      });
    }
  });
  if (firstPrompt === undefined) {
    problems.push(`no client prompted: ${outcomes.join('; ')}`);
    return;
  }
  let sender = firstPrompt;
  let receiver = sender === a ? b : a;
  for (let turn = 1; turn <= 2; turn++) {
    const said = `${text} ${turn}`;
    await sender.waitFor('prompt', replyMs);
    // With an echo (ping-liveness), the sender's own program shows what it sent, and turns do not alternate.
    const echo = protocolNamed(protocol)?.clients?.echo === true;
    const shower = echo ? sender : receiver;
    const from = shower.process.log.cursor;
    sender.typeMessage(said, receiver.name);
    const shown = await shower.waitFor('message', replyMs, { from });
    if (!shown.ok) {
      problems.push(`${sender.name} typed ${JSON.stringify(said)}; ${shower.name} showed no message within ${replyMs} ms (${shown.reason})`);
      return;
    }
    if (shown.value.text !== said) {
      problems.push(`${sender.name} typed ${JSON.stringify(said)}; ${shower.name}'s message pattern captured ${JSON.stringify(shown.value.text)} from ${JSON.stringify(shown.segment.text)}`);
    }
    if (!echo) [sender, receiver] = [receiver, sender];
  }
}
