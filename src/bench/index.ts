/**
 * `npm run bench`: how fast the explorers are on this machine. Prints the machine, then
 *  - exhaustive: distinct states per second and total time, with the rounds scaled 1, 2, 3, 5, 10
 *    (lock-alternation with three clients; status-handshake when this build has it);
 *  - random simulation: simulated events per second on one worker and on every worker (the fastest
 *    of three turns inside this process), then the median of paired whole-process runs, 1 worker
 *    against 2, next to the machine's ceiling measured in the same pairs (scaling.ts;
 *    `index.js scaling` runs only that);
 *  - time to first counterexample of every flaw scenario (`scenarios/**` expecting `found`),
 *    end to end: `node bin/protosim.js run <file>` spawned and timed.
 * Bounded: every exhaustive search stops at `maxStates`, so the whole bench takes a few minutes at
 * most. Targets (issue 4): >= 500,000 states/s, >= 500,000 events/s per worker, two workers
 * >= 1.7x one, every first counterexample < 1 s.
 *
 * `node dist/bench/index.js exhaustive [protocol] [rounds,...]` runs only the exhaustive part (of
 * one protocol, for some round counts): the quick loop while tuning the explorer.
 * PROTOSIM_BENCH_MAX_STATES changes the exhaustive bound, PROTOSIM_BENCH_REPEAT=N reports the
 * fastest of N exhaustive runs per case (default 3: the shared vCPUs are noisy). Each exhaustive
 * run has a process of its own (`index.js case ...`), which reports its peak memory.
 */
import { spawnSync } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { availableParallelism, cpus } from 'node:os';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { models } from '../models/index.js';
import { loadScenarioFile, scenarioFromData, type Scenario } from '../scenario/load.js';
import { looksLikeSuite } from '../scenario/load-suite.js';
import { exploreExhaustive } from '../sim/explore/exhaustive.js';
import { CompiledModel } from '../sim/simulator.js';
import { summarizeOnWorkers } from '../runner/swarm.js';
import { pairedScaling } from './scaling.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const maxStates = Number(process.env.PROTOSIM_BENCH_MAX_STATES ?? 4_000_000);
/** exhaustive runs per case, the fastest reported (this machine's shared cores are noisy) */
const repeat = Math.max(1, Number(process.env.PROTOSIM_BENCH_REPEAT ?? 3));
const rows: string[] = [];
const say = (line: string): void => {
  process.stdout.write(line + '\n');
  rows.push(line);
};
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

/** Every *.yaml under `dir`, sorted (src/cli is off limits to other layers, so not its helper). */
function findScenarioFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (/\.ya?ml$/.test(name) && !looksLikeSuite(readFileSync(p, 'utf8'))) out.push(p); // suites are live, not model runs
    }
  };
  walk(dir);
  return out;
}

function defaultScenario(protocol: string, clients: number, rounds: number): Scenario | null {
  const model = models[protocol];
  const variant = model?.variants.faithful;
  if (!model || !variant) return null;
  const topology = variant.defaults.topology({ clients, rounds });
  return scenarioFromData(
    { id: `bench/${protocol}`, title: `${protocol} ${clients} clients ${rounds} rounds`, protocol, nodes: topology.nodes, workload: topology.workload, expect: { violations: 'none' } },
    `${protocol} defaults`,
  );
}

/** What one exhaustive run reports back from its own process. */
interface CaseResult {
  stats: ReturnType<typeof exploreExhaustive>['stats'];
  found: string[];
  /** the process's peak resident memory, bytes */
  peakRss: number;
}

/**
 * One exhaustive run, in this process (`index.js case <protocol> <clients> <rounds>`): prints a
 * `CaseResult` as JSON. Each run has a process of its own, so its peak memory is its own and no
 * run inherits another's garbage or compiled code.
 */
function runCase(protocol: string, clients: number, rounds: number): void {
  const scenario = defaultScenario(protocol, clients, rounds)!;
  const model = new CompiledModel(scenario.model.name, scenario.variant);
  const r = exploreExhaustive(model, scenario.config, { maxStates, maxDepth: 100_000, faultBudget: 0, all: true, clock: () => performance.now() });
  const result: CaseResult = { stats: r.stats, found: r.findings.map((f) => f.id), peakRss: process.resourceUsage().maxRSS * 1024 };
  process.stdout.write(JSON.stringify(result) + '\n');
}

