/**
 * A generated turn-taking case (./turn-case.ts) as ordinary client-suite steps, with protosim as the
 * IM server, its expectations from the protocol's rules as the protocol's client suites state them
 * (scenarios/conformance/{lock-alternation,status-handshake}/clients.yaml):
 *
 *  - two programs started one after the other: the first waits for a partner, and holds the turn
 *    once the second has joined; started in the same millisecond: one of them (`first`) holds the
 *    turn, the other (`second`) waits;
 *  - a text typed by the program holding the turn is shown by the other with exactly that text; the
 *    other then holds the turn (a prompt); the one that typed shows no message (not its own back);
 *  - a third program started while two talk is turned away (`serverBusy`) and shows none of their
 *    messages;
 *  - a program killed while it holds the turn: the other says its peer left, after its lease. Both
 *    killed and, once a lease has run out, started again one after the other: they pair up anew (no
 *    message of the old conversation shown), the first waiting for a partner;
 *  - at the end, neither program of a running pair shows a message it was not sent.
 *
 * Who is shown as the sender is not stated: these programs show their peer as a number (`Client 2:`)
 * or not at all, and the protocols fix no name.
 */
import type { ClientStepFile } from '../../clients/client-suite-schema.js';
import type { TurnAction, TurnCase } from './turn-case.js';

/** How long a program may take to show a message or take the turn (slow replies, its own poll interval). */
export const turnExpectMs = 6000;
/** How long a pairing of programs started together may take (a claim, a back-off). */
export const pairWithinMs = 6000;
/** The sender's check that it shows no message of its own; a restarted program's, that it shows no old one. */
export const turnQuietMs = 300;
export const restartQuietMs = 1000;

const third = 'c3';

class TurnRender {
  readonly steps: ClientStepFile[] = [];
  /** the two programs as the steps name them (aliases after a start in the same millisecond) */
  private pair: [string, string] = ['c1', 'c2'];
  private holder = 'c1';
  private other = 'c2';
  /** the pair still talks (no kill without a restart yet) */
  private talking = true;
  private thirdStarted = false;

  constructor(private readonly c: TurnCase) {}

  render(): ClientStepFile[] {
    this.start();
    for (const a of this.c.actions) {
      if (!this.talking) break;
      this.act(a);
    }
    this.finish();
    return this.steps;
  }

  private push(step: Record<string, unknown>): void {
    this.steps.push(step as ClientStepFile);
  }

  private start(): void {
    if (this.c.together) {
      this.push({ start: ['c1', 'c2'], together: true });
      this.push({ expect: ['c1', 'c2'], kind: 'prompt', withinMs: pairWithinMs, as: 'first', otherAs: 'second' });
      this.pair = ['first', 'second'];
    } else {
      this.push({ start: 'c1' });
      this.push({ expect: 'c1', kind: 'waiting' });
      this.push({ start: 'c2' });
      this.push({ expect: 'c1', kind: 'prompt', withinMs: turnExpectMs });
    }
    [this.holder, this.other] = this.pair;
  }

  private act(a: TurnAction): void {
    if (a.kind === 'say') this.say(a.text);
    else if (a.kind === 'slow') this.push({ fault: 'slow', client: a.user === 0 ? 'c1' : 'c2', ms: a.ms, count: a.count });
    else if (a.kind === 'third') this.joinThird();
    else this.kill(a.restart);
  }

  private say(text: string): void {
    const [from, to] = [this.holder, this.other];
    this.push({ type: from, text });
    this.push({ expect: to, kind: 'message', text, withinMs: turnExpectMs });
    this.push({ expect: to, kind: 'prompt', withinMs: turnExpectMs });
    this.push({ expect: from, kind: 'message', absent: true, withinMs: turnQuietMs });
    [this.holder, this.other] = [to, from];
  }

  private joinThird(): void {
    if (this.thirdStarted) return;
    this.thirdStarted = true;
    this.push({ start: third });
    this.push({ expect: third, kind: 'serverBusy' });
  }

  private kill(restart: boolean): void {
    this.push({ kill: this.holder });
    this.push({ expect: this.other, kind: 'peerLeft', afterLease: true });
    if (!restart) {
      this.talking = false;
      return;
    }
    this.push({ kill: this.other });
    if (this.thirdStarted) this.push({ kill: third });
    this.push({ wait: 'lease' });
    const [a, b] = this.pair;
    this.push({ restart: a });
    this.push({ expect: a, kind: 'message', absent: true, withinMs: restartQuietMs });
    this.push({ expect: a, kind: 'waiting' });
    this.push({ restart: b });
    this.push({ expect: a, kind: 'prompt', withinMs: turnExpectMs });
    [this.holder, this.other] = [a, b];
  }

  /** Neither program of a running pair (nor a third turned away) shows a message it was not sent. */
  private finish(): void {
    const quiet = [...(this.talking ? [this.holder, this.other] : []), ...(this.thirdStarted && this.talking ? [third] : [])];
    quiet.forEach((name, i) => this.push({ expect: name, kind: 'message', absent: true, withinMs: i === 0 ? turnQuietMs : 1 }));
  }
}

/** The case as client-suite steps with their expectations. */
export function renderTurnCase(c: TurnCase): ClientStepFile[] {
  return new TurnRender(c).render();
}
