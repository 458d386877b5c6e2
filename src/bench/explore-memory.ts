/**
 * `node dist/bench/explore-memory.js [protocol] [--clients N] [--rounds N] [--memory MODE]
 * [--reduction none|por] [--symmetry] [--max-states N] [--first]`: one exhaustive search in this process, with
 * what it cost per stored state, as issue 18 measures it: (peak RSS - RSS before the search) /
 * states stored, and states per second. The RSS before the search is read after the model is
 * compiled and a collection ran (when node runs with --expose-gc), so that it holds the program and
 * nothing of the search. Prints one JSON line. Never part of `npm test`.
 */
import { resourceUsage } from 'node:process';
import { protocolNamed } from '../models/registry.js';
import { defaultCheckSpec } from '../scenario/check-scenario.js';
import { scenarioFromData } from '../scenario/load.js';
import { exploreExhaustive, type MemoryMode, type Reduction } from '../sim/explore/exhaustive.js';
import { CompiledModel } from '../sim/simulator.js';

const argv = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const protocol = argv[0] !== undefined && !argv[0].startsWith('--') ? argv[0] : 'lock-alternation';
const model = protocolNamed(protocol);
if (model === undefined) throw new Error(`unknown protocol ${protocol}`);
const scale = {
  ...(flag('--clients') !== undefined ? { clients: Number(flag('--clients')) } : {}),
  ...(flag('--rounds') !== undefined ? { rounds: Number(flag('--rounds')) } : {}),
};
const check = defaultCheckSpec(model, 'faithful', scale);
if ('problem' in check) throw new Error(check.problem);
const scenario = scenarioFromData(check.spec, `${protocol} defaults`);
const config = { ...scenario.config, variant: scenario.variant.name };
const compiled = new CompiledModel(scenario.model.name, scenario.variant);
(globalThis as { gc?: () => void }).gc?.();
const rssBefore = process.memoryUsage().rss;
const started = performance.now();
const cpuStarted = process.cpuUsage();
const during = { rss: 0, heapUsed: 0, heapTotal: 0, arrayBuffers: 0 };
const before = process.memoryUsage();
const result = exploreExhaustive(compiled, config, {
  maxStates: Number(flag('--max-states') ?? 20_000_000),
  maxDepth: 1_000_000,
  faultBudget: Number(flag('--fault-budget') ?? 0),
  all: !argv.includes('--first'),
  reduction: (flag('--reduction') ?? 'none') as Reduction,
  symmetry: argv.includes('--symmetry'),
  memory: (flag('--memory') ?? 'exact') as MemoryMode,
  memo: !argv.includes('--no-memo'),
  ...(flag('--hash-bits') !== undefined ? { hashBits: Number(flag('--hash-bits')) } : {}),
  clock: () => performance.now(),
  // sampled during the breadth-first search, to tell its memory from the cycle check's at the end
  progressEvery: 65_536,
  onProgress: () => {
    const m = process.memoryUsage();
    if (m.rss > during.rss) Object.assign(during, { rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, arrayBuffers: m.arrayBuffers });
  },
});
const elapsedMs = performance.now() - started;
const cpu = process.cpuUsage(cpuStarted);
if (argv.includes('--smaps')) {
  // the biggest resident mappings, to tell malloc's heap from V8's pages and the tables' buffers
  const { readFileSync } = await import('node:fs');
  const maps: { name: string; rssKiB: number }[] = [];
  let name = '';
  for (const line of readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
    if (/^[0-9a-f]+-[0-9a-f]+ /.test(line)) name = line;
    else if (line.startsWith('Rss:')) maps.push({ name, rssKiB: Number(line.split(/\s+/)[1]) });
  }
  maps.sort((a, b) => b.rssKiB - a.rssKiB);
  for (const m of maps.slice(0, 25)) process.stderr.write(`${String(m.rssKiB).padStart(8)} KiB ${m.name}\n`);
}
const after = process.memoryUsage();
const peak = resourceUsage().maxRSS * 1024;
const st = result.stats;
process.stdout.write(
  JSON.stringify({
    protocol,
    ...scale,
    memory: flag('--memory') ?? 'exact',
    symmetry: argv.includes('--symmetry'),
    states: st.states,
    transitions: st.transitions,
    complete: st.complete,
    limitHit: st.limitHit,
    findings: result.findings.map((f) => `${f.id}:${f.path?.length ?? 0}`).join(' '),
    seconds: +(elapsedMs / 1000).toFixed(2),
    cpuSeconds: +((cpu.user + cpu.system) / 1e6).toFixed(2),
    statesPerSecond: Math.round(st.states / (elapsedMs / 1000)),
    rssBeforeMiB: +(rssBefore / 2 ** 20).toFixed(1),
    peakRssMiB: +(peak / 2 ** 20).toFixed(1),
    bytesPerState: +((peak - rssBefore) / st.states).toFixed(1),
    before: { heapTotalMiB: +(before.heapTotal / 2 ** 20).toFixed(1), arrayBuffersMiB: +(before.arrayBuffers / 2 ** 20).toFixed(1) },
    searchPeak: Object.fromEntries(Object.entries(during).map(([k, v]) => [`${k}MiB`, +(v / 2 ** 20).toFixed(1)])),
    after: { rssMiB: +(after.rss / 2 ** 20).toFixed(1), heapUsedMiB: +(after.heapUsed / 2 ** 20).toFixed(1), arrayBuffersMiB: +(after.arrayBuffers / 2 ** 20).toFixed(1) },
    ...(st.storage ? { storage: st.storage } : {}),
    ...(st.symmetry ? { symmetryStats: st.symmetry } : {}),
  }) + '\n',
);
