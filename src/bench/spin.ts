/**
 * `npm run bench:spin`: protosim's exhaustive explorer and Spin side by side, on the same protocols
 * and bounds, in one sitting, every run a whole process measured from outside (spin-run.ts).
 *
 * Spin's models are `bench/spin/models/*.pml` (copied from the Spin baseline; bench/spin/README.md
 * says where from). For each Spin run the bench writes the model into a scratch folder, runs
 * `spin -a`, `gcc -O2` and `./pan` with the switches of that baseline's `run.sh`, and times the
 * three end to end. protosim runs as `node bin/protosim.js check <protocol> --strategy exhaustive
 * --fault-budget 0 ...`. It prints:
 *
 *  1. the whole state space (Spin `pan -E -A`, nothing checked; protosim `--all`, every check on):
 *     lock-alternation with 3 clients at rounds 1, 2, 3, 5, 10 and status-handshake with 3 and 4
 *     client nodes: states, end-to-end time, peak memory, and protosim / Spin ratios;
 *  2. counterexamples (lock-alternation 3 clients 3 rounds, status-handshake 3 client nodes): each
 *     Spin property run (depth-first, as run.sh measures it, and breadth-first for the shortest)
 *     next to protosim's first-stop run and the shortest trace of the matching finding, lengths in
 *     store operations (a request delivered to the store; Spin's step is one store operation).
 *
 * Bounded: every run has a named time limit (`runLimitS`, `--limit-s`, default 300 s) after which
 * its process group is killed and the row says so; protosim also stops at `maxStates`
 * (`--max-states`, default 20,000,000); `--protosim-args '--symmetry --reduction por'` adds switches
 * to every protosim run. `--quick` skips the two biggest cases (as run.sh's
 * QUICK=1), `--only REGEX` runs the cases whose id matches, `--pairs N` runs each whole-space case N
 * times (Spin then protosim) and gives medians. Without `spin` or `gcc` it says how to
 * install them and exits 0. Never part of `npm test`.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { measure, peakMethod, type Measured } from './spin-run.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const modelsDir = join(root, 'bench', 'spin', 'models');
const cli = join(root, 'bin', 'protosim.js');

const argv = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
/** the named time limit of every run (each Spin run: spin -a + gcc + pan together), seconds */
const runLimitS = Number(flag('--limit-s') ?? 300);
/** protosim's bound on stored states */
const maxStates = Number(flag('--max-states') ?? 20_000_000);
const quick = argv.includes('--quick');
/** extra switches for every protosim run, e.g. `--protosim-args '--symmetry --reduction por'` */
const protosimArgs = (flag('--protosim-args') ?? '').split(' ').filter((x) => x !== '');
const only = flag('--only') !== undefined ? new RegExp(flag('--only')!) : null;
/** whole-space cases: pairs of runs (Spin, then protosim) per case; the row gives medians and lists every time */
const pairs = Math.max(1, Number(flag('--pairs') ?? 1));

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const secs = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
const mib = (b: number | null): string => (b === null ? '?' : `${fmt(b / 2 ** 20)} MiB`);
const ratio = (a: number | null | undefined, b: number | null | undefined): string => (a == null || b == null || b === 0 ? '-' : `${(a / b).toFixed(2)}x`);
/** protosim / Spin time: a lower bound (`>`) when only protosim was stopped by the time limit, none when Spin was. */
const timeRatio = (ps: { wallMs: number; timedOut: boolean }, spin: { wallMs: number; timedOut: boolean }): string =>
  spin.timedOut ? '-' : `${ps.timedOut ? '>' : ''}${ratio(ps.wallMs, spin.wallMs)}`;

function have(tool: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).status === 0;
}

// ---- Spin -----------------------------------------------------------------------------------

type SpinKind = 'full' | 'dead' | 'assert';

interface SpinResult {
  id: string;
  verdict: string;
  states: number | null;
  transitions: number | null;
  /** pan's own "total actual memory usage", MB */
  panMemMb: number | null;
  wallMs: number;
  stageMs: { spin: number; gcc: number; pan: number };
  peakRss: number | null;
  /** model steps (= store operations) in the trail, when there is one */
  trail: number | null;
  timedOut: boolean;
  complete: boolean;
}

/** gcc and pan switches per kind, as the baseline's run.sh has them. */
function spinSwitches(kind: SpinKind, depth: number, bfs: boolean): { gcc: string[]; pan: string[] } {
  const gcc = ['-O2', '-DSAFETY', ...(bfs ? ['-DBFS'] : [])];
  if (kind === 'full') return { gcc, pan: [`-m${depth}`, '-E', '-A'] };
  if (kind === 'assert') return { gcc, pan: [`-m${depth}`, '-E'] };
  return { gcc, pan: [`-m${depth}`] };
}

