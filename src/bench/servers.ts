/**
 * Load benchmark of the reference servers: `node dist/bench/servers.js [options]`.
 *
 * For each server it spawns `protosim serve` as a child process (so client and server fds and
 * memory are counted apart), opens many concurrent connections on loopback and holds them all,
 * drives a closed-loop workload for a bounded time, and reports messages per second, p50/p99
 * latency, peak memory of both processes, and whether any message was lost, duplicated or reordered.
 * Every loop is bounded in count (`--max-messages`) and time (`--duration-ms`, plus a settle limit).
 * What the clients send is the server's package's bench script (`live.server.bench`, read through
 * the registry); the driver here is the same for every protocol.
 *
 * Options: --servers kv,ping-liveness,register-exit,register-exit:gob,offline-queue (NAME or NAME:CODEC)
 *          --connections 1000 --duration-ms 5000  --window 1 (requests in flight per connection, where
 *          the protocol allows it)  --max-messages 2000000  --json
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { BenchDelivery, BenchExchange, BenchScript } from '../models/bench-script.js';
import type { LiveProtocol } from '../models/package.js';
import { builtinLiveProtocols } from '../models/registry.js';
import { httpTransport, streamTransport, type Transport } from './bench-transport.js';

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

/** What one run of a bench script counts. */
class BenchRun {
  readonly latencies = new Latencies();
  readonly checker = new SequenceChecker();
  readonly notes: string[] = [];
  readonly counts = { lost: 0, refused: 0, expected: 0, exchanges: 0 };
  private readonly data: Record<string, unknown>[];
  private readonly seqs: number[];
  /** deliveries awaited by an operation without a reply */
  private readonly awaited = new Map<string, () => void>();
  readonly waiters: ((reply: unknown) => void)[][];
  transport!: Transport;

  constructor(
    readonly script: BenchScript,
    readonly n: number,
  ) {
    this.data = Array.from({ length: n }, () => ({}));
    this.seqs = new Array<number>(n).fill(0);
    this.waiters = Array.from({ length: n }, () => []);
  }

  readonly nextSeq = (i: number): number => this.seqs[i]!++;

  private static key(d: BenchDelivery): string {
    return `${d.from}#${d.seq}`;
  }

  delivered(d: BenchDelivery): void {
    this.checker.receive(d.from, d.seq);
    const wake = this.awaited.get(BenchRun.key(d));
    this.awaited.delete(BenchRun.key(d));
    wake?.();
  }

  /** A message arrived at client i: a reply to its oldest request, or deliveries. */
  readonly arrive = (i: number, wire: unknown): void => {
    if (this.script.isReply?.(wire) ?? true) this.waiters[i]!.shift()?.(wire);
    else for (const d of this.script.deliveries?.(wire) ?? []) this.delivered(d);
  };

  /** One exchange: ok, lost (a wrong answer or none), refused (not accepted), or missing (an awaited delivery that never came). */
  async exchange(i: number, ex: BenchExchange): Promise<'ok' | 'lost' | 'refused' | 'missing'> {
    const c = ex.client ?? i;
    const t0 = performance.now();
    if (ex.noReply) return this.oneWay(c, ex, t0);
    let reply: unknown;
    try {
      reply = await this.transport.request(c, ex.send);
    } catch {
      return 'lost';
    }
    this.latencies.add(performance.now() - t0);
    const outcome = ex.outcome?.(reply, this.data[c]!) ?? 'ok';
    if (outcome === 'ok') {
      if (ex.bind) Object.assign(this.data[c]!, ex.bind(reply));
      if (ex.expects !== undefined) this.counts.expected++;
    }
    for (const d of ex.delivers?.(reply) ?? []) this.delivered(d);
    return outcome;
  }

  /** A message without a reply; with `expects`, it lasts until that delivery arrives (or the settle limit). */
  private async oneWay(c: number, ex: BenchExchange, t0: number): Promise<'ok' | 'missing'> {
    const expects = ex.expects;
    const arrived =
      expects === undefined
        ? Promise.resolve(true)
        : new Promise<boolean>((resolve) => {
            const timer = setTimeout(() => resolve(false), settleMs);
            this.awaited.set(BenchRun.key(expects), () => {
              clearTimeout(timer);
              resolve(true);
            });
          });
    this.transport.write(c, ex.send);
    if (expects === undefined) return 'ok';
    this.counts.expected++;
    if (!(await arrived)) return 'missing';
    this.latencies.add(performance.now() - t0);
    return 'ok';
  }

  /** Runs exchanges in turn, counting outcomes; false when one never completed (the loop stops there). */
  async run(i: number, exchanges: readonly BenchExchange[]): Promise<boolean> {
    for (const ex of exchanges) {
      const outcome = await this.exchange(i, ex);
      if (outcome === 'lost') this.counts.lost++;
      if (outcome === 'refused') this.counts.refused++;
      if (outcome === 'missing') return false;
    }
    return true;
  }

