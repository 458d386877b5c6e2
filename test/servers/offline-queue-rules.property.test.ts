/**
 * One reading of offline-queue: the model (the `fixed` server machine the live oracle steps) and the
 * reference server (the rules on the stream host, over real sockets) give the same answer, to the
 * byte, over generated requests from several connections: every opcode, names that break the name
 * rules (`*`, `:`, empty, over 25, astral characters), over-long messages, the patterns on which
 * the two used to disagree. Plus the pure rules on their own: the matcher against an escaped-regex
 * reference and name validation.
 */
import fc from 'fast-check';
import { initialTransition, transition, type AnyMachineSnapshot } from 'xstate';
import { describe, expect, it } from 'vitest';
import { fixed } from '../../src/models/offline-queue/index.js';
import { modelQueueLimits, nameProblem } from '../../src/models/offline-queue/limits.js';
import { linearMatch, listMatches } from '../../src/models/offline-queue/match.js';
import { type QueueReply } from '../../src/models/offline-queue/messages.js';
import type { QueueServerContext } from '../../src/models/offline-queue/serve.js';
import { toServer2Client } from '../../src/models/offline-queue/wire.js';
import { openOq, type OqClient } from './offline-queue-client.js';
import { closedOnServer, serve } from './server-fixture.js';

const names = ['al', 'bo', 'a*', '*a', 'a*b', 'a:b', '', 'x'.repeat(26), '😀', 'a_', 'é'];
const patterns = ['*', '*a', 'a*', 'a*b', '_', '__', '', '😀', '_*', 'a.', '*'.repeat(65), '(a+)+'];
const texts = ['hi', '', 'a:b', 'm'.repeat(100), 'm'.repeat(101), '😀'.repeat(100)];

type Action = { kind: 'request'; conn: number; opcode: number; sender: string; receiver: string; msg: string } | { kind: 'reconnect'; conn: number };

const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 12, arbitrary: fc.record({
    kind: fc.constant('request' as const),
    conn: fc.integer({ min: 0, max: 2 }),
    opcode: fc.integer({ min: 1, max: 7 }),
    sender: fc.constantFrom(...names),
    receiver: fc.constantFrom(...names),
    msg: fc.constantFrom(...names, ...patterns, ...texts),
  }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('reconnect' as const), conn: fc.integer({ min: 0, max: 2 }) }) },
);

type Wire = { opcode: number; msg: string };

/** The model's server machine, with the host's confirmations (acks before a connection's next request). */
class ModelServer {
  private snapshot: AnyMachineSnapshot;
  readonly received = new Map<string, Wire[]>();
  private readonly machine = fixed.roles.server!.machine;

  constructor() {
    [this.snapshot] = initialTransition(this.machine, { ackTimeoutMs: 1e12 });
  }

  private step(event: Record<string, unknown>): void {
    const [next, actions] = transition(this.machine, this.snapshot, event as never);
    this.snapshot = next;
    for (const a of actions as unknown as { type: string; params?: { to: string; msg: QueueReply } }[]) {
      if (a.type !== 'send' || !a.params) continue;
      const list = this.received.get(a.params.to) ?? [];
      list.push(toServer2Client(a.params.msg));
      this.received.set(a.params.to, list);
    }
  }

  /** Every push to `conn` not yet confirmed is confirmed (it was read before `conn` spoke). */
  private confirm(conn: string): void {
    const ctx = this.snapshot.context as QueueServerContext;
    const session = ctx.sessions[conn];
    if (!session || ctx.accounts[session.name]?.conn !== conn) return;
    for (const p of ctx.unacked[session.name] ?? []) this.step({ type: 'REQUEST', opcode: 8, sender: '', receiver: '', msg: String(p.ref), from: conn });
  }

  request(conn: string, r: { opcode: number; sender: string; receiver: string; msg: string }): void {
    this.confirm(conn);
    this.step({ type: 'REQUEST', ...r, from: conn });
  }

  closed(conn: string): void {
    this.confirm(conn);
    this.step({ type: 'conn.closed', peer: conn });
  }
}

