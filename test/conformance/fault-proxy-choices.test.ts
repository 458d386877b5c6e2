/**
 * The fault proxy driven through the kernel's choice sources (decisions asked, recorded and
 * replayed), its observers and controller hook, its bound on held bytes, and that it leaves
 * nothing open. Real sockets on loopback, as in fault-proxy-messages.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { replayChoices, seededChoices, type FaultProxy, type MessagePolicy, type ProxyChoices, type ProxyEvent } from '../../src/conformance/fault-proxy.js';
import { ControlledChoices } from '../../src/sim/kernel/choice.js';
import { client, jsonPreview, lineProxy, recordingServer, runCleanups, sendLines, sleep, until } from './proxy-fixture.js';

afterEach(runCleanups);

describe('fault proxy policies through a choice source', () => {
  it('asks the source in a fixed order per message and records each answer with its message', async () => {
    const server = await recordingServer();
    const choices = new ControlledChoices({ loss: [true, false, false], split: [true, false], 'split-parts': [2] });
    const proxy = await lineProxy(server, { choices, policy: { 'from-target': { lossRatio: 0.5, splitRatio: 0.5, splitGapMs: 80 } } });
    const c = await client(proxy);
    await sendLines(c.socket, ['aa', 'bbbb', 'cc'], 200);
    await until(() => c.text() === 'bbbb\ncc\n', 2000);
    expect(c.chunks).toEqual(['bb', 'bb\n', 'cc\n']);
    expect(server.connections[0]!.text()).toBe('aa\nbbbb\ncc\n');
    const m = (index: number) => ({ connection: 0, direction: 'from-target', index });
    expect(proxy.decisions).toEqual([
      { ...m(0), purpose: 'loss', value: true },
      { ...m(1), purpose: 'loss', value: false },
      { ...m(1), purpose: 'split', value: true },
      { ...m(1), purpose: 'split-parts', value: 2 },
      { ...m(2), purpose: 'loss', value: false },
      { ...m(2), purpose: 'split', value: false },
    ]);
  });

  it('a policy without a choice source is refused with what to give', async () => {
    const proxy = await lineProxy(await recordingServer());
    expect(() => proxy.setPolicy('both', { lossRatio: 0.1 })).toThrow(/give FaultProxyOptions.choices/);
  });

  /** Runs 24 lines through a proxy with `policy` both ways; what arrived where, and the decisions. */
  async function run(choices: ProxyChoices, policy: MessagePolicy) {
    const server = await recordingServer();
    const proxy = await lineProxy(server, { choices, policy: { 'to-target': policy, 'from-target': policy } });
    // Per stream: the order messages were written in, and which were dropped. (When a drop is seen
    // against the writes still queued, and how two streams' questions interleave, is the clock's.)
    const log: string[] = [];
    proxy.observe((e) => {
      if (e.kind === 'dropped') log.push(`${e.direction} drop ${e.index}`);
      if (e.kind === 'written' && e.part === e.parts - 1) log.push(`${e.direction} ${e.index}.${e.copy}`);
    });
    const c = await client(proxy);
    await sendLines(
      c.socket,
      Array.from({ length: 24 }, (_, i) => `line ${i}`),
      8,
    );
    c.socket.end();
    await c.closed;
    const stream = (d: string) => ({
      written: log.filter((l) => l.startsWith(d) && !l.includes('drop')),
      dropped: log.filter((l) => l.startsWith(d) && l.includes('drop')).sort(),
      decisions: proxy.decisions.filter((x) => x.direction === d),
    });
    return { toTarget: stream('to-target'), fromTarget: stream('from-target'), atServer: server.connections[0]!.text(), atClient: c.text(), decisions: proxy.decisions };
  }

  it('recorded decisions replayed through ControlledChoices give the same deliveries; another seed does not', async () => {
    // Waits long enough that a reorder or a merge never goes out for lack of followers before the
    // sender's FIN, so what is delivered depends on the decisions alone.
    const policy: MessagePolicy = {
      lossRatio: 0.15,
      duplicateRatio: 0.15,
      reorderRatio: 0.15,
      splitRatio: 0.2,
      mergeRatio: 0.15,
      delay: { kind: 'uniform', minMs: 0, maxMs: 15 },
      splitGapMs: 2,
      mergeWaitMsMax: 10_000,
      reorderWaitMsMax: 10_000,
    };
    const first = await run(seededChoices(7), policy);
    const purposes = new Set(first.decisions.map((d) => d.purpose));
    expect([...purposes].sort()).toEqual(['delay', 'duplicate', 'loss', 'merge', 'merge-messages', 'reorder', 'split', 'split-parts']);
    expect(new Set(first.decisions.map((d) => d.direction))).toEqual(new Set(['to-target', 'from-target']));
    const again = await run(replayChoices(first.decisions), policy);
    expect({ ...again, decisions: [] }).toEqual({ ...first, decisions: [] });
    const other = await run(seededChoices(8), policy);
    expect(other.toTarget).not.toEqual(first.toTarget);
  }, 20_000);
});

