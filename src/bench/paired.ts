/**
 * `npm run bench:paired -- <dist A> <dist B> [--runs N] [--only exhaustive|random]`: the same work
 * on two builds of protosim, in whole processes taking turns (A, B, A, B, ...), and the median of
 * each with the ratio B/A. This machine's cores are shared and noisy: a best-of-three inside one
 * process flatters, paired whole-process runs with medians do not (issue 12's "median of paired
 * runs"). A build is a `dist/` folder (for example a `git worktree` of an older commit, built).
 *
 * Work measured, per process:
 *  - exhaustive: lock-alternation, 3 clients, 5 rounds, no faults, --all, the whole space
 *    (`bench/index.js case`): distinct states per second;
 *  - random: started-apart.yaml, seeds 1..20,000, one thread, untraced: simulated events per second.
 */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

interface Sample {
  exhaustive?: number;
  random?: number;
}

const randomSeeds = 20_000;

/** One process's random-simulation rate on build `dist` (run as `paired.js random-case <dist>`). */
async function randomCase(dist: string): Promise<void> {
  const load = (await import(pathToFileURL(resolve(dist, 'scenario/load.js')).href)) as typeof import('../scenario/load.js');
  const sim = (await import(pathToFileURL(resolve(dist, 'sim/simulator.js')).href)) as typeof import('../sim/simulator.js');
  const scenario = load.loadScenarioFile(resolve(dist, '../scenarios/lock-alternation/started-apart.yaml'));
  const model = new sim.CompiledModel(scenario.model.name, scenario.variant);
  // warm-up: compile the hot paths and fill the model's caches, as a swarm worker does
  for (let seed = 1; seed <= 500; seed++) sim.simulate(model, scenario.config, seed, { trace: false });
  let events = 0;
  const started = performance.now();
  for (let seed = 1; seed <= randomSeeds; seed++) events += sim.simulate(model, scenario.config, seed, { trace: false }).stats.eventsSimulated;
  const ms = performance.now() - started;
  process.stdout.write(JSON.stringify({ eventsPerSecond: (events / ms) * 1000 }) + '\n');
}

function measure(dist: string, only: string | null): Sample {
  const out: Sample = {};
  if (only === null || only === 'exhaustive') {
    const r = spawnSync(process.execPath, [resolve(dist, 'bench/index.js'), 'case', 'lock-alternation', '3', '5'], { encoding: 'utf8', maxBuffer: 1 << 24 });
    if (r.status !== 0) throw new Error(`exhaustive case on ${dist} failed: ${r.stderr}`);
    const stats = (JSON.parse(r.stdout) as { stats: { states: number; elapsedMs: number } }).stats;
    out.exhaustive = (stats.states / stats.elapsedMs) * 1000;
  }
  if (only === null || only === 'random') {
    const r = spawnSync(process.execPath, [new URL(import.meta.url).pathname, 'random-case', dist], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`random case on ${dist} failed: ${r.stderr}`);
    out.random = (JSON.parse(r.stdout) as { eventsPerSecond: number }).eventsPerSecond;
  }
  return out;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv[0] === 'random-case') return randomCase(argv[1]!);
  const runsAt = argv.indexOf('--runs');
  const runs = runsAt >= 0 ? Number(argv[runsAt + 1]) : 5;
  const onlyAt = argv.indexOf('--only');
  const only = onlyAt >= 0 ? argv[onlyAt + 1]! : null;
  const [a, b] = argv.filter((x, i) => !x.startsWith('--') && argv[i - 1] !== '--runs' && argv[i - 1] !== '--only').map((x) => resolve(x));
  if (a === undefined || b === undefined) {
    process.stderr.write('usage: paired.js <dist A> <dist B> [--runs N] [--only exhaustive|random]\n');
    process.exitCode = 2;
    return;
  }
  const samples: { a: Sample; b: Sample }[] = [];
  for (let i = 0; i < runs; i++) {
    // alternate which goes first, so a slow spell does not always fall on the same build
    const first = i % 2 === 0;
    const x = measure(first ? a : b, only);
    const y = measure(first ? b : a, only);
    samples.push(first ? { a: x, b: y } : { a: y, b: x });
    process.stdout.write(`run ${i + 1}/${runs}: ${JSON.stringify(samples[samples.length - 1])}\n`);
  }
  for (const key of ['exhaustive', 'random'] as const) {
    const as = samples.map((s) => s.a[key]).filter((v): v is number => v !== undefined);
    const bs = samples.map((s) => s.b[key]).filter((v): v is number => v !== undefined);
    if (as.length === 0) continue;
    const ratios = samples.map((s) => s.b[key]! / s.a[key]!);
    const unit = key === 'exhaustive' ? 'states/s' : 'events/s';
    process.stdout.write(
      `${key}: A median ${Math.round(median(as)).toLocaleString('en-US')} ${unit}, B median ${Math.round(median(bs)).toLocaleString('en-US')} ${unit}; B/A: median of paired ratios ${median(ratios).toFixed(3)} (range ${Math.min(...ratios).toFixed(3)}-${Math.max(...ratios).toFixed(3)}, ${runs} pairs)\n`,
    );
  }
}

await main();