async function runBoth(actions: Action[]): Promise<void> {
  const server = await serve('offline-queue', { deliveryConfirmMs: 60_000 });
  const model = new ModelServer();
  const live: { client: OqClient; id: string; got: Wire[] }[] = [];
  const closed: { id: string; got: Wire[] }[] = [];
  let next = 0;
  const open = async (): Promise<{ client: OqClient; id: string; got: Wire[] }> => ({ client: await openOq(server.port), id: `c${next++}`, got: [] });
  for (let i = 0; i < 3; i++) live.push(await open());
  /** Reads what `c` was sent until it has what the model sent it (pushes included), then what else arrived. */
  const collect = async (c: { client: OqClient; id: string; got: Wire[] }, after: string) => {
    const expected = (model.received.get(c.id) ?? []).length;
    while (c.got.length < expected) {
      const m = await c.client.next(1000).catch((e: Error) => {
        throw new Error(`${c.id} ${after}: ${e.message}; model sent ${JSON.stringify(model.received.get(c.id))}, server ${JSON.stringify(c.got)}`);
      });
      c.got.push({ opcode: m.opcode, msg: m.msg });
    }
    for (const m of c.client.unread()) c.got.push({ opcode: m.opcode, msg: m.msg });
  };
  for (const a of actions) {
    const c = live[a.conn]!;
    if (a.kind === 'reconnect') {
      await collect(c, 'before it closed');
      const gone = closedOnServer(server, c.client);
      c.client.end();
      await c.client.waitClosed();
      await gone;
      model.closed(c.id);
      closed.push(c);
      live[a.conn] = await open();
      continue;
    }
    const { conn: _conn, kind: _kind, ...r } = a;
    model.request(c.id, r);
    c.client.request(r);
    // Wait for this connection's reply (pushes to it may come first).
    await collect(c, `after ${JSON.stringify(r)}`);
  }
  await Promise.all(live.map((c) => collect(c, 'at the end')));
  for (const c of [...closed, ...live]) expect(c.got, `what ${c.id} received`).toEqual(model.received.get(c.id) ?? []);
}

describe('offline-queue: the model and the reference server give the same answers', () => {
  it('over generated requests from three connections (every opcode, bad names, long input, reconnects)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(action, { minLength: 4, maxLength: 20 }), async (actions) => runBoth(actions)),
      { numRuns: 25, seed: 20240613, endOnFailure: true },
    );
  }, 60_000);
});

describe('offline-queue pure rules', () => {
  /** Reference semantics: the pattern as a fully escaped regular expression over code points. */
  const reference = (pattern: string, name: string): boolean => {
    const source = [...pattern].map((c) => (c === '_' ? '.' : c === '*' ? '.*' : c.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&'))).join('');
    return new RegExp(`^${source}$`, 'su').test(name);
  };

  it('the matcher: the cases the model and the old server disagreed on', () => {
    expect(linearMatch('*', '*a').matches).toBe(true);
    expect(linearMatch('a*', 'a*b').matches).toBe(true);
    expect(linearMatch('_', '😀').matches).toBe(true);
    expect(listMatches(['b', 'a'], '', 'linear', 1000).names).toEqual(['a', 'b']);
  });

  it('the matcher agrees with the escaped-regex reference, astral characters included (property)', () => {
    const unit = fc.constantFrom('a', 'b', '_', '*', '.', '😀', 'é');
    fc.assert(
      fc.property(fc.string({ unit, maxLength: 8 }), fc.string({ unit, maxLength: 10 }), (pattern, name) => {
        expect(linearMatch(pattern, name).matches).toBe(reference(pattern, name));
      }),
      { numRuns: 2000, seed: 11 },
    );
  });

  it('name rules: 1..25 code points, no ":", "*" or control characters (property)', () => {
    const unit = fc.constantFrom('a', '_', '*', ':', '\n', '\u007f', '😀', ' ');
    fc.assert(
      fc.property(fc.string({ unit, maxLength: 30 }), (name) => {
        const ok = [...name].length >= 1 && [...name].length <= 25 && !/[:*\u0000-\u001f\u007f]/.test(name);
        expect(nameProblem(name, modelQueueLimits) === null).toBe(ok);
      }),
      { numRuns: 1000, seed: 12 },
    );
  });
});