  /** Every client runs its setup, in batches, before the timed phase. */
  async setup(name: string): Promise<void> {
    for (let start = 0; start < this.n; start += connectBatch) {
      await Promise.all(
        Array.from({ length: Math.min(connectBatch, this.n - start) }, async (_, k) => {
          for (const ex of this.script.setup?.(start + k, this.n) ?? []) {
            const outcome = await this.exchange(start + k, ex);
            if (outcome !== 'ok') throw new Error(`${name}: client ${start + k}'s setup failed (${outcome})`);
          }
        }),
      );
    }
    if (this.script.settleMs !== undefined) await sleep(this.script.settleMs);
  }

  /** The timed phase: every client's operations in a closed loop (`lanes` of them per connection). */
  async timed(config: BenchConfig): Promise<number> {
    const started = performance.now();
    const deadline = started + config.durationMs;
    const lanes = this.script.pipelined ? config.window : 1;
    await Promise.all(
      Array.from({ length: this.n }, async (_, i) => {
        const lane = async (): Promise<void> => {
          while (performance.now() < deadline && this.counts.exchanges < config.maxMessages) {
            const exchanges = this.script.operation(i, this.n, this.nextSeq(i), this.data[i]!);
            this.counts.exchanges += exchanges.length;
            if (!(await this.run(i, exchanges))) return;
          }
        };
        // Lanes share the connection; replies come back in request order, so order per sender holds.
        await Promise.all(Array.from({ length: lanes }, lane));
      }),
    );
    return performance.now() - started;
  }

  /** The phases after the timed one, each noted with its time. */
  async phases(): Promise<void> {
    for (const phase of this.script.phases ?? []) {
      const t0 = performance.now();
      const before = this.counts.exchanges;
      await Promise.all(
        phase.clients(this.n).map(async (i) => {
          const exchanges = phase.exchanges(i, this.n, this.nextSeq);
          this.counts.exchanges += exchanges.length;
          await this.run(i, exchanges);
        }),
      );
      this.notes.push(`${phase.name}: ${this.counts.exchanges - before} requests in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }
  }

  /** Waits for in-flight deliveries, then counts what was lost (the script's last check included). */
  async lost(): Promise<number> {
    for (let waited = 0; this.checker.distinct() < this.counts.expected && waited < settleMs; waited += 50) await sleep(50);
    let lost = this.counts.lost + Math.max(0, this.counts.expected - this.checker.distinct());
    if (this.script.finish !== undefined) {
      const r = this.script.finish.lost(await this.transport.request(0, this.script.finish.send), this.n);
      lost += r.lost;
      if (r.note !== undefined) this.notes.push(r.note);
    }
    return lost;
  }
}

/** Runs a package's bench script against its reference server (with `codecName`, if the server speaks several). */
async function benchServer(live: LiveProtocol, codecName: string | undefined, config: BenchConfig): Promise<BenchResult> {
  const n = config.connections;
  const bench = new BenchRun(live.server.bench!, n);
  const codec = codecName ?? live.codecs[0]!.name;
  const codecFlag = codecName !== undefined && live.server.options.some((o) => o.kind === 'codec') ? ['--codec', codecName] : [];
  const server = await spawnServer(live.name, [...(bench.script.serveArgs?.(n) ?? []), ...codecFlag], n);
  bench.transport = live.transport === 'http' ? httpTransport(server.port, n, settleMs) : await streamTransport(server.port, n, live, codec, settleMs, bench.arrive, bench.waiters);
  await bench.setup(live.name);
  const held = bench.transport.held();
  const elapsedMs = await bench.timed(config);
  const messages = bench.counts.exchanges;
  await bench.phases();
  const lost = await bench.lost();
  const serverPeak = peakRssMiB(server.child.pid);
  bench.transport.close();
  const code = await server.stop();
  if (code !== 0) bench.notes.push(`server exited ${code} on SIGTERM`);
  if (bench.counts.refused > 0) bench.notes.push(`${bench.counts.refused} requests refused (not accepted, so not counted as lost)`);
  const name = live.codecs.length > 1 ? `${live.name} (${codec})` : live.name;
  const { checker } = bench;
  return result(name, { connectionsHeld: held, messages, elapsedMs, lost, duplicated: checker.duplicated, reordered: checker.reordered, serverPeakRssMiB: serverPeak, notes: bench.notes }, bench.latencies);
}

/** The server and codec a `--servers` entry names: `NAME`, `NAME:CODEC`, or `NAME-CODEC`. */
function benchTarget(entry: string): { live: LiveProtocol; codec: string | undefined } {
  const benched = builtinLiveProtocols.filter((l) => l.server.bench !== undefined);
  const [name, codec] = entry.split(':');
  const live = benched.find((l) => l.name === name);
  if (live !== undefined) return { live, codec };
  for (const l of benched) for (const c of l.codecs) if (entry === `${l.name}-${c.name}`) return { live: l, codec: c.name };
  throw new Error(`unknown server ${entry}; expected one of ${benched.map((l) => l.name).join(', ')} (NAME:CODEC for another codec)`);
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
      servers: { type: 'string', default: builtinLiveProtocols.filter((l) => l.server.bench !== undefined).map((l) => l.name).join(',') },
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
  for (const entry of String(values.servers).split(',')) {
    const { live, codec } = benchTarget(entry);
    const r = await benchServer(live, codec, config);
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
