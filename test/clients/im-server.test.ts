/**
 * The IM server protosim plays for client programs: the course interface's exact bodies, the
 * model's store behind it, every request recorded, and its faults.
 */
import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { ImServer } from '../../src/conformance/clients/im-server.js';

type Outcome = { status: number; body: string } | { error: string };

function get(url: string, query: string): Promise<Outcome> {
  return new Promise((resolveGet) => {
    const req = request(`${url}?${query}`, { agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolveGet({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', (e: NodeJS.ErrnoException) => resolveGet({ error: e.code ?? e.message }));
    req.end();
  });
}

let server: ImServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('ImServer', () => {
  it('answers with the course server bodies: value + newline, a bare newline for a missing key, keys then one more newline', async () => {
    server = new ImServer();
    const url = await server.urlFor('c1');
    expect(await get(url, 'action=get&key=connected')).toEqual({ status: 200, body: '\n' });
    expect(await get(url, 'action=keys')).toEqual({ status: 200, body: '\n' });
    expect(await get(url, 'action=set&key=connected&value=1')).toEqual({ status: 200, body: '\n' });
    expect(await get(url, 'action=set&key=message&value=a%20b/c+d')).toEqual({ status: 200, body: '\n' });
    expect(await get(url, 'action=get&key=message')).toEqual({ status: 200, body: 'a b/c d\n' });
    expect(await get(url, 'action=keys')).toEqual({ status: 200, body: 'connected\nmessage\n\n' });
    expect(await get(url, 'action=unset&key=connected')).toEqual({ status: 200, body: '\n' });
    expect(await get(url, 'action=bogus')).toMatchObject({ status: 200, body: expect.stringMatching(/^error: unknown action "bogus"/) });
    expect(server.data()).toEqual({ message: 'a b/c d' });
  });

  it('records each request with its client (one port per client, one store) and counts the polling rate', async () => {
    server = new ImServer();
    const u1 = await server.urlFor('c1');
    const u2 = await server.urlFor('c2');
    expect(u1).not.toBe(u2);
    await get(u1, 'action=set&key=lock&value=1');
    for (let i = 0; i < 5; i++) await get(u2, 'action=get&key=lock');
    expect(server.requests.map((r) => [r.client, r.action, r.key, r.value])).toEqual([
      ['c1', 'set', 'lock', '1'],
      ...Array.from({ length: 5 }, () => ['c2', 'get', 'lock', undefined]),
    ]);
    expect(server.requests[1]!.reply).toEqual({ status: 200, body: '1\n' });
    const rates = server.pollingRates();
    expect(rates.c2!.requests).toBe(5);
    expect(rates.c2!.perSecond).toBeGreaterThan(0);
  });

  it('injects faults: HTTP 500, connection reset, slow replies, and keys left from an earlier session', async () => {
    server = new ImServer();
    server.preload({ connected: '2' });
    const url = await server.urlFor('c1');
    server.addFault({ kind: 'http-500', action: 'get', count: 1 });
    expect(await get(url, 'action=get&key=connected')).toMatchObject({ status: 500 });
    expect(await get(url, 'action=get&key=connected')).toEqual({ status: 200, body: '2\n' });
    server.addFault({ kind: 'reset', count: 1 });
    expect(await get(url, 'action=set&key=x&value=1')).toEqual({ error: 'ECONNRESET' });
    expect(server.data()).toEqual({ connected: '2' }); // a reset request was never applied
    server.addFault({ kind: 'slow', ms: 150, count: 1 });
    const t0 = performance.now();
    expect(await get(url, 'action=get&key=connected')).toEqual({ status: 200, body: '2\n' });
    expect(performance.now() - t0).toBeGreaterThanOrEqual(140);
    expect(server.requests.map((r) => r.fault)).toEqual(['http-500', undefined, 'reset', 'slow 150ms']);
  });

  it('start together: the first request of each client waits for the others, so both read before either writes', async () => {
    server = new ImServer();
    const u1 = await server.urlFor('c1');
    const u2 = await server.urlFor('c2');
    server.startTogether(['c1', 'c2'], 5000);
    const arrived = new Promise<void>((r) => server!.onRequest((_rec, phase) => phase === 'arrived' && r()));
    const first = get(u1, 'action=get&key=connected');
    await arrived; // c1's request reached the server (and was dealt with at once, as it arrived)
    expect(server.requests[0]!.reply).toBe('none'); // held: c2 has not asked yet
    expect(server.requests[0]!.fault).toBe('start-together');
    const second = get(u2, 'action=get&key=connected');
    expect(await first).toEqual({ status: 200, body: '\n' });
    expect(await second).toEqual({ status: 200, body: '\n' });
    expect(server.requests.map((r) => r.fault)).toEqual(['start-together', 'start-together']);
  });

  it('hold: the request is applied, its reply kept until released', async () => {
    server = new ImServer();
    const url = await server.urlFor('c1');
    const held = new Promise<void>((r) => server!.onRequest((_rec, phase) => phase === 'held' && r()));
    server.addFault({ kind: 'hold', client: 'c1', action: 'set', count: 1 });
    const reply = get(url, 'action=set&key=connected&value=1');
    await held;
    expect(server.data()).toEqual({ connected: '1' });
    server.releaseHeld();
    expect(await reply).toEqual({ status: 200, body: '\n' });
  });
});
