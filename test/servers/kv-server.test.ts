import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { InputError, TargetError } from '../../src/errors.js';
import { startServer } from '../../src/servers/index.js';
import { httpGet, kvQuery } from './http-client.js';
import { closedOnServer, connOf, serve } from './server-fixture.js';

describe('kv server: the IM interface of PROTOCOLS.md section 1', () => {
  it('answers get/set/unset/clear/keys with 200 text/html and one extra newline', async () => {
    const { address } = await serve('kv');
    const missing = await httpGet(address, kvQuery({ action: 'get', key: 'lock' }));
    expect(missing.status).toBe(200);
    expect(missing.headers['content-type']).toMatch(/^text\/html/);
    expect(missing.body).toBe('\n');
    expect((await httpGet(address, kvQuery({ action: 'keys' }))).body).toBe('\n');
    expect((await httpGet(address, kvQuery({ action: 'set', key: 'lock', value: '1' }))).body).toBe('\n');
    expect((await httpGet(address, kvQuery({ action: 'set', key: 'connected', value: 'on' }))).body).toBe('\n');
    expect((await httpGet(address, kvQuery({ action: 'get', key: 'connected' }))).body).toBe('on\n');
    expect((await httpGet(address, kvQuery({ action: 'keys' }))).body).toBe('connected\nlock\n\n'); // sorted by code point (src/models/kv-store/serve.ts)
    expect((await httpGet(address, kvQuery({ action: 'unset', key: 'lock' }))).body).toBe('\n');
    expect((await httpGet(address, kvQuery({ action: 'get', key: 'lock' }))).body).toBe('\n');
    expect((await httpGet(address, kvQuery({ action: 'keys' }))).body).toBe('connected\n\n');
    expect((await httpGet(address, kvQuery({ action: 'clear' }))).body).toBe('\n');
    expect((await httpGet(address, kvQuery({ action: 'keys' }))).body).toBe('\n');
  });

  it('stores an empty value and a value that is itself a newline, each plus one newline', async () => {
    const { address } = await serve('kv');
    await httpGet(address, kvQuery({ action: 'set', key: 'message', value: '' }));
    expect((await httpGet(address, kvQuery({ action: 'get', key: 'message' }))).body).toBe('\n');
    await httpGet(address, kvQuery({ action: 'set', key: 'message', value: '\n' }));
    expect((await httpGet(address, kvQuery({ action: 'get', key: 'message' }))).body).toBe('\n\n');
    await httpGet(address, '/?action=set&key=message'); // no value parameter: PHP's null, stored as ""
    expect((await httpGet(address, kvQuery({ action: 'get', key: 'message' }))).body).toBe('\n');
  });

  it('percent-decodes key and value, + as space, the last repeated parameter wins (PHP $_GET)', async () => {
    const { address } = await serve('kv');
    await httpGet(address, '/?action=set&key=a%2Fb%26c%3Dd&value=h%C3%A9llo+w%6Frld%0Aline2');
    expect((await httpGet(address, '/?action=get&key=a/b%26c%3Dd')).body).toBe('héllo world\nline2\n');
    expect((await httpGet(address, kvQuery({ action: 'keys' }))).body).toBe('a/b&c=d\n\n');
    await httpGet(address, '/?action=set&key=k&value=first&value=second');
    expect((await httpGet(address, '/?action=get&key=k')).body).toBe('second\n');
  });

  it('answers on any path, any method', async () => {
    const { address } = await serve('kv');
    await httpGet(address, '/anything/IMserver.php' + kvQuery({ action: 'set', key: 'status', value: 'one' }).slice(1));
    expect((await httpGet(address, '/~student/im/IMserver.php?action=get&key=status')).body).toBe('one\n');
    expect((await httpGet(address, '/x?action=get&key=status', 'POST')).body).toBe('one\n');
  });

  it('keeps stores apart, and stored data can never pick a store', async () => {
    const { address } = await serve('kv');
    await httpGet(address, kvQuery({ store: 'a', action: 'set', key: 'k', value: 'in-a' }));
    await httpGet(address, kvQuery({ store: 'b', action: 'set', key: 'k', value: 'in-b' }));
    // A key and a value that look like query syntax are stored verbatim in the default store.
    await httpGet(address, kvQuery({ action: 'set', key: 'k&store=a', value: 'x&store=b&action=clear' }));
    expect((await httpGet(address, kvQuery({ store: 'a', action: 'get', key: 'k' }))).body).toBe('in-a\n');
    expect((await httpGet(address, kvQuery({ store: 'b', action: 'get', key: 'k' }))).body).toBe('in-b\n');
    expect((await httpGet(address, kvQuery({ action: 'get', key: 'k' }))).body).toBe('\n');
    expect((await httpGet(address, kvQuery({ action: 'get', key: 'k&store=a' }))).body).toBe('x&store=b&action=clear\n');
    expect((await httpGet(address, kvQuery({ store: 'a', action: 'keys' }))).body).toBe('k\n\n');
    await httpGet(address, kvQuery({ store: 'a', action: 'clear' }));
    expect((await httpGet(address, kvQuery({ store: 'b', action: 'get', key: 'k' }))).body).toBe('in-b\n');
  });

  it('answers an unknown or missing action and a missing key with 200, an error line and a header', async () => {
    const { address } = await serve('kv');
    const unknown = await httpGet(address, kvQuery({ action: 'drop', key: 'k' }));
    expect(unknown.status).toBe(200);
    expect(unknown.body).toBe('error: unknown action "drop"; expected one of get, set, unset, clear, keys\n');
    expect(unknown.headers['x-protosim-error']).toBe('unknown-action');
    const noAction = await httpGet(address, '/');
    expect(noAction.body).toMatch(/^error: missing action/);
    expect(noAction.headers['x-protosim-error']).toBe('missing-action');
    for (const action of ['get', 'set', 'unset']) {
      const noKey = await httpGet(address, kvQuery({ action }));
      expect(noKey.status).toBe(200);
      expect(noKey.headers['x-protosim-error']).toBe('missing-key');
      expect(noKey.body).toBe(`error: action ${action} needs a non-empty key parameter\n`);
    }
    // Nothing was stored by the refused requests.
    expect((await httpGet(address, kvQuery({ action: 'keys' }))).body).toBe('\n');
  });

  it('refuses oversize keys, values and too many stores, naming the limit', async () => {
    const { address } = await serve('kv', { limits: { maxNameChars: 8, maxMessageChars: 10, maxEntries: 2 } });
    expect((await httpGet(address, kvQuery({ action: 'get', key: '123456789' }))).body).toBe('error: key longer than maxNameChars=8\n');
    expect((await httpGet(address, kvQuery({ action: 'set', key: 'k', value: '12345678901' }))).body).toBe('error: value longer than maxMessageChars=10\n');
    await httpGet(address, kvQuery({ action: 'set', key: 'a', value: '1' }));
    await httpGet(address, kvQuery({ action: 'set', key: 'b', value: '1' }));
    expect((await httpGet(address, kvQuery({ action: 'set', key: 'c', value: '1' }))).body).toBe('error: store full: limit maxEntries=2 reached\n');
    expect((await httpGet(address, kvQuery({ action: 'set', key: 'a', value: '2' }))).body).toBe('\n'); // overwrite is fine
    await httpGet(address, kvQuery({ store: 's1', action: 'keys' }));
    expect((await httpGet(address, kvQuery({ store: 's2', action: 'keys' }))).body).toBe('error: too many stores: limit maxEntries=2 reached\n');
  });

  it('answers an oversize request head with 431 and keeps serving', async () => {
    const { address } = await serve('kv', { limits: { maxFrameBytes: 2048 } });
    const big = await httpGet(address, kvQuery({ action: 'set', key: 'k', value: 'x'.repeat(4000) }));
    expect(big.status).toBe(431);
    expect((await httpGet(address, kvQuery({ action: 'get', key: 'k' }))).body).toBe('\n');
  });

  it('survives garbage bytes and abrupt disconnects', async () => {
    const { address, port } = await serve('kv');
    const reply = await new Promise<string>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => socket.write('\x00\xffGARBAGE /\r\n\r\n'));
      let text = '';
      socket.on('data', (d) => (text += d.toString('latin1')));
      socket.on('close', () => resolve(text));
    });
    expect(reply).toMatch(/^HTTP\/1\.1 400/);
    await new Promise<void>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.write('GET /?action=set&key=half');
        socket.resetAndDestroy();
        resolve();
      });
    });
    expect((await httpGet(address, kvQuery({ action: 'get', key: 'half' }))).body).toBe('\n');
  });

  it('answers a request target that is not a URL with an error line', async () => {
    const { port } = await serve('kv');
    const reply = await new Promise<string>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => socket.write('GET http://[::1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
      let text = '';
      socket.on('data', (d) => (text += d.toString('latin1')));
      socket.on('close', () => resolve(text));
    });
    expect(reply).toMatch(/^HTTP\/1\.1 200/);
    expect(reply).toMatch(/x-protosim-error: malformed-url/i);
    expect(reply.endsWith('error: malformed request URL\n')).toBe(true);
  });

  it('closes a request head not finished within readTimeoutMs', async () => {
    const { port } = await serve('kv', { limits: { readTimeoutMs: 300 } });
    const started = Date.now();
    const reply = await new Promise<string>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => socket.write('GET /?action=keys HTTP/1.1\r\nHost: x\r\n'));
      let text = '';
      socket.on('data', (d) => (text += d.toString('latin1')));
      socket.on('close', () => resolve(text));
    });
    expect(reply).toMatch(/^HTTP\/1\.1 408/);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('refuses non-loopback hosts, unknown protocols and defects with input errors', async () => {
    await expect(startServer('kv', { host: '0.0.0.0' })).rejects.toBeInstanceOf(InputError);
    await expect(startServer('kv', { host: '192.168.1.10' })).rejects.toThrow(/not a loopback address/);
    await expect(startServer('chat')).rejects.toThrow(/unknown protocol "chat"; servers exist for: kv, ping-liveness, register-exit, offline-queue/);
    await expect(startServer('kv', { defect: 'drop-offline-queue' })).rejects.toThrow(/valid defects: nonatomic-kv, no-trailing-newline, shared-stores/);
  });

  it('reports a port in use as a target error', async () => {
    const first = await serve('kv');
    await expect(startServer('kv', { port: first.port })).rejects.toBeInstanceOf(TargetError);
  });

  it('accepts the protocol names of the key-value protocols as aliases of kv', async () => {
    const server = await serve('lock-alternation');
    expect(server.protocol).toBe('kv');
    expect(server.address).toBe(`http://127.0.0.1:${server.port}`);
  });
});

