/**
 * A generated client case as ordinary client-suite steps, its expectations from the protocol's
 * rules (./client-protocol.ts): who must show which message, in what order, and what must not be
 * shown. The steps are what runs and what `--save-case` writes.
 *
 *  - Every user the case names starts at once, shows it joined, and the server is given
 *    `settleMs` to have taken the logins in before anyone is sent to.
 *  - A round's actions are done without waiting; then each program must show, in order, the lines
 *    the round gave it. Order is checked only where the protocol fixes it: the lines one program
 *    shows in a round all come from one person's typing (the messages one sender typed to it, or
 *    the replies to its own typing); an action that would give a program lines from a second
 *    person starts a new round first, so no case depends on which of two people's messages the
 *    server took first.
 *  - A leave (quit: the program must end; or kill) and a rejoin are rounds of their own: messages
 *    on their way to a user are shown before it leaves, and a message sent after it left is one to
 *    a user who left (refused, or queued and shown by a check after the rejoin, in order). Queued
 *    messages of several senders are judged leniently: one sender's, in its order.
 *  - A message shown to its recipient is shown from the user who typed it (`from:`, compared
 *    when the adapter reads a sender); an echo has no sender to check.
 *  - At the end, no running program shows a message it was not sent (a duplicate, another's).
 *
 * A typed message is `type: cN` with `to:` the recipient's name (`nobody`: a name no user has); a
 * burst typed `together` is preceded by a merge of as many messages on the link of the program
 * that shows them.
 */
import type { ClientStepFile } from '../../clients/client-suite-schema.js';
import { caseUsers, mergedBurst, type ClientAction, type ClientFuzzCase } from './client-case.js';
import type { ChatProtocolFuzz } from './client-protocol.js';

export interface RenderOptions {
  protocol: ChatProtocolFuzz;
  /** the adapter has a joined line (else the programs are given its settleMs, all at once) */
  joinedShown: boolean;
}

/** The name of user i's program (c1, c2...: `{index}` accounts follow the number). */
export const clientOf = (user: number): string => `c${user + 1}`;
/** A name no user has. */
export const nobody = 'nobody';

/** How long a quitting program has to end, and how long the last check for extra messages watches. */
export const quitWithinMs = 5000;
export const quietMs = 300;

type Line = { kind: 'message'; text: string; from?: string } | { kind: 'refused' };

class CaseRender {
  readonly steps: ClientStepFile[] = [];
  private readonly online = new Set<number>();
  private readonly left = new Map<number, 'quit' | 'kill'>();
  private readonly queued = new Map<number, { from: number; text: string }[]>();
  /** this round: whose typing each program's lines come from */
  private readonly source = new Map<number, number>();
  private readonly pending = new Map<number, Line[]>();
  /** programs judged leniently (queued messages of several senders): no final check for extra messages */
  private readonly lenient = new Set<number>();

  constructor(
    private readonly c: ClientFuzzCase,
    private readonly o: RenderOptions,
  ) {}

  render(): ClientStepFile[] {
    const found = caseUsers(this.c, this.o.protocol.maxUsers);
    this.start(found.length > 0 ? found : [0]);
    for (const round of this.c.rounds) {
      for (const a of round) this.act(a);
      this.flush();
    }
    this.finish();
    return this.steps;
  }

  private push(step: Record<string, unknown>): void {
    this.steps.push(step as ClientStepFile);
  }

  private start(users: number[]): void {
    const names = users.map(clientOf);
    this.push({ start: names.length === 1 ? names[0] : names });
    if (this.o.joinedShown || names.length === 1) for (const n of names) this.push({ expect: n, kind: 'joined' });
    else this.push({ expect: names, kind: 'joined' });
    this.push({ wait: this.o.protocol.settleMs });
    users.forEach((u) => this.online.add(u));
  }

  private act(a: ClientAction): void {
    if (a.kind === 'say') this.say(a);
    else if (a.kind === 'fault') this.fault(a);
    else if (a.kind === 'leave') this.leave(a.user, a.how);
    else if (a.kind === 'rejoin') this.rejoin(a.user);
    else {
      this.flush();
      this.push({ wait: this.o.protocol.idleMs ?? 0 });
    }
  }

  /** Where a message typed by `from` to `to` shows, by the protocol's rules (undefined: queued). */
  private shownOn(from: number, to: number): { client: number; line: 'message' | 'refused' } | undefined {
    const p = this.o.protocol;
    if (p.shownTo === 'sender') return { client: from, line: 'message' };
    if (this.online.has(to)) return { client: to, line: 'message' };
    if (this.left.has(to) && p.toLeft === 'queued') return undefined;
    return { client: from, line: 'refused' };
  }

