import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/servers/index.js';
import { openJsonClient, type StreamClient } from './stream-client.js';
import { applied, closedOnServer, connOf, serve, within } from './server-fixture.js';

type Client = StreamClient<Record<string, unknown>>;

function msg(mtype: number, payload: Record<string, unknown>): string {
  return JSON.stringify({ mtype, payload, version: '1.0.0', sz: JSON.stringify(payload).length }) + '\n';
}

async function loggedIn(port: number, username: string, password: string): Promise<{ client: Client; id: number }> {
  const client = await openJsonClient(port);
  client.write(msg(7, { supported_versions: ['1.0.0'] }));
  expect((await client.next()).mtype).toBe(8);
  client.write(msg(1, { username, password }));
  const reply = await client.next();
  expect(reply).toMatchObject({ mtype: 2, payload: { auth: 0 } });
  return { client, id: (reply['payload'] as { id: number }).id };
}

describe('ping-liveness server', () => {
  it('negotiates a version: VERSION_RESPONSE for a common one, ERROR 5 for none', async () => {
    const { port } = await serve('ping-liveness');
    const c = await openJsonClient(port);
    c.write(msg(7, { supported_versions: ['0.9', '1.0.0'] }));
    const ok = await c.next();
    expect(ok).toMatchObject({ mtype: 8, payload: { selected_version: '1.0.0', success: true }, version: '1.0.0' });
    expect(ok['sz']).toBe(JSON.stringify(ok['payload']).length);
    c.write(msg(7, { supported_versions: ['2.0.0'] }));
    expect(await c.next()).toMatchObject({ mtype: 5, payload: { error_code: 5 } });
  });

  it('logs in with the seed accounts and refuses bad credentials with auth 1', async () => {
    const { port } = await serve('ping-liveness');
    const c = await openJsonClient(port);
    c.write(msg(1, { username: 'user1', password: 'wrong' }));
    expect(await c.next()).toMatchObject({ mtype: 2, payload: { auth: 1 } });
    c.write(msg(1, { username: 'nobody', password: 'pass1' }));
    expect(await c.next()).toMatchObject({ mtype: 2, payload: { auth: 1 } });
    c.write(msg(1, { username: 'user2', password: 'pass2' }));
    expect(await c.next()).toMatchObject({ mtype: 2, payload: { auth: 0, id: 1 } });
  });

  it('echoes chat messages with the session id of the connection', async () => {
    const { port } = await serve('ping-liveness');
    const { client, id } = await loggedIn(port, 'user1', 'pass1');
    client.write(msg(3, { id, time: '12:00', message: 'hello' }));
    expect(await client.next()).toMatchObject({ mtype: 3, payload: { id, time: '12:00', message: 'hello' } });
    client.write(msg(3, { message: 'no id given' }));
    expect(await client.next()).toMatchObject({ mtype: 3, payload: { id, message: 'no id given' } });
  });

  it('refuses a second login of the same user with ERROR 3, and allows it after LOGOUT', async () => {
    const server = await serve('ping-liveness');
    const { port } = server;
    const a = await loggedIn(port, 'user1', 'pass1');
    const b = await openJsonClient(port);
    b.write(msg(1, { username: 'user1', password: 'pass1' }));
    expect(await b.next()).toMatchObject({ mtype: 5, payload: { error_code: 3 } });
    await applied(server, a.client, () => a.client.write(msg(4, { id: a.id })));
    b.write(msg(1, { username: 'user1', password: 'pass1' }));
    expect(await b.next()).toMatchObject({ mtype: 2, payload: { auth: 0 } });
    a.client.write(msg(3, { id: a.id, message: 'after logout' }));
    expect(await a.client.next()).toMatchObject({ mtype: 5, payload: { error_code: 1 } });
  });

  it('logs a session out when its connection closes', async () => {
    const server = await serve('ping-liveness');
    const { port } = server;
    const a = await loggedIn(port, 'user1', 'pass1');
    const gone = closedOnServer(server, a.client);
    a.client.reset();
    await gone;
    const b = await loggedIn(port, 'user1', 'pass1');
    expect(b.id).toBeGreaterThan(a.id);
  });

  it('refuses CHAT, PING and LOGOUT naming another session with ERROR 1 and leaves that session alone', async () => {
    const { port } = await serve('ping-liveness');
    const victim = await loggedIn(port, 'user1', 'pass1');
    const attacker = await loggedIn(port, 'user2', 'pass2');
    attacker.client.write(msg(3, { id: victim.id, message: 'as user1' }));
    expect(await attacker.client.next()).toMatchObject({ mtype: 5, payload: { error_code: 1, id: victim.id } });
    attacker.client.write(msg(4, { id: victim.id }));
    expect(await attacker.client.next()).toMatchObject({ mtype: 5, payload: { error_code: 1 } });
    victim.client.write(msg(3, { id: victim.id, message: 'still here' }));
    // Anything the attacker's requests sent the victim was written before this echo, so it came first.
    expect(await victim.client.next()).toMatchObject({ mtype: 3, payload: { id: victim.id, message: 'still here' } });
    expect(victim.client.unread()).toEqual([]);
  });

  it('refuses chat before login with ERROR 1', async () => {
    const { port } = await serve('ping-liveness');
    const c = await openJsonClient(port);
    c.write(msg(3, { id: 1, message: 'hi' }));
    expect(await c.next()).toMatchObject({ mtype: 5, payload: { error_code: 1 } });
    c.write(msg(6, { id: 1 }));
    expect(await c.next()).toMatchObject({ mtype: 5, payload: { error_code: 1 } });
  });

  it('drops a silent session after the heartbeat timeout (ERROR 2) so the user can log in again; PING keeps it', async () => {
    // Time is the subject here: the server runs on a clock the test moves.
    const clock = new ManualClock();
    const server = await serve('ping-liveness', { heartbeatTimeoutMs: 300, clock });
    const silent = await loggedIn(server.port, 'user1', 'pass1');
    const pinging = await loggedIn(server.port, 'user2', 'pass2');
    const ping = () => applied(server, pinging.client, () => pinging.client.write(msg(6, { id: pinging.id })));
    clock.advance(299);
    expect(silent.client.unread()).toEqual([]);
    await ping();
    clock.advance(1); // 300 ms without a word from the silent session
    expect(await silent.client.next()).toMatchObject({ mtype: 5, payload: { error_code: 2, id: silent.id } });
    const again = await loggedIn(server.port, 'user1', 'pass1');
    expect(again.id).not.toBe(silent.id);
    for (let i = 0; i < 4; i++) {
      clock.advance(250);
      await ping();
    }
    // 1.3 s in, pinged every 250 ms: no timeout for the pinging session (an ERROR 2 would come first)
    pinging.client.write(msg(3, { id: pinging.id, message: 'alive' }));
    expect(await pinging.client.next()).toMatchObject({ mtype: 3, payload: { message: 'alive' } });
  });

  it('answers garbage, wrong shapes and unsupported message versions with errors and keeps serving', async () => {
    const { port } = await serve('ping-liveness', { limits: { maxMessageChars: 10, maxFrameBytes: 256 } });
    const c = await openJsonClient(port);
    c.write('this is not json\n');
    expect(await c.next()).toMatchObject({ mtype: 5, payload: { error_code: 4 } });
    c.write('[1,2]\n{"mtype":1}\n{"mtype":2,"payload":{}}\n');
    for (let i = 0; i < 3; i++) expect(await c.next()).toMatchObject({ mtype: 5, payload: { error_code: 4 } });
    c.write(JSON.stringify({ mtype: 1, payload: { username: 'user1', password: 'pass1' }, version: '9.9' }) + '\n');
    expect(await c.next()).toMatchObject({ mtype: 5, payload: { error_code: 5 } });
    c.write(msg(1, { username: 'user1', password: 'pass1' }));
    expect(await c.next()).toMatchObject({ mtype: 2, payload: { auth: 0 } });
    c.write(msg(3, { message: 'x'.repeat(11) }));
    expect(await c.next()).toMatchObject({ mtype: 5, payload: { error_code: 4, message: 'message longer than maxMessageChars=10' } });
    c.write('x'.repeat(300));
    expect(await c.next()).toMatchObject({ mtype: 5, payload: { error_code: 4, message: 'message longer than maxFrameBytes=256' } });
    expect(await c.waitClosed()).toBe(true);
  });

  it('serves several clients at once', async () => {
    const { port } = await serve('ping-liveness', { accounts: 20 });
    const clients = await Promise.all(Array.from({ length: 20 }, (_, i) => loggedIn(port, `user${i + 1}`, `pass${i + 1}`)));
    for (const [i, { client, id }] of clients.entries()) client.write(msg(3, { id, message: `m${i}` }));
    for (const [i, { client, id }] of clients.entries()) {
      expect(await client.next()).toMatchObject({ mtype: 3, payload: { id, message: `m${i}` } });
    }
  });

  it('closes a connection whose line is unfinished after readTimeoutMs', async () => {
    const { port } = await serve('ping-liveness', { limits: { readTimeoutMs: 200 } });
    const c = await openJsonClient(port);
    c.write('{"mtype":1,');
    expect(await c.next()).toMatchObject({ mtype: 5, payload: { error_code: 4, message: 'read timeout: frame not completed within readTimeoutMs=200' } });
    expect(await c.waitClosed()).toBe(true);
  });

  it('closes an idle connection after idleTimeoutMs', async () => {
    const clock = new ManualClock();
    const server = await serve('ping-liveness', { limits: { idleTimeoutMs: 200 }, clock });
    const c = await openJsonClient(server.port);
    await connOf(server, c); // the idle timeout runs from here
    const offer = async (): Promise<void> => {
      c.write(msg(7, { supported_versions: ['1.0.0'] }));
      expect(await c.next()).toMatchObject({ mtype: 8 }); // not the idle error: traffic starts the timeout again
    };
    clock.advance(150);
    await offer();
    clock.advance(199);
    await offer();
    clock.advance(200);
    expect(await c.next()).toMatchObject({ mtype: 5, payload: { message: 'idle: no traffic within idleTimeoutMs=200' } });
    expect(await c.waitClosed()).toBe(true);
  });

  it('disconnects a client that does not read once maxPendingWriteBytes is exceeded', async () => {
    const logs: string[] = [];
    const server = await serve('ping-liveness', { limits: { maxPendingWriteBytes: 64 * 1024 }, log: (l) => logs.push(l) });
    const { port } = server;
    const { client, id } = await loggedIn(port, 'user1', 'pass1');
    const dropped = server.events.waitFor((e) => e.type === 'connection-closed' && e.reason.includes('client does not read'), { what: 'the non-reading client disconnected', timeoutMs: 20_000 });
    client.socket.pause(); // never read: the echoes pile up in the kernel, then in the server
    const line = msg(3, { id, message: 'x'.repeat(4000) });
    for (let i = 0; i < 4000 && !client.closed; i++) {
      // the server reads on while its writes pile up: wait for it to take more, or to drop the client
      if (!client.socket.write(line)) await within(Promise.race([once(client.socket, 'drain'), client.closedPromise]), 10_000, 'the server to read on');
    }
    await dropped;
    expect(logs.some((l) => l.includes('client does not read: limit maxPendingWriteBytes=65536 exceeded'))).toBe(true);
    const other = await loggedIn(port, 'user2', 'pass2');
    other.client.write(msg(3, { id: other.id, message: 'unaffected' }));
    expect(await other.client.next()).toMatchObject({ mtype: 3, payload: { message: 'unaffected' } });
  });

  it('refuses connections beyond maxConnections with an error', async () => {
    const { port } = await serve('ping-liveness', { limits: { maxConnections: 1 } });
    const first = await openJsonClient(port);
    const second = await openJsonClient(port);
    expect(await second.next()).toMatchObject({ mtype: 5, payload: { message: 'server busy: limit maxConnections=1 reached' } });
    expect(await second.waitClosed()).toBe(true);
    first.write(msg(7, { supported_versions: ['1.0.0'] }));
    expect(await first.next()).toMatchObject({ mtype: 8 });
  });
});

