/**
 * Finished runs must leave nothing behind for the young-generation GC. When the run's global view
 * was an object literal with getter closures, every finished run stayed reachable to scavenges
 * (300 KB of 50 runs survived one; each scavenge promoted ~900 KB) until a full GC: most of the
 * swarm's GC time, and what kept two workers under 1.7x one. Measured in a child process started
 * with --expose-gc: run some seeds, force a minor GC, read how much of the new space survived.
 * The control runs the same measurement on a workload that keeps objects the same way, so a broken
 * measurement (one that sees nothing) turns this red too.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const dist = fileURLToPath(new URL('../../dist/', import.meta.url));
const scenario = fileURLToPath(new URL('../../scenarios/lock-alternation/started-apart.yaml', import.meta.url));

/**
 * Bytes of the new space that survive a minor GC after `workload` ran 50 times (in a fresh process,
 * warmed up), over five rounds: the least (`min`), so a compilation landing in one round does not
 * count against the simulator; the most (`max`) for the control, which only has to show that the
 * measurement can see kept objects (a scavenge V8 starts by itself in a round can hide them there).
 */
function survivors(workload: 'simulate' | 'getter-literals', pick: 'min' | 'max'): number {
  const script = `
    import v8 from 'node:v8';
    const { loadScenarioFile } = await import(${JSON.stringify(dist + 'scenario/load.js')});
    const { CompiledModel, simulate } = await import(${JSON.stringify(dist + 'sim/simulator.js')});
    const s = loadScenarioFile(${JSON.stringify(scenario)});
    const m = new CompiledModel(s.model.name, s.variant);
    const kept = (sim) => ({ get timeMs() { return sim.now; }, get inFlight() { return []; } });
    const work = ${JSON.stringify(workload)} === 'simulate'
      ? (seed) => simulate(m, s.config, seed, { trace: false })
      : (seed) => { const sim = { now: seed, pad: new Array(200).fill(seed) }; sim.view = kept(sim); return sim.view.timeMs; };
    for (let seed = 1; seed <= 3000; seed++) work(seed); // warm: caches filled, code compiled
    const newSpace = () => v8.getHeapSpaceStatistics().find((x) => x.space_name === 'new_space').space_used_size;
    const seen = [];
    for (let round = 0; round < 5; round++) {
      gc({ type: 'minor', execution: 'sync' });
      gc({ type: 'minor', execution: 'sync' });
      for (let seed = 5000 + round * 50; seed < 5050 + round * 50; seed++) work(seed);
      gc({ type: 'minor', execution: 'sync' });
      seen.push(newSpace());
    }
    process.stdout.write(seen.join(' '));
  `;
  const child = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
  if (child.status !== 0) throw new Error(`measurement failed: ${child.stderr}`);
  const seen = child.stdout.split(' ').map(Number);
  return pick === 'min' ? Math.min(...seen) : Math.max(...seen);
}

describe('young-generation garbage', () => {
  it('fifty finished runs leave (almost) nothing for a scavenge to copy', () => {
    // Was ~300,000 bytes; now a few hundred (whatever the GC itself keeps).
    expect(survivors('simulate', 'min')).toBeLessThan(32 * 1024);
  });

  it('control: the measurement sees objects kept alive the way the old view kept runs', () => {
    expect(survivors('getter-literals', 'max')).toBeGreaterThan(32 * 1024);
  });
});