function benchExhaustive(only: string | null, roundsList: number[]): void {
  say('');
  say(`exhaustive (--all: the whole space up to maxStates=${fmt(maxStates)}, no faults; each run in a process of its own${repeat > 1 ? `, the fastest of ${repeat}` : ''}; peak: its peak resident memory)`);
  say(`  ${'model'.padEnd(34)} ${'rounds'.padStart(6)} ${'states'.padStart(11)} ${'transitions'.padStart(12)} ${'depth'.padStart(6)} ${'time'.padStart(9)} ${'states/s'.padStart(10)} ${'peak'.padStart(8)}  outcome`);
  const cases: [string, number][] = [['lock-alternation', 3], ['status-handshake', 2]];
  for (const [protocol, clients] of cases) {
    if (only !== null && protocol !== only) continue;
    if (!models[protocol]) {
      say(`  skipped ${protocol}: this build has no such model yet`);
      continue;
    }
    for (const rounds of roundsList) {
      let best: CaseResult | null = null;
      for (let run = 0; run < repeat; run++) {
        const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), 'case', protocol, String(clients), String(rounds)], { encoding: 'utf8', maxBuffer: 1 << 24 });
        if (child.status !== 0) throw new Error(`exhaustive run of ${protocol} rounds ${rounds} failed: ${child.stderr}`);
        const result = JSON.parse(child.stdout) as CaseResult;
        if (best === null || result.stats.elapsedMs < best.stats.elapsedMs) best = result;
      }
      if (best === null) throw new Error('unreachable');
      const s = best.stats;
      const outcome = s.complete ? 'complete' : `stopped at ${s.limitHit}`;
      say(
        `  ${`${protocol} (${clients} clients)`.padEnd(34)} ${String(rounds).padStart(6)} ${fmt(s.states).padStart(11)} ${fmt(s.transitions).padStart(12)} ${String(s.depth).padStart(6)} ${`${fmt(s.elapsedMs)} ms`.padStart(9)} ${fmt((s.states / Math.max(1, s.elapsedMs)) * 1000).padStart(10)} ${`${fmt(best.peakRss / 2 ** 20)} MB`.padStart(8)}  ${outcome}; found ${best.found.join(', ') || 'nothing'}`,
      );
    }
  }
}

async function benchRandom(): Promise<void> {
  const file = `${root}scenarios/lock-alternation/started-apart.yaml`;
  const scenario = loadScenarioFile(file);
  const cores = availableParallelism();
  say('');
  say(`random simulation (${relative(root, file)}, untraced, events of every pass counted)`);
  // Long enough (several seconds of work) that thread start-up and each worker warming its own
  // transition caches and compiled code do not dominate: a swarm is for many seeds.
  const seeds = 64_000;
  const model = new CompiledModel(scenario.model.name, scenario.variant);
  const run = async (workers: number, count: number): Promise<{ ms: number; summary: Awaited<ReturnType<typeof summarizeOnWorkers>> }> => {
    const started = performance.now();
    const summary = await summarizeOnWorkers({ model, config: scenario.config, workers }, { start: 1, count, stride: 1 });
    return { ms: performance.now() - started, summary };
  };
  // One worker and all workers take turns, three rounds, and each reports its fastest: this
  // machine's vCPUs have noisy neighbours, and turns spread a slow spell over both.
  const widths = cores > 1 ? [1, cores] : [1];
  const best = new Map<number, { ms: number; summary: Awaited<ReturnType<typeof summarizeOnWorkers>> }>();
  for (let round = 0; round < 3; round++) {
    for (const workers of widths) {
      const r = await run(workers, seeds);
      const prev = best.get(workers);
      if (prev === undefined || r.ms < prev.ms) best.set(workers, r);
    }
  }
  const rate = (workers: number): number => {
    const r = best.get(workers)!;
    say(`  ${`${workers} worker${workers === 1 ? '' : 's'}`.padEnd(10)} ${fmt(r.summary.runs)} runs, ${fmt(r.summary.transitions)} events in ${fmt(r.ms)} ms: ${fmt((r.summary.transitions / r.ms) * 1000)} events/s (${fmt((r.summary.transitions / r.ms / workers) * 1000)} per worker)`);
    return r.summary.transitions / r.ms;
  };
  const one = rate(1);
  if (cores > 1) {
    const all = rate(cores);
    say(`  speed-up with ${cores} workers: ${(all / one).toFixed(2)}x (fastest of 3 turns each; thread start-up and warm-up included)`);
  }
  let startup = Infinity;
  for (let i = 0; i < 3; i++) startup = Math.min(startup, (await run(cores, cores)).ms);
  say(`  starting ${cores} worker${cores === 1 ? '' : 's'} and running one seed on each: ${fmt(startup)} ms (the fixed cost in the figures above)`);
  const capacity = await parallelCapacity(cores);
  say(`  for scale, a pure arithmetic loop on ${cores} threads runs ${capacity.toFixed(2)}x one thread on this machine (its parallel ceiling)`);
  // The figures above are the best of three inside one process; these are medians of paired whole processes.
  if (cores > 1) await pairedScaling(say);
}

