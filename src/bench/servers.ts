/**
 * Load benchmark of the reference servers: `node dist/bench/servers.js [options]`.
 *
 * For each server it spawns `protosim serve` as a child process (so client and server fds and
 * memory are counted apart), opens many concurrent connections on loopback and holds them all,
 * drives a closed-loop workload for a bounded time, and reports messages per second, p50/p99
 * latency, peak memory of both processes, and whether any message was lost, duplicated or reordered.
 * Every loop is bounded in count (`--max-messages`) and time (`--duration-ms`, plus a settle limit).
 *
 * Options: --servers kv,ping-liveness,register-exit,register-exit-gob,offline-queue  --connections 1000
 *          --duration-ms 5000  --window 1 (offline-queue requests in flight per connection)  --max-messages 2000000  --json
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { encodeGobMessage, GobDecoder } from '../wire/gob.js';
import { LineFramer } from '../wire/lineFramer.js';
import { decodeServer2Client, delimit, encodeClient2Server, LengthDelimitedFramer } from '../wire/offlineQueueWire.js';

interface BenchConfig {
  connections: number;
  durationMs: number;
  window: number;
  maxMessages: number;
}

/** What one server's run measured. */
interface BenchResult {
  server: string;
  connectionsHeld: number;
  messages: number;
  elapsedMs: number;
  messagesPerSecond: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  lost: number;
  duplicated: number;
  reordered: number;
  serverPeakRssMiB: number | null;
  clientPeakRssMiB: number;
  notes: string[];
}

/** Settle limit: after the load window, outstanding messages get this long to arrive. */
const settleMs = 10_000;
/** Latency samples kept (the rest are counted, not stored). */
const maxLatencySamples = 2_000_000;
/** Connections opened at once while ramping up (below the listen backlog). */
const connectBatch = 200;

class Latencies {
  private readonly samples = new Float64Array(maxLatencySamples);
  private count = 0;
  add(ms: number): void {
    if (this.count < maxLatencySamples) this.samples[this.count++] = ms;
  }
  percentile(p: number): number {
    if (this.count === 0) return NaN;
    const sorted = this.samples.slice(0, this.count).sort();
    return sorted[Math.min(this.count - 1, Math.floor((p / 100) * this.count))]!;
  }
}

/** The soft limit on open files, from /proc (Linux); undefined elsewhere. */
function openFileLimit(): number | undefined {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
    const soft = line?.split(/\s+/)[3];
    return soft === undefined || soft === 'unlimited' ? undefined : Number(soft);
  } catch {
    return undefined;
  }
}

/** Peak resident memory of a process in MiB, from /proc/PID/status VmHWM (Linux); null elsewhere. */
function peakRssMiB(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : null;
  } catch {
    return null;
  }
}

interface RunningServer {
  child: ChildProcess;
  port: number;
  stop(): Promise<number | null>;
}