/** Model steps in a trail (safety runs: no never claim); Spin 6.5.2's BFS trail of an invalid end state has one extra step, dropped as run.sh does. */
function trailSteps(dir: string, model: string, defs: string[], bfs: boolean): number | null {
  const file = join(dir, `${model}.trail`);
  if (!existsSync(file)) return null;
  let lines = readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '');
  if (bfs) {
    const replay = spawnSync('spin', ['-t', '-p', ...defs, model], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
    if (`${replay.stdout}${replay.stderr}`.includes('transition failed')) {
      lines = lines.slice(0, -1);
      writeFileSync(file, lines.join('\n') + '\n');
    }
  }
  return lines.filter((l) => Number(l.split(':')[0]) >= 0).length;
}

async function runSpin(id: string, model: string, kind: SpinKind, defs: string[], options: { depth?: number; bfs?: boolean } = {}): Promise<SpinResult> {
  const dir = mkdtempSync(join(tmpdir(), 'protosim-bench-spin-'));
  try {
    copyFileSync(join(modelsDir, model), join(dir, model));
    const sw = spinSwitches(kind, options.depth ?? 100_000, options.bfs ?? false);
    const limitMs = runLimitS * 1000;
    const stages: [string, string, string[]][] = [
      ['spin', 'spin', ['-a', ...defs, model]],
      ['gcc', 'gcc', [...sw.gcc, '-o', 'pan', 'pan.c']],
      ['pan', './pan', sw.pan],
    ];
    const ms = { spin: 0, gcc: 0, pan: 0 };
    let peak: number | null = null;
    let last: Measured | null = null;
    for (const [stage, cmd, args] of stages) {
      const left = limitMs - (ms.spin + ms.gcc + ms.pan);
      const m = await measure(cmd, args, { cwd: dir, limitMs: Math.max(1, left) });
      ms[stage as keyof typeof ms] = m.wallMs;
      if (m.peakRss !== null) peak = Math.max(peak ?? 0, m.peakRss);
      if (m.timedOut) peak = null; // the stage killed at the limit has no figure, and an earlier stage's would mislead
      last = m;
      if (m.timedOut) break;
      if (stage !== 'pan' && m.status !== 0) throw new Error(`${id}: ${cmd} ${args.join(' ')} failed:\n${m.stdout}${m.stderr}`);
    }
    const out = last!.stdout;
    const num = (re: RegExp): number | null => {
      const m = re.exec(out);
      return m ? Number(m[1]) : null;
    };
    const errors = num(/errors: (\d+)/);
    const first = /^pan:1: (.*?)(?: \(at depth \d+\))?$/m.exec(out)?.[1]?.replace(/\s+/g, ' ');
    const incomplete = out.includes('max search depth too small');
    const verdict = last!.timedOut ? `stopped at the time limit runLimitS=${runLimitS}` : (first ?? (errors === 0 ? 'ok' : '?')) + (incomplete ? ', INCOMPLETE (-m too small)' : '');
    return {
      id,
      verdict,
      states: num(/^\s*([\d.e+]+) states, stored/m),
      transitions: num(/^\s*([\d.e+]+) transitions \(= /m),
      panMemMb: num(/^\s*([\d.]+)\s+total actual memory usage/m),
      wallMs: ms.spin + ms.gcc + ms.pan,
      stageMs: ms,
      peakRss: peak,
      trail: last!.timedOut ? null : trailSteps(dir, model, defs, options.bfs ?? false),
      timedOut: last!.timedOut,
      complete: !last!.timedOut && !incomplete && errors === 0,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---- protosim --------------------------------------------------------------------------------

interface TraceEvent {
  k: string;
  node?: string;
  role?: string;
  to?: string;
}
interface ReportFinding {
  id: string;
  step: number;
  trace: TraceEvent[];
}
interface ProtosimResult {
  verdict: string;
  states: number | null;
  transitions: number | null;
  wallMs: number;
  peakRss: number | null;
  complete: boolean;
  timedOut: boolean;
  findings: { id: string; steps: number; storeOps: number }[];
}

/** Store operations in a trace: requests delivered to a node that started as a store. */
export function storeOperations(trace: readonly TraceEvent[]): number {
  const stores = new Set(trace.filter((e) => e.k === 'start' && e.role === 'store').map((e) => e.node));
  if (stores.size === 0) stores.add('store');
  return trace.filter((e) => e.k === 'deliver' && e.to !== undefined && stores.has(e.to)).length;
}

async function runProtosim(protocol: string, clients: number, rounds: number, all: boolean): Promise<ProtosimResult> {
  const args = [cli, 'check', protocol, '--clients', String(clients), '--rounds', String(rounds), '--strategy', 'exhaustive', '--fault-budget', '0', '--max-states', String(maxStates), '--max-depth', '1000000', '--format', 'json', '--no-save-trace', '--no-color', ...(all ? ['--all'] : []), ...protosimArgs];
  const m = await measure(process.execPath, args, { cwd: root, limitMs: runLimitS * 1000 });
  if (m.timedOut) return { verdict: `stopped at the time limit runLimitS=${runLimitS}`, states: null, transitions: null, wallMs: m.wallMs, peakRss: m.peakRss, complete: false, timedOut: true, findings: [] };
  if (m.status !== 0 && m.status !== 1) throw new Error(`protosim ${args.slice(1).join(' ')} exited ${m.status ?? m.signal}:\n${m.stderr}`);
  const report = JSON.parse(m.stdout) as { stats: { states: number; transitions: number; complete: boolean; limitHit: string | null }; findings: ReportFinding[] };
  const s = report.stats;
  return {
    verdict: s.complete ? (all ? 'complete' : 'no finding, complete') : s.limitHit ? `stopped at ${s.limitHit}` : `first finding ${report.findings[0]?.id ?? '?'}`,
    states: s.states,
    transitions: s.transitions,
    wallMs: m.wallMs,
    peakRss: m.peakRss,
    complete: s.complete,
    timedOut: false,
    findings: report.findings.map((f) => ({ id: f.id, steps: f.step, storeOps: storeOperations(f.trace) })),
  };
}

// ---- the cases -------------------------------------------------------------------------------

const A = 'lock_alternation.pml';
const B = 'status_handshake.pml';

/** Whole-space cases: Spin `full` on a model with `defs`, protosim `check --all` on the same bounds. */
const spaceCases: { id: string; model: string; defs: string[]; depth?: number; protocol: string; clients: number; rounds: number; big?: true; note?: string }[] = [
  ...[1, 2, 3, 5, 10].map((n) => ({ id: `A.nc3.N${n}`, model: A, defs: ['-DNC=3', `-DN=${n}`], protocol: 'lock-alternation', clients: 3, rounds: n, ...(n === 10 ? { big: true as const } : {}) })),
  // protosim's status-handshake has `clients` clients plus `third` (turned away); Spin's NC clients
  // loop for ever, protosim's type `rounds` messages each and quit: close, not the same bounds.
  { id: 'B.nc3', model: B, defs: ['-DNC=3'], protocol: 'status-handshake', clients: 2, rounds: 2, note: '3 client nodes (c1, c2, third), 2 rounds' },
  { id: 'B.nc4', model: B, defs: ['-DNC=4'], depth: 1_000_000, protocol: 'status-handshake', clients: 3, rounds: 2, big: true, note: '4 client nodes (c1-c3, third), 2 rounds' },
];

/** Counterexample runs: a Spin property and the protosim findings that say the same (shortest of them). */
const cxCases: { id: string; space: string; model: string; kind: SpinKind; defs: string[]; protosim: string[]; note?: string }[] = [
  { id: 'A.nc3.deadlock', space: 'A.nc3.N3', model: A, kind: 'dead', defs: ['-DNC=3'], protosim: ['deadlock'] },
  { id: 'A.nc3.one', space: 'A.nc3.N3', model: A, kind: 'assert', defs: ['-DNC=3', '-DCHECK_ONE'], protosim: ['invariant:single-sender'], note: 'Spin: two clients read connected=null; protosim: two clients may send' },
  { id: 'A.nc3.msg', space: 'A.nc3.N3', model: A, kind: 'assert', defs: ['-DNC=3', '-DCHECK_MSG'], protosim: ['invariant:no-overwrite-before-shown', 'invariant:no-message-shown-twice'] },
  { id: 'B.base.deadlock', space: 'B.nc3', model: B, kind: 'dead', defs: [], protosim: ['deadlock'] },
  { id: 'B.base.msg', space: 'B.nc3', model: B, kind: 'assert', defs: ['-DCHECK_MSG'], protosim: ['invariant:no-message-shown-twice', 'invariant:one-sender-at-a-time'] },
  { id: 'B.base.peer', space: 'B.nc3', model: B, kind: 'assert', defs: ['-DCHECK_PEER'], protosim: ['invariant:no-own-message'] },
];

function table(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  process.stdout.write(`${line(header)}\n|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|\n`);
  for (const r of rows) process.stdout.write(`${line(r)}\n`);
}

/** Says what runs here and on what: the machine, the tools' versions, the limits. */
function printPreamble(): void {
  const spinV = spawnSync('spin', ['-V'], { encoding: 'utf8' }).stdout.trim().split('\n')[0];
  const gccV = spawnSync('gcc', ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0];
  process.stdout.write(`protosim vs Spin (npm run bench:spin)\n`);
  process.stdout.write(`machine: ${cpus()[0]?.model ?? 'unknown CPU'}, ${availableParallelism()} cores, node ${process.version}; ${spinV}; ${gccV}\n`);
  process.stdout.write(`load average at start: ${loadavg().map((x) => x.toFixed(2)).join(' ')}\n`);
  process.stdout.write(`limits: runLimitS=${runLimitS} per run (Spin: spin -a + gcc + pan together), protosim maxStates=${fmt(maxStates)}; ${peakMethod}\n`);
  if (pairs > 1) process.stdout.write(`whole-space cases: ${pairs} pairs each (Spin, then protosim); medians of time and peak, every time listed\n`);
  if (protosimArgs.length > 0) process.stdout.write(`protosim runs with ${protosimArgs.join(' ')}\n`);
  process.stdout.write(`every run is a whole process, one at a time; time is end to end (Spin: spin -a + gcc -O2 + pan; protosim: node bin/protosim.js check ...)\n\n`);
}

/** The run of median time (the later of the two middle ones for an even count), and every run's time when there are several. */
function median<T extends { wallMs: number; peakRss: number | null }>(runs: T[]): { run: T; times: string; peak: number | null } {
  const run = [...runs].sort((a, b) => a.wallMs - b.wallMs)[runs.length >> 1]!;
  const peaks = runs.map((r) => r.peakRss).filter((x): x is number => x !== null).sort((a, b) => a - b);
  return { run, times: runs.length > 1 ? ` (runs ${runs.map((r) => secs(r.wallMs)).join(', ')})` : '', peak: peaks.length === runs.length ? peaks[peaks.length >> 1]! : null };
}

/** Runs the whole-space cases and prints their table; returns each case's runs by id, for the counterexamples. */
async function runSpaceCases(): Promise<Map<string, { spin: SpinResult; ps: ProtosimResult }>> {
  const space = new Map<string, { spin: SpinResult; ps: ProtosimResult }>();
  const spaceRows: string[][] = [];
  for (const c of spaceCases) {
    if ((quick && c.big) || (only && !only.test(c.id))) continue;
    const spins: SpinResult[] = [];
    const pss: ProtosimResult[] = [];
    for (let k = 0; k < pairs; k++) {
      process.stderr.write(`running ${c.id}${pairs > 1 ? ` (pair ${k + 1} of ${pairs})` : ''} ...\n`);
      spins.push(await runSpin(c.id, c.model, 'full', c.defs, c.depth !== undefined ? { depth: c.depth } : {}));
      pss.push(await runProtosim(c.protocol, c.clients, c.rounds, true));
    }
    const sm = median(spins);
    const pm = median(pss);
    const spin = { ...sm.run, peakRss: sm.peak };
    const ps = { ...pm.run, peakRss: pm.peak };
    space.set(c.id, { spin, ps });
    spaceRows.push([
      `${c.id} (${c.protocol} ${c.note ?? `${c.clients} clients, ${c.rounds} round${c.rounds === 1 ? '' : 's'}`})`,
      spin.states === null ? '-' : fmt(spin.states),
      `${secs(spin.wallMs)} (gcc ${secs(spin.stageMs.gcc)})${sm.times}`,
      mib(spin.peakRss),
      spin.complete ? 'complete' : spin.verdict,
      ps.states === null ? '-' : fmt(ps.states),
      `${secs(ps.wallMs)}${pm.times}`,
      mib(ps.peakRss),
      ps.verdict,
      ratio(ps.states, spin.states),
      timeRatio(ps, spin),
      ratio(ps.peakRss, spin.peakRss),
    ]);
  }
  process.stdout.write('whole state space, no faults (Spin: pan -E -A, nothing checked; protosim: --all, every check on)\n');
  table(['case', 'Spin states', 'Spin time', 'Spin peak', 'Spin', 'protosim states', 'protosim time', 'protosim peak', 'protosim', 'states ×', 'time ×', 'peak ×'], spaceRows);
  process.stdout.write('(× = protosim / Spin; >: protosim was stopped by the time limit, so the ratio is at least that; a run stopped by a limit is not complete, and its peak is unknown when the limit killed it)\n\n');
  return space;
}

/** Runs the counterexample cases and prints their table and notes, matching findings against the whole-space runs in `space`. */
async function runCounterexampleCases(space: ReadonlyMap<string, { spin: SpinResult; ps: ProtosimResult }>): Promise<void> {
  // One first-stop protosim run per bound: end to end until its first finding.
  const firstStop = new Map<string, ProtosimResult>();
  const cxRows: string[][] = [];
  for (const c of cxCases) {
    if (only && !only.test(c.id)) continue;
    process.stderr.write(`running ${c.id} ...\n`);
    const spaceCase = spaceCases.find((s) => s.id === c.space)!;
    let first = firstStop.get(c.space);
    if (first === undefined) {
      first = await runProtosim(spaceCase.protocol, spaceCase.clients, spaceCase.rounds, false);
      firstStop.set(c.space, first);
    }
    const dfs = await runSpin(c.id, c.model, c.kind, c.defs);
    const bfs = dfs.trail === null ? null : await runSpin(`${c.id}.bfs`, c.model, c.kind, c.defs, { bfs: true });
    // The shortest matching finding: from the --all run of the same bounds when it ran, else the first-stop run.
    const pool = [...(space.get(c.space)?.ps.findings ?? []), ...first.findings];
    const match = pool.filter((f) => c.protosim.includes(f.id)).sort((x, y) => x.storeOps - y.storeOps || x.steps - y.steps)[0];
    const firstFinding = first.findings[0];
    cxRows.push([
      `${c.id} (${spaceCase.protocol}, ${c.defs.join(' ') || 'NC=3'})`,
      dfs.verdict,
      secs(dfs.wallMs),
      dfs.trail === null ? '-' : String(dfs.trail),
      bfs?.trail == null ? '-' : String(bfs.trail),
      firstFinding ? `${firstFinding.id} (${firstFinding.storeOps} ops)` : first.verdict,
      secs(first.wallMs),
      timeRatio(first, dfs),
      match ? `${match.id}: ${match.storeOps} ops (${match.steps} steps)` : `none of ${c.protosim.join(', ')}`,
      ratio(match?.storeOps, bfs?.trail ?? null),
    ]);
  }
  process.stdout.write('counterexamples, no faults; lengths in store operations (Spin: trail steps, each one store operation; protosim: requests delivered to the store)\n');
  table(['Spin run', 'Spin verdict', 'Spin time', 'Spin len (DFS)', 'Spin len (BFS)', 'protosim first finding', 'protosim time', 'time ×', 'protosim shortest matching', 'len × (vs BFS)'], cxRows);
  process.stdout.write(
    '(status-handshake: Spin\'s clients loop for ever, protosim\'s quit after their rounds: the spaces differ, and so can their deadlocks; ' +
      'Spin checks one property per build, protosim every one at once: "protosim time" is its first-stop search until its first finding, whatever it is; ' +
      '"protosim shortest matching" is the shortest trace of the finding that says what the Spin property says, from the --all run of the same bounds)\n',
  );
  for (const c of cxCases) if (c.note && (!only || only.test(c.id))) process.stdout.write(`  ${c.id}: ${c.note}\n`);
}

async function main(): Promise<void> {
  const missing = ['spin', 'gcc'].filter((t) => !have(t));
  if (missing.length > 0) {
    process.stdout.write(
      `bench:spin needs ${missing.join(' and ')} on the PATH; skipped.\n` +
        `  Debian/Ubuntu: sudo apt-get install -y spin gcc   (Debian bookworm has Spin 6.5.2)\n` +
        `  elsewhere: https://spinroot.com/spin/Man/README.html, then rerun npm run bench:spin\n`,
    );
    return;
  }
  if (!existsSync(join(root, 'dist', 'cli', 'main.js'))) throw new Error('dist/ is missing: npm run build first (npm run bench:spin does)');
  printPreamble();
  const space = await runSpaceCases();
  await runCounterexampleCases(space);
  process.stdout.write(`\nload average at end: ${loadavg().map((x) => x.toFixed(2)).join(' ')} (times on a loaded machine are not the machine's best)\n`);
}

await main();