/** How much faster `threads` threads of a trivial CPU loop finish the same total work than one. */
async function parallelCapacity(threads: number): Promise<number> {
  const code = `let x = 0; for (let i = 0; i < 2e8; i++) x = (x + i * 7) % 1000003; require('node:worker_threads').parentPort.postMessage(x);`;
  const time = async (n: number): Promise<number> => {
    const started = performance.now();
    await Promise.all(
      Array.from({ length: n }, () => new Promise<void>((done) => {
        const w = new Worker(code, { eval: true });
        w.once('message', () => void w.terminate().then(() => done()));
      })),
    );
    return performance.now() - started;
  };
  const single = Math.min(await time(1), await time(1));
  const many = Math.min(await time(threads), await time(threads));
  return (threads * single) / many;
}

function benchFirstCounterexample(): void {
  say('');
  say('time to first counterexample, end to end (node bin/protosim.js run <file> --no-save-trace)');
  const files = findScenarioFiles(`${root}scenarios`);
  for (const file of files) {
    let scenario: Scenario;
    try {
      scenario = loadScenarioFile(file);
    } catch {
      say(`  ${relative(root, file)}: skipped (does not load)`);
      continue;
    }
    const e = scenario.expect;
    const wantsFinding = e.deadlock === 'found' || e.livelock === 'found' || e.liveness === 'found' || (e.invariant !== undefined && e.invariant !== 'none');
    if (!wantsFinding) continue;
    const started = performance.now();
    const run = spawnSync(process.execPath, [`${root}bin/protosim.js`, 'run', file, '--no-save-trace', '--no-color'], { encoding: 'utf8', cwd: root });
    const ms = performance.now() - started;
    const found = /FOUND (\S+)/.exec(run.stdout)?.[1] ?? 'nothing';
    say(`  ${relative(root, file).padEnd(56)} ${`${fmt(ms)} ms`.padStart(9)}  exit ${run.status}, found ${found}${ms >= 1000 ? '  (over the 1 s target)' : ''}`);
  }
}

const [section, ...args] = process.argv.slice(2);
if (section === 'case') {
  runCase(args[0]!, Number(args[1]), Number(args[2]));
} else {
  say('protosim bench');
  say(`machine: ${cpus()[0]?.model ?? 'unknown CPU'}, ${availableParallelism()} cores, node ${process.version}`);
  const roundsList = args[1] ? args[1].split(',').map(Number) : [1, 2, 3, 5, 10];
  if (section === undefined || section === 'exhaustive') benchExhaustive(args[0] ?? null, roundsList);
  if (section === undefined || section === 'random') await benchRandom();
  if (section === undefined || section === 'first') benchFirstCounterexample();
  if (section === 'scaling') {
    say('');
    say('random simulation, scaling only (lock-alternation/started-apart, untraced)');
    await pairedScaling(say);
  }
}