  /**
   * Who a delivered message is shown from, where the protocol fixes it: a message shown to its
   * recipient is from the user who typed it (the server names the sender by the connection); an
   * echo, shown to the one who typed it, has no sender to check.
   */
  private sender(from: number): { from?: string } {
    return this.o.protocol.shownTo === 'recipient' ? { from: clientOf(from) } : {};
  }

  private say(a: Extract<ClientAction, { kind: 'say' }>): void {
    if (!this.online.has(a.from)) return; // a person who left types nothing
    const shown = this.shownOn(a.from, a.to);
    // lines from a second person's typing on one program: their order is open, so a new round
    if (shown !== undefined && (this.source.get(shown.client) ?? a.from) !== a.from) this.flush();
    const recipient = this.o.protocol.shownTo === 'recipient' ? { to: a.to < this.o.protocol.maxUsers ? clientOf(a.to) : nobody } : {};
    // a burst `together`: what it makes the server send to the program that shows it comes in one read
    if (shown !== undefined && mergedBurst(a)) this.push({ fault: 'merge', client: clientOf(shown.client), direction: 'to-client', messages: a.texts.length, count: 1, ms: 1000 });
    for (const text of a.texts) {
      this.push({ type: clientOf(a.from), ...recipient, text });
      if (shown === undefined) {
        this.queued.set(a.to, [...(this.queued.get(a.to) ?? []), { from: a.from, text }]);
        continue;
      }
      this.source.set(shown.client, a.from);
      this.pending.set(shown.client, [...(this.pending.get(shown.client) ?? []), shown.line === 'message' ? { kind: 'message', text, ...this.sender(a.from) } : { kind: 'refused' }]);
    }
  }

  private fault(a: Extract<ClientAction, { kind: 'fault' }>): void {
    const link = { fault: a.fault, client: clientOf(a.user), direction: a.direction };
    if (a.fault === 'merge') this.push({ ...link, messages: a.amount, count: 1, ms: 1000 });
    else if (a.fault === 'split') this.push({ ...link, parts: a.amount, count: 3 });
    else this.push({ ...link, ms: a.amount, count: 3 });
  }

  private leave(user: number, how: 'quit' | 'kill'): void {
    if (!this.online.has(user)) return;
    this.flush();
    const name = clientOf(user);
    if (how === 'quit') {
      this.push({ quit: name });
      this.push({ expect: name, exit: true, withinMs: quitWithinMs });
    } else this.push({ kill: name });
    this.push({ wait: this.o.protocol.settleMs });
    this.online.delete(user);
    this.left.set(user, how);
  }

  private rejoin(user: number): void {
    const how = this.left.get(user);
    if (how === undefined) return;
    this.flush();
    const p = this.o.protocol;
    const name = clientOf(user);
    if (how === 'kill' && p.freeAfterKillMs > p.settleMs) this.push({ wait: p.freeAfterKillMs - p.settleMs });
    this.push({ restart: name });
    this.push({ expect: name, kind: 'joined' });
    this.push({ wait: p.settleMs });
    this.left.delete(user);
    this.online.add(user);
    const queue = this.queued.get(user) ?? [];
    this.queued.delete(user);
    if (queue.length === 0) return;
    this.push({ check: name });
    // one sender's messages keep their order; between senders the order is the server's arrival order
    const first = queue[0]!.from;
    if (queue.some((q) => q.from !== first)) this.lenient.add(user);
    for (const q of queue.filter((q) => q.from === first)) this.push({ expect: name, kind: 'message', text: q.text, ...this.sender(q.from) });
  }

  /** The round's expectations, each program's lines in order. */
  private flush(): void {
    for (const user of [...this.pending.keys()].sort((a, b) => a - b)) {
      for (const line of this.pending.get(user)!) {
        this.push(line.kind === 'message' ? { expect: clientOf(user), kind: 'message', text: line.text, ...(line.from !== undefined ? { from: line.from } : {}) } : { expect: clientOf(user), kind: 'refused' });
      }
    }
    this.pending.clear();
    this.source.clear();
  }

  /** No running program shows a message it was not sent. */
  private finish(): void {
    this.flush();
    let first = true;
    for (const user of [...this.online].sort((a, b) => a - b)) {
      if (this.lenient.has(user)) continue;
      this.push({ expect: clientOf(user), kind: 'message', absent: true, withinMs: first ? quietMs : 1 });
      first = false;
    }
  }
}

/** The case as client-suite steps with their expectations. */
export function renderClientCase(c: ClientFuzzCase, o: RenderOptions): ClientStepFile[] {
  return new CaseRender(c, o).render();
}
