/**
 * One reading of ping-liveness: the model (the `fixed` server machine the live oracle steps) and the
 * reference server (the rules on the stream host, JSON lines over real sockets) give the same
 * messages, field for field, over generated traffic from three connections: version offers with and
 * without a common version, logins (good, bad, double, twice on one connection), chats, pings and
 * logouts naming the connection's session, another one, none or garbage, clean closes and resets.
 * Then the same with each defect the rules carry (the model machine built with the server's options).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fixed } from '../../src/models/ping-liveness/index.js';
import type { PingReply } from '../../src/models/ping-liveness/messages.js';
import { createPingServer } from '../../src/models/ping-liveness/server.js';
import { fixedServerOptions } from '../../src/models/ping-liveness/index.js';
import { pingRuleOptions } from '../../src/models/ping-liveness/server-program.js';
import { decodePingLine, pingOut, type PingOut } from '../../src/models/ping-liveness/wire.js';
import { ModelServer } from './model-server.js';
import { closedOnServer, connOf, serve } from './server-fixture.js';
import { StreamClient, jsonLines } from './stream-client.js';

type Client = StreamClient<Record<string, unknown>>;

/** A session id as a client may write it: one of the first sessions, none, or not a number. */
const ids = [1, 2, 3, null, 'abc', 0];

const payload: fc.Arbitrary<{ mtype: number; payload: Record<string, unknown> }> = fc.oneof(
  { weight: 2, arbitrary: fc.constantFrom(['1.0.0'], ['2.0'], [], ['2.0', '1.0.0']).map((v) => ({ mtype: 7, payload: { supported_versions: v } })) },
  { weight: 5, arbitrary: fc.constantFrom(['user1', 'pass1'], ['user2', 'pass2'], ['user1', 'nope'], ['nobody', 'x']).map(([username, password]) => ({ mtype: 1, payload: { username, password } })) },
  { weight: 6, arbitrary: fc.record({ id: fc.constantFrom(...ids), message: fc.constantFrom('hi', '', '😀 x', 'a\nb') }).map((p) => ({ mtype: 3, payload: p.id === null ? { message: p.message } : p })) },
  { weight: 2, arbitrary: fc.constantFrom(...ids).map((id) => ({ mtype: 6, payload: { id } })) },
  { weight: 2, arbitrary: fc.constantFrom(...ids).map((id) => ({ mtype: 4, payload: { id } })) },
);

type Action = { kind: 'message'; conn: number; line: { mtype: number; payload: Record<string, unknown> } } | { kind: 'close'; conn: number; reset: boolean };

const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 14, arbitrary: fc.record({ kind: fc.constant('message' as const), conn: fc.integer({ min: 0, max: 2 }), line: payload }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('close' as const), conn: fc.integer({ min: 0, max: 2 }), reset: fc.boolean() }) },
);

/** A PING naming no session: ERROR 1 whatever the state, so a barrier on its connection. */
const probe = { mtype: 6, payload: { id: 'probe' } };

interface Live {
  client: Client;
  id: string;
  got: PingOut[];
}

const line = (m: { mtype: number; payload: Record<string, unknown> }): string => `${JSON.stringify({ ...m, version: '1.0.0' })}\n`;

async function runBoth(actions: Action[], machine = fixed.roles.server!.machine, defect?: string): Promise<void> {
  const server = await serve('ping-liveness', defect ? { defect } : {});
  const model = new ModelServer<PingOut>(machine, { accounts: { user1: 'pass1', user2: 'pass2' }, sweepMs: 1e11, sessionTimeoutMs: 1e12 }, (m: PingReply) => pingOut(m));
  const live: Live[] = [];
  const done: Live[] = [];
  const connect = async (): Promise<Live> => {
    const client = (await StreamClient.open(server.port, jsonLines)) as Client;
    return { client, id: await connOf(server, client), got: [] };
  };
  const say = (c: Live, m: { mtype: number; payload: Record<string, unknown> }): void => {
    const decoded = decodePingLine(line(m).trim());
    if (!('request' in decoded)) throw new Error(`generated a line that is not a request: ${line(m)}`);
    model.step({ ...decoded.request, from: c.id });
    c.client.write(line(m));
  };
  const settle = async (context: string): Promise<void> => {
    for (const c of live) {
      while (c.got.length < model.sent(c.id).length) {
        const m = await c.client.next(1000).catch((e: Error) => {
          throw new Error(`${c.id} after ${context}: ${e.message}; model sent ${JSON.stringify(model.sent(c.id))}, server ${JSON.stringify(c.got)}`);
        });
        c.got.push({ mtype: m['mtype'] as number, payload: m['payload'] as Record<string, unknown> });
      }
    }
  };
  for (let i = 0; i < 3; i++) live.push(await connect());
  for (const a of actions) {
    const c = live[a.conn]!;
    if (a.kind === 'close') {
      await settle('a close');
      if (a.reset) c.client.reset();
      else c.client.end();
      model.step({ type: a.reset ? 'conn.reset' : 'conn.closed', peer: c.id });
      model.closed.add(c.id);
      done.push(c);
      live.splice(a.conn, 1);
      await closedOnServer(server, c.id);
      live.splice(a.conn, 0, await connect());
      continue;
    }
    const before = model.sent(c.id).length;
    say(c, a.line);
    if (model.sent(c.id).length === before) say(c, probe);
    await settle(JSON.stringify(a.line));
  }
  await settle('the end');
  for (const c of [...done, ...live]) expect(c.got, `what ${c.id} received`).toEqual(model.sent(c.id));
  for (const c of live) expect(await c.client.drain(5), `nothing more for ${c.id}`).toEqual([]);
  await server.close();
}

describe('ping-liveness: the model and the reference server give the same answers', () => {
  it('over generated traffic from three connections', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(action, { minLength: 4, maxLength: 24 }), async (actions) => runBoth(actions)),
      { numRuns: 25, seed: 20240619, endOnFailure: true },
    );
  }, 60_000);

  for (const defect of ['trust-session-id', 'allow-double-login', 'silent-version-mismatch', 'no-heartbeat-timeout']) {
    it(`with the defect ${defect} (the rules' option, in the model machine and the server)`, async () => {
      const machine = createPingServer(pingRuleOptions(fixedServerOptions, 4096, defect));
      await fc.assert(
        fc.asyncProperty(fc.array(action, { minLength: 4, maxLength: 20 }), async (actions) => runBoth(actions, machine, defect)),
        { numRuns: 8, seed: 20240620, endOnFailure: true },
      );
    }, 60_000);
  }
});
