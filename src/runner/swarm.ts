/**
 * The swarm: random exploration of a seed range on worker threads, on all cores by default, and
 * sharded across machines (`--shard K/N` takes every N-th seed from the K-th on, so N shards
 * together cover the range exactly once). Workers report mergeable summaries; the findings are
 * then re-run with traces here, so every finding replays on its own with `--seed`. The result does
 * not depend on the number of workers (see `mergeSummaries`).
 *
 * This is I/O (threads), so it lives outside src/sim, which it uses; only the CLI and the bench
 * import it.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { protocolOrigin } from '../models/registry.js';
import type { SimConfig } from '../sim/config.js';
import { mergeSummaries, resultOf, summarizeSeeds, type SeedSummary } from '../sim/explore/random.js';
import type { ExploreResult } from '../sim/explore/result.js';
import { CompiledModel } from '../sim/simulator.js';
import type { ChunkReply, ChunkRequest } from './swarm-protocol.js';

/** One shard of N: `index` counts from 1. */
export interface Shard {
  index: number;
  count: number;
}

export interface SwarmOptions {
  model: CompiledModel;
  config: SimConfig;
  seedStart: number;
  seeds: number;
  /** worker threads; 1 runs in this thread */
  workers: number;
  shard: Shard | null;
  /** seeds per chunk handed to a worker (default: enough chunks to balance the load) */
  chunkSize?: number;
  /** called as seeds finish (every `progressEvery` in this thread, each chunk on workers), with the events simulated so far */
  onProgress?: (done: number, info: { transitions: number }) => void;
  progressEvery?: number;
}

/** The seeds of a shard: `count` seeds from `start`, `stride` apart. */
export function shardSeeds(seedStart: number, seeds: number, shard: Shard | null): { start: number; count: number; stride: number } {
  if (shard === null) return { start: seedStart, count: seeds, stride: 1 };
  const offset = shard.index - 1;
  const count = seeds > offset ? Math.ceil((seeds - offset) / shard.count) : 0;
  return { start: seedStart + offset, count, stride: shard.count };
}

export function defaultWorkers(): number {
  return Math.max(1, availableParallelism());
}

/** The compiled worker entry; from src/ (tests) and dist/ alike this resolves into dist/. */
export const workerEntry = new URL('../../dist/runner/swarm-worker.js', import.meta.url);

/** Explores the (sharded) seed range on `workers` threads. */
export async function exploreSwarm(options: SwarmOptions): Promise<ExploreResult> {
  const started = performance.now();
  const range = shardSeeds(options.seedStart, options.seeds, options.shard);
  const summary =
    options.workers <= 1 || range.count <= 1
      ? summarizeSeeds(options.model, options.config, range.start, range.count, range.stride, options.onProgress, options.progressEvery ?? 100)
      : await summarizeOnWorkers(options, range);
  return resultOf(options.model, options.config, summary, Math.round(performance.now() - started), range.start, range.count);
}

/** Runs the seeds on worker threads, handing out chunks as workers become free. */
export async function summarizeOnWorkers(
  options: Pick<SwarmOptions, 'model' | 'config' | 'workers' | 'chunkSize' | 'onProgress'>,
  range: { start: number; count: number; stride: number },
): Promise<SeedSummary> {
  const workers = Math.min(options.workers, range.count);
  const chunkSize = options.chunkSize ?? Math.max(1, Math.ceil(range.count / (workers * 64)));
  const chunks: ChunkRequest[] = [];
  for (let i = 0, id = 0; i < range.count; i += chunkSize, id++) {
    chunks.push({ id, seedStart: range.start + i * range.stride, count: Math.min(chunkSize, range.count - i), stride: range.stride });
  }
  const parts: SeedSummary[] = [];
  let next = 0;
  let seedsDone = 0;
  let transitions = 0;
  const module = protocolOrigin(options.model.protocol);
  const data = { protocol: options.model.protocol, variant: options.model.variant.name, config: options.config, ...(module !== undefined ? { module } : {}) };
  const pool = Array.from({ length: workers }, () => new Worker(workerEntry, { workerData: data }));
  try {
    await Promise.all(
      pool.map(
        (worker) =>
          new Promise<void>((resolve, reject) => {
            const feed = (): void => {
              const chunk = chunks[next++];
              if (chunk === undefined) {
                resolve();
                return;
              }
              worker.postMessage(chunk);
            };
            worker.on('message', (reply: ChunkReply) => {
              parts[reply.id] = reply.summary;
              seedsDone += reply.summary.runs;
              transitions += reply.summary.transitions;
              options.onProgress?.(seedsDone, { transitions });
              feed();
            });
            worker.on('error', reject);
            worker.on('exit', (code) => {
              if (code !== 0) reject(new Error(`swarm worker exited with code ${code}`));
            });
            feed();
          }),
      ),
    );
  } finally {
    await Promise.all(pool.map((w) => w.terminate()));
  }
  return mergeSummaries(parts);
}