describe('fault proxy observers and controller', () => {
  it('an observer sees every message once, with its connection, direction, index, bytes and preview', async () => {
    const server = await recordingServer();
    const proxy = await lineProxy(server, { preview: jsonPreview });
    const seen: ProxyEvent[] = [];
    proxy.observe((e) => void (e.kind === 'seen' && seen.push(e)));
    const [a, b] = [await client(proxy), await client(proxy)];
    a.socket.write('{"n":1}\n{"n":2}\n');
    await until(() => a.text() === '{"n":1}\n{"n":2}\n', 1000);
    b.socket.write('not json\n');
    await until(() => b.text() === 'not json\n', 1000);
    const brief = seen.map((e) => (e.kind === 'seen' ? [e.connection, e.direction, e.index, e.bytes.toString(), e.preview] : []));
    expect(brief).toEqual([
      [0, 'to-target', 0, '{"n":1}\n', '{"n":1}'],
      [0, 'to-target', 1, '{"n":2}\n', '{"n":2}'],
      [0, 'from-target', 0, '{"n":1}\n', '{"n":1}'],
      [0, 'from-target', 1, '{"n":2}\n', '{"n":2}'],
      [1, 'to-target', 0, 'not json\n', undefined],
      [1, 'from-target', 0, 'not json\n', undefined],
    ]);
  });

  it('a controller holds every message and releases requests and replies in the order it chooses', async () => {
    const server = await recordingServer();
    const proxy = await lineProxy(server);
    proxy.control({ decide: () => 'hold' });
    const [a, b] = [await client(proxy), await client(proxy)];
    a.socket.write('from a\n');
    b.socket.write('from b\n');
    // requests: b's first
    await proxy.whenHeld(2, 2000, { direction: 'to-target' });
    proxy.release({ direction: 'to-target', connection: 1, order: [0] });
    await until(() => server.arrivals.length === 1, 1000);
    proxy.release({ direction: 'to-target' });
    await until(() => server.arrivals.length === 2, 1000);
    expect(server.arrivals).toEqual([
      { connection: 1, text: 'from b\n' },
      { connection: 0, text: 'from a\n' },
    ]);
    // replies: a's first, although b's came first
    const replies = await proxy.whenHeld(2, 2000, { direction: 'from-target' });
    expect(replies.map((r) => r.connection)).toEqual([1, 0]);
    await sleep(50);
    expect(a.text() + b.text()).toBe('');
    proxy.release({ order: [replies[1]!] });
    await until(() => a.text() === 'from a\n', 1000);
    expect(b.text()).toBe('');
    proxy.release({ order: [replies[0]!] });
    await until(() => b.text() === 'from b\n', 1000);
  });
});

describe('fault proxy limits and cleanup', () => {
  it('held bytes stay under maxHeldBytes: the proxy stops reading, and reads again once released', async () => {
    const server = await recordingServer({ echo: false });
    const limit = 64 * 1024;
    const proxy = await lineProxy(server, { maxHeldBytes: limit });
    let seenBytes = 0;
    proxy.observe((e) => void (e.kind === 'seen' && (seenBytes += e.bytes.length)));
    proxy.hold('to-target');
    const c = await client(proxy);
    const line = `${'x'.repeat(1023)}\n`;
    const total = 16 * 1024 * 1024;
    c.socket.write(line.repeat(total / line.length));
    await sleep(300);
    // one read past the limit at most (a read is at most 64 KiB)
    expect(proxy.bufferedBytes().peakPerStream).toBeLessThanOrEqual(limit + 64 * 1024);
    expect(seenBytes).toBeLessThan(total / 4);
    expect(server.connections[0]!.bytes).toBe(0);
    proxy.clearMessageOps();
    proxy.release();
    await until(() => server.connections[0]!.bytes === total, 10_000, 'every byte delivered after release');
    expect(proxy.bufferedBytes().now).toBe(0);
  }, 20_000);

  it('close leaves no socket, server or timer open, whatever is held, delayed or merging', async () => {
    const server = await recordingServer();
    const resources = () => {
      const counts: Record<string, number> = {};
      for (const r of process.getActiveResourcesInfo()) counts[r] = (counts[r] ?? 0) + 1;
      return { sockets: counts['TCPSocketWrap'] ?? 0, servers: counts['TCPServerWrap'] ?? 0, timers: counts['Timeout'] ?? 0 };
    };
    await sleep(20);
    const before = resources();
    const proxy = await lineProxy(server);
    const c = await client(proxy);
    proxy.hold('to-target', { count: 1 });
    proxy.delay('from-target', 60_000, { count: 1 });
    proxy.merge('from-target', { messages: 5, waitMsMax: 60_000 });
    proxy.reorder('from-target', { waitMsMax: 60_000 });
    await sendLines(c.socket, ['held', 'delayed', 'reordered'], 20);
    await proxy.whenHeld(1, 1000);
    await until(() => server.connections[0]?.text() === 'delayed\nreordered\n', 1000);
    await sleep(20);
    expect(c.text()).toBe('');
    expect(proxy.bufferedBytes().now).toBe('held\ndelayed\nreordered\n'.length);
    expect(resources().timers).toBeGreaterThan(before.timers);
    await proxy.close();
    c.socket.destroy();
    await until(() => {
      const now = resources();
      // at most as many as before: a timer of an earlier test that fires meanwhile only lowers the count
      return now.sockets <= before.sockets && now.servers <= before.servers && now.timers <= before.timers;
    }, 2000, `resources back to ${JSON.stringify(before)} (now ${JSON.stringify(resources())})`);
    await new Promise<void>((resolve, reject) => server.server.getConnections((error, n) => (error ? reject(error) : n === 0 ? resolve() : reject(new Error(`${n} connections open at the server`)))));
  });
});