describe('kv server under concurrency', () => {
  /** 60 concurrent sets of distinct keys in a fresh store: every one lands and `keys` lists them all. */
  async function concurrentDistinctSets(address: string, store = 'concurrent'): Promise<string[]> {
    const keys = Array.from({ length: 60 }, (_, i) => `key${i}`);
    await Promise.all(keys.map((key) => httpGet(address, kvQuery({ store, action: 'set', key, value: key.toUpperCase() }))));
    const listed = (await httpGet(address, kvQuery({ store, action: 'keys' }))).body;
    return listed.split('\n').filter((k) => k !== '');
  }

  /**
   * Two writers set the same key to long values while readers poll it: an atomic store only ever
   * shows the old value or one of the two whole values.
   */
  async function tornReads(address: string): Promise<string[]> {
    const a = 'A'.repeat(200);
    const b = 'B'.repeat(200);
    await httpGet(address, kvQuery({ action: 'set', key: 'message', value: 'old' }));
    const seen: string[] = [];
    // Readers poll for as long as the two sets are in flight (bounded), so the window in which a
    // half-written value is visible is read whatever the machine's load does to the timing.
    let writing = true;
    const writes = Promise.all([
      httpGet(address, kvQuery({ action: 'set', key: 'message', value: a })),
      httpGet(address, kvQuery({ action: 'set', key: 'message', value: b })),
    ]).finally(() => {
      writing = false;
    });
    const readers = Array.from({ length: 4 }, async () => {
      for (let i = 0; i < 500 && writing; i++) {
        seen.push((await httpGet(address, kvQuery({ action: 'get', key: 'message' }))).body.slice(0, -1));
      }
    });
    await Promise.all([writes, ...readers]);
    seen.push((await httpGet(address, kvQuery({ action: 'get', key: 'message' }))).body.slice(0, -1));
    return seen.filter((v) => v !== 'old' && v !== a && v !== b);
  }

  it('lands every one of many concurrent sets of distinct keys', async () => {
    const { address } = await serve('kv');
    const listed = await concurrentDistinctSets(address);
    expect(listed.sort()).toEqual(Array.from({ length: 60 }, (_, i) => `key${i}`).sort());
  });

  it('never shows a torn value to a concurrent reader', async () => {
    const { address } = await serve('kv');
    expect(await tornReads(address)).toEqual([]);
  });

  it('defect nonatomic-kv: concurrent sets of distinct keys are lost', async () => {
    const { address } = await serve('kv', { defect: 'nonatomic-kv' });
    // Losing a write needs two sets to overlap; on a loaded machine give it a few tries.
    let fewest = 60;
    for (let round = 0; round < 5 && fewest === 60; round++) fewest = Math.min(fewest, (await concurrentDistinctSets(address, `round${round}`)).length);
    expect(fewest).toBeLessThan(60);
  });

  it('defect nonatomic-kv: a concurrent reader sees a torn value', async () => {
    const { address } = await serve('kv', { defect: 'nonatomic-kv' });
    let torn: string[] = [];
    for (let round = 0; round < 5 && torn.length === 0; round++) torn = await tornReads(address);
    expect(torn.length).toBeGreaterThan(0);
    expect(torn[0]).toMatch(/^(A{100}|B{100})$/);
  });

  it('defect no-trailing-newline: bodies lack the extra newline', async () => {
    const { address } = await serve('kv', { defect: 'no-trailing-newline' });
    await httpGet(address, kvQuery({ action: 'set', key: 'lock', value: '1' }));
    expect((await httpGet(address, kvQuery({ action: 'get', key: 'lock' }))).body).toBe('1');
    expect((await httpGet(address, kvQuery({ action: 'keys' }))).body).toBe('lock\n');
    expect((await httpGet(address, kvQuery({ action: 'clear' }))).body).toBe('');
  });

  it('defect shared-stores: the store option is ignored', async () => {
    const { address } = await serve('kv', { defect: 'shared-stores' });
    await httpGet(address, kvQuery({ store: 'a', action: 'set', key: 'k', value: 'in-a' }));
    expect((await httpGet(address, kvQuery({ store: 'b', action: 'get', key: 'k' }))).body).toBe('in-a\n');
  });

  it('refuses connections beyond maxConnections and serves again once they close', async () => {
    const server = await serve('kv', { limits: { maxConnections: 2 } });
    const { address, port } = server;
    const held = await Promise.all([0, 1].map(() => new Promise<import('node:net').Socket>((resolve) => {
      const s = connect(port, '127.0.0.1', () => resolve(s));
    })));
    for (const s of held) await connOf(server, s);
    const refused = await httpGet(address, kvQuery({ action: 'keys' })).then(() => 'answered', (e: Error) => e.message);
    expect(refused).not.toBe('answered');
    const gone = held.map((s) => closedOnServer(server, s));
    for (const s of held) s.destroy();
    await Promise.all(gone);
    expect((await httpGet(address, kvQuery({ action: 'keys' }))).body).toBe('\n');
  });
});
