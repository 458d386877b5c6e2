/**
 * The independent quic-go client of corpus/ping-liveness-quic against a minimal ping-liveness endpoint
 * on protosim's QUIC server side (src/transports/quic-transport.ts): the client's streams are read and
 * answered on the stream they came on, a message the server sends unprompted goes on a stream of its
 * own, the client's logout and its connection's end are seen, and no stream is left open.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listenQuic, type QuicClosed, type QuicListener, type QuicPeer } from '../../src/transports/quic-transport.js';
import { GoPrograms, goMissing } from './go-programs.js';
import { mtype, wire, type WireMessage } from './ping-liveness-messages.js';

const missing = goMissing();
const go = missing ? undefined : new GoPrograms();

interface Seen {
  messages: WireMessage[];
  closed: QuicClosed[];
}

/** A minimal ping-liveness server: enough to talk to a client, not a reference server. */
async function endpoint(options: { expireOnFirstChat?: boolean; idleTimeoutMs?: number } = {}): Promise<{ listener: QuicListener; seen: Seen }> {
  const seen: Seen = { messages: [], closed: [] };
  let sessions = 0;
  const listener = await listenQuic({ limits: { idleTimeoutMs: options.idleTimeoutMs ?? 10_000 } }, (peer: QuicPeer) => {
    let session: string | undefined;
    peer.onEvent = (event) => {
      if (event.kind === 'closed') seen.closed.push(event);
      // The client finished its side of a stream it opened: finish ours, so the stream ends.
      if (event.kind === 'stream-end' && event.stream.initiated === 'peer') void event.stream.finish();
      if (event.kind !== 'message') return;
      const m = event.value as WireMessage;
      seen.messages.push(m);
      const answer = (type: number, payload: Record<string, unknown>): void => void event.stream.write(wire(type, payload)).catch(() => undefined);
      if (m.mtype === mtype.versionRequest) answer(mtype.versionResponse, { selected_version: '1.0.0', success: true });
      if (m.mtype === mtype.login) {
        session = `${peer.id}/${++sessions}`;
        answer(mtype.loginResponse, { auth: 0, id: session });
      }
      if (m.mtype === mtype.chat) {
        answer(mtype.chat, m.payload);
        if (options.expireOnFirstChat) void peer.send(wire(mtype.error, { id: session, error_code: 2, message: 'timeout' })).catch(() => undefined);
      }
    };
  });
  return { listener, seen };
}

describe.skipIf(missing !== '')(`quic-go client vs protosim QUIC server side${missing ? ` (skipped: ${missing})` : ''}`, () => {
  const listeners: QuicListener[] = [];
  beforeAll(() => go!.build(['client-go-a']), 180_000);
  afterAll(async () => {
    await Promise.all(listeners.map((l) => l.close()));
    await go!.cleanup();
    expect(go!.runningCount()).toBe(0);
  });

  it('negotiates, logs in, chats, pings, logs out; every stream ends', async () => {
    const { listener, seen } = await endpoint();
    listeners.push(listener);
    const client = go!.start('client-go-a', ['-s', '127.0.0.1', '-p', String(listener.port), '-ping', '0.2']);
    client.type('user1');
    client.type('pass1');
    await client.waitFor(/logged in as user1/, 5000);
    client.type('hello from go');
    await client.waitFor(/echo: hello from go/, 5000);
    await new Promise((r) => setTimeout(r, 500)); // a few pings
    client.type('!quit');
    expect(await client.exited).toEqual({ code: 0, signal: null });
    expect(client.stdout).toMatch(/^version 1\.0\.0$/m);
    expect(client.stdout).toMatch(/logged out/);
    const types = seen.messages.map((m) => m.mtype);
    expect(types.slice(0, 3)).toEqual([mtype.versionRequest, mtype.login, mtype.chat]);
    expect(types).toContain(mtype.ping);
    expect(types.at(-1)).toBe(mtype.logout);
    expect(seen.messages.at(-1)!.payload.id).toBe(seen.messages.find((m) => m.mtype === mtype.chat)!.payload.id);
    for (const m of seen.messages) expect(m.sz).toBe(Buffer.byteLength(JSON.stringify(m.payload)));
    // The client closed its connection (application code 0) after logging out.
    await expect.poll(() => seen.closed.length, { timeout: 2000 }).toBe(1);
    expect(seen.closed[0]).toMatchObject({ how: 'peer', code: 0, isApp: true });
    expect(listener.connectionCount()).toBe(0);
    expect(listener.streamCounts().open).toBe(0);
    expect(listener.streamCounts().opened).toBe(seen.messages.length);
  });

  it('a message the server sends unprompted, on its own stream, reaches the client (session timed out)', async () => {
    const { listener } = await endpoint({ expireOnFirstChat: true });
    listeners.push(listener);
    const client = go!.start('client-go-a', ['-s', '127.0.0.1', '-p', String(listener.port)]);
    client.type('user2');
    client.type('pass2');
    client.type('hi');
    expect((await client.exited).code).toBe(1);
    expect(client.stdout).toMatch(/session timed out/);
  });

  it('a client killed without logout is seen by the server as an idle timeout', async () => {
    const { listener, seen } = await endpoint({ idleTimeoutMs: 1000 });
    listeners.push(listener);
    const client = go!.start('client-go-a', ['-s', '127.0.0.1', '-p', String(listener.port)]);
    client.type('user1');
    client.type('pass1');
    await client.waitFor(/logged in as user1/, 5000);
    await client.kill();
    await expect.poll(() => seen.closed.length, { timeout: 5000 }).toBe(1);
    expect(seen.closed[0]).toMatchObject({ how: 'idle-timeout' });
    expect(seen.messages.map((m) => m.mtype)).not.toContain(mtype.logout);
    expect(listener.connectionCount()).toBe(0);
  });
});