describe('ping-liveness defects', () => {
  it('defect no-heartbeat-timeout: a silent session is never dropped and locks its user out', async () => {
    const clock = new ManualClock();
    const server = await serve('ping-liveness', { heartbeatTimeoutMs: 200, defect: 'no-heartbeat-timeout', clock });
    const { port } = server;
    const silent = await loggedIn(port, 'user1', 'pass1');
    clock.advance(1000); // five heartbeat timeouts
    // no ERROR 2: the reply to the next request is the first thing the silent session reads
    silent.client.write(msg(7, { supported_versions: ['1.0.0'] }));
    expect(await silent.client.next()).toMatchObject({ mtype: 8 });
    const gone = closedOnServer(server, silent.client);
    silent.client.reset(); // even a vanished client stays logged in
    await gone;
    const b = await openJsonClient(port);
    b.write(msg(1, { username: 'user1', password: 'pass1' }));
    expect(await b.next()).toMatchObject({ mtype: 5, payload: { error_code: 3 } });
  });

  it('defect trust-session-id: LOGOUT naming another session logs that session out', async () => {
    const server = await serve('ping-liveness', { defect: 'trust-session-id' });
    const { port } = server;
    const victim = await loggedIn(port, 'user1', 'pass1');
    const attacker = await loggedIn(port, 'user2', 'pass2');
    attacker.client.write(msg(3, { id: victim.id, message: 'as user1' }));
    expect(await attacker.client.next()).toMatchObject({ mtype: 3, payload: { id: victim.id } });
    await applied(server, attacker.client, () => attacker.client.write(msg(4, { id: victim.id })));
    victim.client.write(msg(3, { id: victim.id, message: 'still here?' }));
    expect(await victim.client.next()).toMatchObject({ mtype: 5, payload: { error_code: 1 } });
  });

  it('defect silent-version-mismatch: no answer to a version offer with nothing in common', async () => {
    const { port } = await serve('ping-liveness', { defect: 'silent-version-mismatch' });
    const c = await openJsonClient(port);
    c.write(msg(7, { supported_versions: ['2.0.0'] }));
    // no answer: the reply to the next request is the first thing the client reads
    c.write(msg(7, { supported_versions: ['1.0.0'] }));
    expect(await c.next()).toMatchObject({ mtype: 8, payload: { selected_version: '1.0.0' } });
  });

  it('defect allow-double-login: a user logged in elsewhere logs in again', async () => {
    const { port } = await serve('ping-liveness', { defect: 'allow-double-login' });
    await loggedIn(port, 'user1', 'pass1');
    const second = await openJsonClient(port);
    second.write(msg(1, { username: 'user1', password: 'pass1' }));
    expect(await second.next()).toMatchObject({ mtype: 2, payload: { auth: 0 } });
  });
});