async function spawnServer(protocol: string, extra: string[], connections: number): Promise<RunningServer> {
  const bin = fileURLToPath(new URL('../../bin/protosim.js', import.meta.url));
  const args = [bin, 'serve', protocol, '--port', '0', '--max-connections', String(connections + 100), ...extra];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'ignore'] });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const line = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${protocol}: no ready line within 10 s`)), 10_000);
    createInterface({ input: child.stdout! }).once('line', (l) => {
      clearTimeout(timer);
      resolve(l);
    });
    child.once('exit', (code) => reject(new Error(`${protocol}: server exited ${code} before ready`)));
  });
  const port = Number(/:(\d+)$/.exec(line)?.[1]);
  if (!Number.isInteger(port)) throw new Error(`${protocol}: bad ready line ${JSON.stringify(line)}`);
  return {
    child,
    port,
    async stop() {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** Opens `count` sockets in batches; each gets an `onData`. */
async function openSockets(port: number, count: number, onData: (index: number, chunk: Buffer) => void): Promise<Socket[]> {
  const sockets: Socket[] = [];
  for (let start = 0; start < count; start += connectBatch) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(connectBatch, count - start) }, (_, k) =>
        new Promise<Socket>((resolve, reject) => {
          const index = start + k;
          const socket = connect({ port, host: '127.0.0.1', noDelay: true }, () => resolve(socket));
          socket.on('data', (chunk: Buffer) => onData(index, chunk));
          socket.once('error', reject);
        }),
      ),
    );
    sockets.push(...batch);
  }
  for (const s of sockets) s.on('error', () => undefined);
  return sockets;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Per sender→recipient sequence checker: counts lost, duplicated and reordered messages. */
class SequenceChecker {
  private readonly next = new Map<string, number>();
  private readonly seen = new Map<string, Set<number>>();
  received = 0;
  duplicated = 0;
  reordered = 0;
  receive(pair: string, seq: number): void {
    this.received++;
    let seen = this.seen.get(pair);
    if (seen === undefined) this.seen.set(pair, (seen = new Set()));
    if (seen.has(seq)) {
      this.duplicated++;
      return;
    }
    seen.add(seq);
    const expected = this.next.get(pair) ?? 0;
    if (seq !== expected) this.reordered++;
    this.next.set(pair, Math.max(expected, seq + 1));
  }
  distinct(): number {
    let n = 0;
    for (const s of this.seen.values()) n += s.size;
    return n;
  }
}

function result(server: string, partial: Omit<BenchResult, 'server' | 'messagesPerSecond' | 'clientPeakRssMiB' | 'latencyP50Ms' | 'latencyP99Ms'>, latencies: Latencies): BenchResult {
  return {
    server,
    ...partial,
    messagesPerSecond: Math.round((partial.messages / partial.elapsedMs) * 1000),
    latencyP50Ms: latencies.percentile(50),
    latencyP99Ms: latencies.percentile(99),
    clientPeakRssMiB: process.resourceUsage().maxRSS / 1024,
  };
}

/** kv: N keep-alive connections, each a loop of set(key_i, v_seq) then get(key_i) == v_seq. */
async function benchKv(config: BenchConfig): Promise<BenchResult> {
  const server = await spawnServer('kv', [], config.connections);
  // One keep-alive agent of one socket per client, so every client holds its own connection.
  const agents = Array.from({ length: config.connections }, () => new Agent({ keepAlive: true, maxSockets: 1, maxFreeSockets: 1 }));
  const latencies = new Latencies();
  const get = (path: string, client = 0) =>
    new Promise<string>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: server.port, path, agent: agents[client] }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve(body));
      });
      req.setTimeout(settleMs, () => req.destroy(new Error('timeout')));
      req.on('error', reject);
      req.end();
    });
  let messages = 0;
  let lost = 0;
  let held = 0;
  const notes: string[] = [];
  // Ramp up: every client does one set, so every connection is open before the timed phase.
  for (let start = 0; start < config.connections; start += connectBatch) {
    await Promise.all(Array.from({ length: Math.min(connectBatch, config.connections - start) }, (_, k) => get(`/?action=set&key=k${start + k}&value=v0`, start + k)));
  }
  const openSockets = (agent: Agent) =>
    Object.values(agent.freeSockets).reduce((n, list) => n + (list?.length ?? 0), 0) + Object.values(agent.sockets).reduce((n, list) => n + (list?.length ?? 0), 0);
  held = agents.reduce((n, agent) => n + openSockets(agent), 0);
  const started = performance.now();
  const deadline = started + config.durationMs;
  await Promise.all(
    Array.from({ length: config.connections }, async (_, i) => {
      for (let seq = 1; performance.now() < deadline && messages < config.maxMessages; seq++) {
        const t0 = performance.now();
        try {
          await get(`/?action=set&key=k${i}&value=v${seq}`, i);
          const value = await get(`/?action=get&key=k${i}`, i);
          if (value !== `v${seq}\n`) lost++;
        } catch {
          lost++;
        }
        latencies.add((performance.now() - t0) / 2);
        messages += 2;
      }
    }),
  );
  const elapsedMs = performance.now() - started;
  const keys = (await get('/?action=keys')).split('\n').filter((k) => k !== '');
  if (keys.length !== config.connections) {
    notes.push(`keys listed ${keys.length}, expected ${config.connections}`);
    lost += Math.abs(config.connections - keys.length);
  }
  const serverPeak = peakRssMiB(server.child.pid);
  for (const agent of agents) agent.destroy();
  const code = await server.stop();
  if (code !== 0) notes.push(`server exited ${code} on SIGTERM`);
  return result('kv', { connectionsHeld: held, messages, elapsedMs, lost, duplicated: 0, reordered: 0, serverPeakRssMiB: serverPeak, notes }, latencies);
}

/** ping-liveness: N sessions (accounts user1..userN), each a loop of CHAT → echo. */
async function benchPing(config: BenchConfig): Promise<BenchResult> {
  const n = config.connections;
  const server = await spawnServer('ping-liveness', ['--accounts', String(n)], n);
  const latencies = new Latencies();
  const splitters = Array.from({ length: n }, () => new LineFramer(1 << 20));
  const waiting: Array<((m: { mtype: number; payload: Record<string, unknown> }) => void) | undefined> = new Array(n);
  const sockets = await openSockets(server.port, n, (i, chunk) => {
    for (const event of splitters[i]!.push(chunk)) {
      if (event.kind !== 'line') continue;
      const resolve = waiting[i];
      waiting[i] = undefined;
      resolve?.(JSON.parse(event.text) as { mtype: number; payload: Record<string, unknown> });
    }
  });
  const ask = (i: number, mtype: number, payload: Record<string, unknown>) =>
    new Promise<{ mtype: number; payload: Record<string, unknown> }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('timeout')), settleMs);
      waiting[i] = (m) => {
        clearTimeout(timer);
        resolve(m);
      };
      sockets[i]!.write(JSON.stringify({ mtype, payload, version: '1.0.0' }) + '\n');
    });
  const ids: number[] = [];
  for (let start = 0; start < n; start += connectBatch) {
    await Promise.all(
      Array.from({ length: Math.min(connectBatch, n - start) }, async (_, k) => {
        const i = start + k;
        await ask(i, 7, { supported_versions: ['1.0.0'] });
        const login = await ask(i, 1, { username: `user${i + 1}`, password: `pass${i + 1}` });
        if (login.payload['auth'] !== 0) throw new Error(`login user${i + 1} failed`);
        ids[i] = login.payload['id'] as number;
      }),
    );
  }
  let messages = 0;
  let lost = 0;
  const checker = new SequenceChecker();
  const started = performance.now();
  const deadline = started + config.durationMs;
  await Promise.all(
    sockets.map(async (_, i) => {
      for (let seq = 0; performance.now() < deadline && messages < config.maxMessages; seq++) {
        const t0 = performance.now();
        try {
          const echo = await ask(i, 3, { id: ids[i], message: String(seq) });
          if (echo.mtype !== 3) lost++;
          else checker.receive(String(i), Number(echo.payload['message']));
        } catch {
          lost++;
        }
        latencies.add(performance.now() - t0);
        messages++;
      }
    }),
  );
  const elapsedMs = performance.now() - started;
  const held = sockets.filter((s) => !s.destroyed).length;
  const serverPeak = peakRssMiB(server.child.pid);
  for (const s of sockets) s.destroy();
  const code = await server.stop();
  const notes = code === 0 ? [] : [`server exited ${code} on SIGTERM`];
  return result('ping-liveness', { connectionsHeld: held, messages, elapsedMs, lost, duplicated: checker.duplicated, reordered: checker.reordered, serverPeakRssMiB: serverPeak, notes }, latencies);
}

/** register-exit (JSON lines): client i sends to client i+1; the next send waits for delivery. */
async function benchRegisterExit(config: BenchConfig, codec: 'json' | 'gob'): Promise<BenchResult> {
  const n = config.connections;
  const server = await spawnServer('register-exit', ['--codec', codec], n);
  const latencies = new Latencies();
  const checker = new SequenceChecker();
  const sentAt = new Map<string, number>();
  const delivered: Array<(() => void) | undefined> = new Array(n);
  const splitters = Array.from({ length: n }, () => new LineFramer(1 << 20));
  const gobDecoders = Array.from({ length: codec === 'gob' ? n : 0 }, () => new GobDecoder(1 << 20));
  const onMessage = (content: string, from: string) => {
    const key = `${from}>${content}`;
    const t0 = sentAt.get(key);
    if (t0 !== undefined) {
      latencies.add(performance.now() - t0);
      sentAt.delete(key);
    }
    const seq = Number(content);
    checker.receive(from, seq);
    const senderIndex = Number(from.slice(1));
    const wake = delivered[senderIndex];
    delivered[senderIndex] = undefined;
    wake?.();
  };
  const sockets = await openSockets(server.port, n, (i, chunk) => {
    if (codec === 'gob') {
      for (const e of gobDecoders[i]!.push(chunk)) if (e.kind === 'message' && e.message.From !== 'Error') onMessage(e.message.Content, e.message.From);
      return;
    }
    for (const event of splitters[i]!.push(chunk)) {
      if (event.kind !== 'line') continue;
      const m = JSON.parse(event.text) as { From: string; Content: string };
      if (m.From !== 'Error') onMessage(m.Content, m.From);
    }
  });
  const encode = (m: Record<string, unknown>) => (codec === 'gob' ? encodeGobMessage(m) : JSON.stringify(m) + '\n');
  sockets.forEach((s, i) => s.write(encode({ From: `c${i}`, Register: true })));
  await sleep(500); // registration has no reply; give the server time to register everyone
  let messages = 0;
  let sent = 0;
  const started = performance.now();
  const deadline = started + config.durationMs;
  await Promise.all(
    sockets.map(async (socket, i) => {
      const to = `c${(i + 1) % n}`;
      for (let seq = 0; performance.now() < deadline && messages < config.maxMessages; seq++) {
        const arrived = new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => resolve(false), settleMs);
          delivered[i] = () => {
            clearTimeout(timer);
            resolve(true);
          };
        });
        sentAt.set(`c${i}>${seq}`, performance.now());
        socket.write(encode({ To: to, Content: String(seq) }));
        sent++;
        if (!(await arrived)) break;
        messages++;
      }
    }),
  );
  const elapsedMs = performance.now() - started;
  const held = sockets.filter((s) => !s.destroyed).length;
  const serverPeak = peakRssMiB(server.child.pid);
  for (const s of sockets) s.destroy();
  const code = await server.stop();
  const notes = code === 0 ? [] : [`server exited ${code} on SIGTERM`];
  return result(`register-exit (${codec})`, {
    connectionsHeld: held,
    messages,
    elapsedMs,
    lost: sent - checker.distinct(),
    duplicated: checker.duplicated,
    reordered: checker.reordered,
    serverPeakRssMiB: serverPeak,
    notes,
  }, latencies);
}

/**
 * offline-queue: N logged-in accounts; account i sends to account i+1 with up to `window` requests
 * in flight (length-delimited framing allows pipelining). Online recipients get pushes; then half
 * the accounts go offline, the others send to them, and the queues are checked: every accepted
 * message must arrive exactly once, in order per sender.
 */
async function benchOfflineQueue(config: BenchConfig): Promise<BenchResult> {
  const n = config.connections;
  const server = await spawnServer('offline-queue', [], n);
  const latencies = new Latencies();
  const checker = new SequenceChecker();
  const splitters = Array.from({ length: n }, () => new LengthDelimitedFramer(1 << 20));
  const replyWaiters: Array<Array<(op: { opcode: number; msg: string }) => void>> = Array.from({ length: n }, () => []);
  const onPush = (msg: string) => {
    for (const line of msg.split('\n')) {
      if (line === '') continue;
      const [from, seq] = line.split(':');
      checker.receive(from!, Number(seq));
    }
  };
  const sockets = await openSockets(server.port, n, (i, chunk) => {
    for (const event of splitters[i]!.push(chunk)) {
      if (event.kind !== 'frame') continue;
      const reply = decodeServer2Client(event.bytes);
      if (reply.opcode === 17) onPush(reply.msg);
      else replyWaiters[i]!.shift()?.(reply);
    }
  });
  const ask = (i: number, m: Parameters<typeof encodeClient2Server>[0]) =>
    new Promise<{ opcode: number; msg: string }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('timeout')), settleMs);
      replyWaiters[i]!.push((r) => {
        clearTimeout(timer);
        resolve(r);
      });
      sockets[i]!.write(delimit(encodeClient2Server(m)));
    });
  for (let start = 0; start < n; start += connectBatch) {
    await Promise.all(
      Array.from({ length: Math.min(connectBatch, n - start) }, async (_, k) => {
        const i = start + k;
        await ask(i, { opcode: 1, msg: `u${i}` });
        const login = await ask(i, { opcode: 2, msg: `u${i}` });
        if (login.opcode !== 13) throw new Error(`login u${i} failed`);
      }),
    );
  }
  let accepted = 0;
  let failed = 0;
  const nextSeq = new Array<number>(n).fill(0);
  const sendLoop = async (i: number, to: number, deadline: number, limit: number) => {
    const lane = async () => {
      while (performance.now() < deadline && accepted < limit) {
        const seq = nextSeq[i]!++;
        const t0 = performance.now();
        try {
          const reply = await ask(i, { opcode: 3, receiver: `u${to}`, msg: String(seq) });
          if (reply.opcode === 3) accepted++;
          else failed++;
        } catch {
          failed++;
        }
        latencies.add(performance.now() - t0);
      }
    };
    // Lanes share the connection; replies come back in request order, so order per sender holds.
    await Promise.all(Array.from({ length: config.window }, lane));
  };
  // Phase 1: everyone online, pushes.
  const started = performance.now();
  await Promise.all(sockets.map((_, i) => sendLoop(i, (i + 1) % n, started + config.durationMs, config.maxMessages)));
  const phase1Ms = performance.now() - started;
  const phase1Accepted = accepted;
  // Phase 2: odd accounts go offline; even ones send to them; the odd ones log in and check.
  const notes: string[] = [];
  const offline = sockets.map((_, i) => i).filter((i) => i % 2 === 1);
  await Promise.all(offline.map((i) => ask(i, { opcode: 7 })));
  const phase2Start = performance.now();
  const perSender = 20;
  await Promise.all(
    offline.map(async (i) => {
      const from = i - 1;
      for (let k = 0; k < perSender; k++) {
        const seq = nextSeq[from]!++;
        const reply = await ask(from, { opcode: 3, receiver: `u${i}`, msg: String(seq) }).catch(() => ({ opcode: -1, msg: '' }));
        if (reply.opcode === 3) accepted++;
        else failed++;
      }
    }),
  );
  await Promise.all(
    offline.map(async (i) => {
      await ask(i, { opcode: 2, msg: `u${i}` });
      const unread = await ask(i, { opcode: 4 });
      onPush(unread.msg);
    }),
  );
  const phase2Ms = performance.now() - phase2Start;
  notes.push(`phase 1 (online pushes): ${phase1Accepted} messages in ${(phase1Ms / 1000).toFixed(1)} s; phase 2 (offline queues): ${accepted - phase1Accepted} messages in ${(phase2Ms / 1000).toFixed(1)} s`);
  // Let in-flight pushes land before counting.
  for (let waited = 0; checker.distinct() < accepted && waited < settleMs; waited += 50) await sleep(50);
  const held = sockets.filter((s) => !s.destroyed).length;
  const serverPeak = peakRssMiB(server.child.pid);
  for (const s of sockets) s.destroy();
  const code = await server.stop();
  if (code !== 0) notes.push(`server exited ${code} on SIGTERM`);
  if (failed > 0) notes.push(`${failed} sends refused or timed out (not accepted, so not counted as lost)`);
  return result('offline-queue', {
    connectionsHeld: held,
    messages: phase1Accepted,
    elapsedMs: phase1Ms,
    lost: accepted - checker.distinct(),
    duplicated: checker.duplicated,
    reordered: checker.reordered,
    serverPeakRssMiB: serverPeak,
    notes,
  }, latencies);
}

function format(r: BenchResult): string {
  const mib = (v: number | null) => (v === null ? 'n/a' : `${v.toFixed(0)} MiB`);
  return [
    `${r.server}`,
    `  connections held   ${r.connectionsHeld}`,
    `  messages           ${r.messages} in ${(r.elapsedMs / 1000).toFixed(2)} s = ${r.messagesPerSecond} msg/s`,
    `  latency            p50 ${r.latencyP50Ms.toFixed(2)} ms, p99 ${r.latencyP99Ms.toFixed(2)} ms`,
    `  lost/dup/reordered ${r.lost}/${r.duplicated}/${r.reordered}`,
    `  peak RSS           server ${mib(r.serverPeakRssMiB)}, client ${mib(r.clientPeakRssMiB)}`,
    ...r.notes.map((n) => `  note               ${n}`),
  ].join('\n');
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      servers: { type: 'string', default: 'kv,ping-liveness,register-exit,offline-queue' },
      connections: { type: 'string', default: '1000' },
      'duration-ms': { type: 'string', default: '5000' },
      window: { type: 'string', default: '1' },
      'max-messages': { type: 'string', default: '2000000' },
      json: { type: 'boolean', default: false },
    },
  });
  const config: BenchConfig = {
    connections: Number(values.connections),
    durationMs: Number(values['duration-ms']),
    window: Number(values.window),
    maxMessages: Number(values['max-messages']),
  };
  for (const [name, value] of Object.entries(config)) {
    if (!Number.isSafeInteger(value) || value <= 0) throw new Error(`--${name} must be a positive integer`);
  }
  const limit = openFileLimit();
  // Each connection is one fd here and one in the server child; keep 100 spare for everything else.
  if (limit !== undefined && limit < config.connections + 100) {
    const reduced = Math.max(1, limit - 100);
    process.stderr.write(`open-file limit ${limit} is too low for ${config.connections} connections; using ${reduced} (raise it with ulimit -n)\n`);
    config.connections = reduced;
  }
  process.stdout.write(`servers bench: ${config.connections} connections, ${config.durationMs} ms per server, node ${process.version}, open-file limit ${limit ?? 'unknown'}\n\n`);
  const results: BenchResult[] = [];
  for (const server of String(values.servers).split(',')) {
    let r: BenchResult;
    if (server === 'kv') r = await benchKv(config);
    else if (server === 'ping-liveness') r = await benchPing(config);
    else if (server === 'register-exit') r = await benchRegisterExit(config, 'json');
    else if (server === 'register-exit-gob') r = await benchRegisterExit(config, 'gob');
    else if (server === 'offline-queue') r = await benchOfflineQueue(config);
    else throw new Error(`unknown server ${server}`);
    results.push(r);
    process.stdout.write(values.json ? '' : `${format(r)}\n\n`);
  }
  if (values.json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
  const bad = results.filter((r) => r.lost > 0 || r.duplicated > 0 || r.reordered > 0);
  return bad.length === 0 ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`servers bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 70;
  },
);
