/**
 * protosim's QUIC client (src/transports/quic-transport.ts) against the independent quic-go servers of
 * corpus/ping-liveness-quic: the seed's framing (one JSON object per stream write), its variants
 * (several in one write, one split across writes), version negotiation, login, echo, logout, a
 * stream reset, a connection closed without logout, and what tells the three servers apart.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectQuic, type QuicPeer } from '../../src/transports/quic-transport.js';
import { GoPrograms, goMissing, type RunningProgram } from './go-programs.js';
import { login, mtype, nextEvent, nextMessage, request, wire } from './ping-liveness-messages.js';

const missing = goMissing();
const go = missing ? undefined : new GoPrograms();
const peers: QuicPeer[] = [];
let correct = 0;
let correctServer: RunningProgram | undefined;
let faithful = 0;
let defective = 0;

async function connect(port: number): Promise<QuicPeer> {
  const peer = await connectQuic('127.0.0.1', port, { alpn: ['echo-protocol'], serverName: 'localhost', limits: { idleTimeoutMs: 10_000 } });
  peers.push(peer);
  return peer;
}

describe.skipIf(missing !== '')(`protosim QUIC client vs quic-go servers${missing ? ` (skipped: ${missing})` : ''}`, () => {
  beforeAll(async () => {
    await go!.build(['server-go-a', 'server-go-faithful', 'server-go-defective']);
    const servers = await Promise.all([go!.startServer('server-go-a', ['-t', '30']), go!.startServer('server-go-faithful', ['-t', '1']), go!.startServer('server-go-defective')]);
    [correct, faithful, defective] = [servers[0]!.port, servers[1]!.port, servers[2]!.port];
    correctServer = servers[0]!.run;
  }, 180_000);

  afterAll(async () => {
    await Promise.all(peers.map((peer) => peer.close()));
    await go!.cleanup();
    expect(go!.runningCount()).toBe(0);
  });

  it('negotiates, logs in, gets its chat echoed on the same stream, refuses bad credentials, logs out', async () => {
    const a = await connect(correct);
    const version = await request(a, mtype.versionRequest, { supported_versions: ['1.0.0'] });
    expect(version.message).toMatchObject({ mtype: mtype.versionResponse, payload: { selected_version: '1.0.0', success: true }, version: '1.0.0' });
    expect(version.stream.streamId).toBe(version.sent.streamId);
    expect((await request(a, mtype.login, { username: 'user1', password: 'nope' })).message.payload).toMatchObject({ auth: 1 });
    const ok = await request(a, mtype.login, { username: 'user1', password: 'pass1' });
    expect(ok.message.payload.auth).toBe(0);
    const id = ok.message.payload.id;
    const echo = await request(a, mtype.chat, { id, time: '2026-01-01T00:00:00Z', message: 'hello over QUIC' });
    expect(echo.message).toMatchObject({ mtype: mtype.chat, payload: { id, message: 'hello over QUIC' } });
    expect(echo.message.sz).toBe(Buffer.byteLength(JSON.stringify(echo.message.payload)));
    // A second connection is refused user1 while a is logged in, and let in once a logs out.
    const b = await connect(correct);
    await request(b, mtype.versionRequest, { supported_versions: ['1.0.0'] });
    expect((await request(b, mtype.login, { username: 'user1', password: 'pass1' })).message).toMatchObject({ mtype: mtype.error, payload: { error_code: 3 } });
    await a.send(wire(mtype.logout, { id }));
    await new Promise((r) => setTimeout(r, 200));
    expect((await request(b, mtype.login, { username: 'user1', password: 'pass1' })).message.payload).toMatchObject({ auth: 0 });
    await b.close();
  });

  it('reads several messages in one stream write, and one message split across writes', async () => {
    const a = await connect(correct);
    const both = a.openStream();
    await both.write(wire(mtype.versionRequest, { supported_versions: ['1.0.0'] }) + wire(mtype.login, { username: 'user2', password: 'pass2' }));
    await both.finish();
    const first = await nextMessage(a);
    const second = await nextMessage(a);
    expect([first.message.mtype, second.message.mtype]).toEqual([mtype.versionResponse, mtype.loginResponse]);
    expect(first.stream.streamId).toBe(both.streamId);
    const id = second.message.payload.id;
    const text = wire(mtype.chat, { id, time: 't', message: 'split in two' });
    const split = a.openStream();
    await split.write(text.slice(0, 17));
    await new Promise((r) => setTimeout(r, 100));
    await split.write(text.slice(17));
    await split.finish();
    expect((await nextMessage(a)).message.payload).toMatchObject({ message: 'split in two' });
    await a.close();
  });

  it('a stream reset mid-message is seen by the server, which keeps serving the connection; garbage ends only its stream', async () => {
    const a = await connect(correct);
    const half = a.openStream();
    await half.write('{"mtype":7,"payload":{"supp');
    half.reset(7);
    // The connection still serves other streams.
    expect((await request(a, mtype.versionRequest, { supported_versions: ['1.0.0'] })).message.payload).toMatchObject({ success: true });
    const garbage = a.openStream();
    await garbage.write('hello, not JSON');
    // The server stops reading that stream (STOP_SENDING code 1) and finishes its own side.
    // other events may come first, in either order: the end of another stream, the STOP_SENDING
    // (a stream-reset) of this one or of the reset stream
    let ended = await a.next(3000);
    const isGarbageEnd = (e: typeof ended): boolean => e.kind === 'stream-end' && e.stream.streamId === garbage.streamId;
    while (!isGarbageEnd(ended) && (ended.kind === 'stream-end' || ended.kind === 'stream-reset')) ended = await a.next(3000);
    expect(ended).toMatchObject({ kind: 'stream-end', insideMessage: false, stream: { streamId: garbage.streamId } });
    // The server saw our reset, with its code.
    // (its log line may come a moment after the replies on other streams)
    await expect.poll(() => correctServer!.stderr, { timeout: 5000, interval: 50 }).toMatch(/stream \d+ canceled with error code 7/);
    await a.close();
  });

  it('a connection closed without logout ends the session at once (correct); the seed-faithful server keeps it until its timeout', async () => {
    const a = await connect(correct);
    await login(a, 'user2', 'pass2');
    await a.close({ code: 0, reason: 'gone without LOGOUT' });
    await new Promise((r) => setTimeout(r, 200));
    const b = await connect(correct);
    expect(await login(b, 'user2', 'pass2')).toBeTruthy();
    await b.close();

    const c = await connect(faithful);
    await login(c, 'user1', 'pass1');
    await c.close();
    const d = await connect(faithful);
    await request(d, mtype.versionRequest, { supported_versions: ['1.0.0'] });
    expect((await request(d, mtype.login, { username: 'user1', password: 'pass1' })).message.payload).toMatchObject({ error_code: 3 });
    await new Promise((r) => setTimeout(r, 1500)); // faithful runs with -t 1
    expect((await request(d, mtype.login, { username: 'user1', password: 'pass1' })).message.payload).toMatchObject({ auth: 0 });
    await d.close();
  });

  it('session identity: another connection naming a session id gets ERROR 1 (correct) but chats as it (seed-faithful)', async () => {
    for (const [port, spoofWorks] of [[correct, false], [faithful, true]] as const) {
      const a = await connect(port);
      const b = await connect(port);
      const idA = await login(a, 'user2', 'pass2');
      await request(b, mtype.versionRequest, { supported_versions: ['1.0.0'] });
      const spoof = await request(b, mtype.chat, { id: idA, time: 't', message: 'as user1' });
      if (spoofWorks) expect(spoof.message).toMatchObject({ mtype: mtype.chat, payload: { id: idA, message: 'as user1' } });
      else expect(spoof.message).toMatchObject({ mtype: mtype.error, payload: { error_code: 1 } });
      await a.send(wire(mtype.logout, { id: idA }));
      await new Promise((r) => setTimeout(r, 100));
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('a failed version negotiation: ERROR 5 and the connection closed within 2 s (correct); silence and an open connection (defective twin)', async () => {
    const a = await connect(correct);
    await a.send(wire(mtype.versionRequest, { supported_versions: ['9.9.9'] }));
    expect((await nextMessage(a)).message.payload).toMatchObject({ success: false });
    expect((await nextMessage(a)).message.payload).toMatchObject({ error_code: 5 });
    const closed = await Promise.race([a.closed(), new Promise<'open'>((r) => setTimeout(() => r('open'), 2000))]);
    expect(closed).toMatchObject({ kind: 'closed', how: 'peer', code: 5, isApp: true });

    const b = await connect(defective);
    await b.send(wire(mtype.versionRequest, { supported_versions: ['9.9.9'] }));
    expect((await nextMessage(b)).message.payload).toMatchObject({ success: false });
    expect(await nextEvent(b, 1000)).toMatchObject({ kind: 'timeout' });
    expect(b.isOpen()).toBe(true);
    await b.close();
  });

  it('refuses a non-loopback target and a server that does not speak the ALPN', async () => {
    await expect(connectQuic('10.0.0.1', correct)).rejects.toThrow(/only loopback/);
    await expect(connectQuic('127.0.0.1', correct, { alpn: ['h3'], connectTimeoutMs: 1000 })).rejects.toThrow(/no QUIC connection/);
  });
});
