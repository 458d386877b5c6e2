/**
 * Honest scaling figures for the random swarm (issue 18, item 6), a part of `npm run bench`'s random
 * section (`node dist/bench/index.js scaling` runs only this):
 *
 *  - the median of paired whole-process runs: the same seeds in one process with 1 worker thread
 *    and in one with 2, timed from spawn to exit (node start, model loading, thread start-up and
 *    warm-up all included), N pairs, the order alternating;
 *  - next to the machine's ceiling measured in the same sitting and the same pairs: two
 *    single-worker processes started together against one alone (what two independent processes
 *    get out of these cores, with nothing shared between them);
 *  - and the ratio of the two, the share of that ceiling the swarm reaches.
 *
 * `PROTOSIM_BENCH_PAIRS` (default 5) and `PROTOSIM_BENCH_SCALING_SEEDS` (default 40,000 seeds of
 * lock-alternation/started-apart per process) change the work.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { loadScenarioFile } from '../scenario/load.js';
import { CompiledModel } from '../sim/simulator.js';
import { summarizeOnWorkers } from '../runner/swarm.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const scenarioFile = `${root}scenarios/lock-alternation/started-apart.yaml`;

/** In a process of its own (`scaling.js case <workers> <seeds>`): runs the seeds, prints the events simulated. */
async function runCase(workers: number, seeds: number): Promise<void> {
  const scenario = loadScenarioFile(scenarioFile);
  const model = new CompiledModel(scenario.model.name, scenario.variant);
  const summary = await summarizeOnWorkers({ model, config: scenario.config, workers }, { start: 1, count: seeds, stride: 1 });
  process.stdout.write(JSON.stringify({ events: summary.transitions, runs: summary.runs }) + '\n');
}

interface ProcessRun {
  events: number;
  wallMs: number;
}

function runProcess(workers: number, seeds: number): Promise<ProcessRun> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url), 'case', String(workers), String(seeds)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const wallMs = performance.now() - started;
      if (code !== 0) reject(new Error(`scaling case (${workers} workers) exited ${code}: ${err}`));
      else resolve({ events: (JSON.parse(out) as { events: number }).events, wallMs });
    });
  });
}

const rate = (r: ProcessRun): number => r.events / r.wallMs;

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export async function pairedScaling(say: (line: string) => void): Promise<void> {
  const pairs = Math.max(1, Number(process.env.PROTOSIM_BENCH_PAIRS ?? 5));
  const seeds = Math.max(2, Number(process.env.PROTOSIM_BENCH_SCALING_SEEDS ?? 40_000));
  const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
  say(`  paired whole-process runs (${pairs} pairs, ${fmt(seeds)} seeds a process, timed spawn to exit; the machine's ceiling in the same pairs):`);
  const speedups: number[] = [];
  const ceilings: number[] = [];
  const shares: number[] = [];
  for (let i = 0; i < pairs; i++) {
    // Alternate the order, so that a slow spell does not always fall on the same kind of run.
    const order = i % 2 === 0 ? (['one', 'two', 'both'] as const) : (['both', 'two', 'one'] as const);
    const got: Partial<Record<'one' | 'two' | 'both', ProcessRun>> = {};
    for (const kind of order) {
      if (kind === 'one') got.one = await runProcess(1, seeds);
      else if (kind === 'two') got.two = await runProcess(2, seeds);
      else {
        const started = performance.now();
        const [a, b] = await Promise.all([runProcess(1, seeds), runProcess(1, seeds)]);
        got.both = { events: a.events + b.events, wallMs: performance.now() - started };
      }
    }
    const one = rate(got.one!);
    const speedup = rate(got.two!) / one;
    const ceiling = rate(got.both!) / one;
    speedups.push(speedup);
    ceilings.push(ceiling);
    shares.push(speedup / ceiling);
    say(
      `    pair ${i + 1}: 1 worker ${fmt(got.one!.wallMs)} ms, 2 workers ${fmt(got.two!.wallMs)} ms (${speedup.toFixed(2)}x); two 1-worker processes at once ${fmt(got.both!.wallMs)} ms for twice the work (ceiling ${ceiling.toFixed(2)}x); ${(100 * speedup / ceiling).toFixed(0)}% of the ceiling`,
    );
  }
  const range = (xs: number[], f: (x: number) => string): string => `${f(Math.min(...xs))}-${f(Math.max(...xs))}`;
  const x = (v: number): string => `${v.toFixed(2)}x`;
  const pct = (v: number): string => `${(100 * v).toFixed(0)}%`;
  say(`  2 workers vs 1, whole processes: median ${x(median(speedups))} (range ${range(speedups, x)})`);
  say(`  the machine's ceiling, two 1-worker processes at once vs one: median ${x(median(ceilings))} (range ${range(ceilings, x)})`);
  say(`  2 workers reach a median ${pct(median(shares))} of that ceiling (range ${range(shares, pct)}; paired per run; target >= 90%)`);
}

if (process.argv[2] === 'case' && process.argv[1] === fileURLToPath(import.meta.url)) {
  await runCase(Number(process.argv[3]), Number(process.argv[4]));
}
