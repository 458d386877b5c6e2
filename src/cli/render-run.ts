/**
 * Text rendering of a run report for the terminal: the seed first (STYLE 2), then what was found,
 * who waits for what, the shortest trace, and the command that replays it (STYLE 3).
 */
import { isAbsolute, relative } from 'node:path';
import { protocolOrigin } from '../models/registry.js';
import { shellWord } from '../scenario/file-format.js';
import type { RunReport } from '../report/run-report.js';
import { palette, type Palette } from '../report/format.js';
import { renderTrace, renderWaits } from '../report/text.js';
import { renderSequenceText } from '../report/terminal-sequence.js';

export interface RenderRunOptions {
  color: boolean;
  /** at most this many trace lines (list) or diagram rows; the middle is elided */
  maxEvents?: number;
  /** `diagram` (default): a sequence diagram; `list`: one line per event */
  traceStyle?: 'diagram' | 'list';
  /** terminal columns the diagram fits (default 100) */
  width?: number;
}

/** ` --protocol ./path` for a protocol from a module (its trace replays with it), else nothing. */
function moduleFlag(protocol: string): string {
  const origin = protocolOrigin(protocol);
  if (origin === undefined) return '';
  const rel = relative(process.cwd(), origin);
  return ` --protocol ${shellWord(rel.startsWith('..') || isAbsolute(rel) ? rel : `./${rel}`)}`;
}

/** The run report as terminal text: what ran and how far, each finding with its trace and replay command, then the expectations. */
export function renderRunReport(report: RunReport, options: RenderRunOptions): string {
  const p = palette(options.color);
  const out: string[] = [];
  const s = report.scenario;
  out.push(`${p.bold(s.id)} — ${s.title}`);
  out.push(p.dim(`protocol ${s.protocol} (${s.variant})${s.file ? `, scenario ${s.file}` : ''}`));
  out.push(...explorationLines(report, p));
  if (report.determinism) {
    const d = report.determinism;
    out.push(
      d.difference === null
        ? p.dim(`determinism: ${d.checked} seed${d.checked === 1 ? '' : 's'} run twice, identical traces`)
        : p.red(`NONDETERMINISTIC: seed ${d.difference.seed} gave different traces at line ${d.difference.line}:\n  first:  ${d.difference.first}\n  second: ${d.difference.second}`),
    );
  }
  if (report.counterexample) {
    const cx = report.counterexample;
    out.push(
      `shrunk counterexample: seed ${cx.seed}, ${cx.faults.length} fault${cx.faults.length === 1 ? '' : 's'}, ${cx.workload.reduce((n, w) => n + w.length, 0)} typed line(s) -> ${cx.findingId}` +
        (cx.file ? `; saved as ${cx.file}` : ''),
    );
  }
  for (const f of report.findings) out.push(...findingLines(report, f, options, p));
  out.push('');
  for (const e of report.expectations) {
    const mark = e.ok ? p.green('✔') : p.red('✘');
    out.push(`${mark} expected ${e.what}: ${e.expected}; observed: ${e.observed}`);
  }
  out.push(report.ok ? p.green(p.bold('ok: every expectation met')) : p.red(p.bold('FAILED: an expectation was not met')));
  return out.join('\n') + '\n';
}

/** What was explored and how far: the live run, the exhaustive search, or the seeds (the seed first, STYLE 2). */
function explorationLines(report: RunReport, p: Palette): string[] {
  const out: string[] = [];
  const st = report.stats;
  const counts = Object.entries(st.runsWithFinding).map(([id, n]) => `${id} in ${n}`).join(', ');
  if (report.live) {
    const l = report.live;
    out.push(`live run against ${l.target}: seed=${report.seeds.pinned ?? report.seeds.start}, time scale ${l.timeScale} (real ms per model ms)`);
    out.push(p.dim(`${l.trace.length} events in ${st.elapsedMs} ms; ended: ${l.endReason}${counts ? `; found ${Object.keys(st.runsWithFinding).join(', ')}` : '; nothing found'}`));
    for (const note of l.notes) out.push(p.dim(`  note: ${note}`));
    if (l.unexplained !== null) out.push(p.dim(`  the scenario's own server model stopped explaining the live server: ${l.unexplained}`));
  } else if (report.strategy === 'exhaustive') {
    out.push(`strategy=exhaustive`);
    const rate = st.elapsedMs > 0 ? `, ${Math.round((st.states / st.elapsedMs) * 1000).toLocaleString('en-US')} states/s` : '';
    const how = st.complete
      ? 'complete: every reachable state within the bounds was explored'
      : st.limitHit !== null
        ? `incomplete: stopped at the limit ${st.limitHit}`
        : 'stopped at the first finding (--all explores everything)';
    out.push(p.dim(`explored ${st.states.toLocaleString('en-US')} distinct states (${st.transitions.toLocaleString('en-US')} transitions, depth ${st.depth}) in ${st.elapsedMs} ms${rate}; ${how}`));
    const r = st.reduction;
    if (r !== undefined) {
      out.push(
        p.dim(
          `reduction ${r.method}: ${r.reducedStates.toLocaleString('en-US')} states explored by one node's events alone` +
            (r.shorteningStates > 0 ? `; ${r.shorteningStates.toLocaleString('en-US')} states explored without reduction to make every counterexample a shortest one` : '') +
            ' (--reduction none explores every order)',
        ),
      );
    }
    const sym = st.symmetry;
    if (sym !== undefined) {
      const classes = sym.classes.map((c) => `{${c.join(', ')}}`).join(' ');
      out.push(p.dim(sym.refused === null ? `symmetry: ${classes} interchangeable (${sym.permutations} permutations; ${sym.checks.toLocaleString('en-US')} steps checked against their permutations)` : `symmetry: not used: ${sym.refused}`));
    }
    const m = st.storage;
    if (m !== undefined && m.memory !== 'exact') out.push(p.dim(storageLine(m)));
    else if (m !== undefined && m.notChecked.length > 0) out.push(p.dim(`not checked: ${m.notChecked.join(', ')}`));
  } else {
    const seeds = report.seeds.pinned !== null ? `seed=${report.seeds.pinned}` : `seeds=${report.seeds.start}..${report.seeds.start + report.seeds.count - 1}`;
    const shard = report.shard ? ` shard=${report.shard.index}/${report.shard.count}` : '';
    out.push(`${seeds}${shard} strategy=${report.strategy}`);
    out.push(
      p.dim(
        `explored ${st.runs} run${st.runs === 1 ? '' : 's'} (${st.transitions} events, ${st.states} distinct node states) in ${st.elapsedMs} ms` +
          (counts ? `; found ${counts} run${st.runs === 1 ? '' : 's'}` : '; nothing found'),
      ),
    );
  }
  return out;
}

/** One finding: what it is, who waits for what, its shortest trace, whether it is timed, and how to replay it (STYLE 3). */
function findingLines(report: RunReport, f: RunReport['findings'][number], options: RenderRunOptions, p: Palette): string[] {
  const out: string[] = [];
  out.push('');
  const h = report.strategy !== 'exhaustive' && report.header && report.header.seed === f.seed ? report.header : null;
  out.push(
    p.red(p.bold(`FOUND ${f.kind}`)) +
      (report.strategy === 'exhaustive' ? ` (${f.id}) after ${f.step} steps (shortest)` : ` (${f.id}) at seed=${f.seed}, step ${f.step}, t=${f.timeMs} ms${report.live ? ' (live)' : ''}`),
  );
  if (h) {
    const starts = Object.entries(h.derived.startAtMs).map(([n, t]) => `${n}@${t}ms`).join(' ');
    out.push(p.dim(`  derived from seed ${f.seed}: starts ${starts}${h.derived.faults.length ? `; ${h.derived.faults.length} fault(s)` : ''}`));
  }
  out.push(`  ${f.summary}`);
  if (f.diagnosis) out.push(`  ${p.yellow('why:')} ${f.diagnosis}`);
  out.push('');
  out.push(p.bold('  who waits for what:'));
  const steps = report.strategy === 'exhaustive';
  out.push(renderWaits(f, options.color, steps));
  out.push('');
  out.push(
    p.bold(
      report.strategy === 'exhaustive'
        ? `  shortest trace (${f.step} steps; times are step numbers, the search is untimed):`
        : report.live
          ? `  the live run up to the finding (${f.trace.length} events; times in model ms):`
          : `  shortest trace found (${f.trace.length} events, seed ${f.seed}):`,
    ),
  );
  if (options.traceStyle === 'list') {
    out.push(renderTrace(f.trace, { color: options.color, cycleStart: f.cycleStart, maxEvents: options.maxEvents ?? 80, steps }));
  } else {
    const diagram = renderSequenceText(f.trace, { color: options.color, cycleStart: f.cycleStart, maxRows: options.maxEvents ?? 80, width: (options.width ?? 100) - 2, steps });
    out.push(diagram.replace(/^/gm, '  '));
  }
  if (f.timed) {
    out.push(
      f.timed.realisable
        ? `  ${p.green('timed:')} the simulator takes this order with delays inside the scenario's bounds (last event at ${f.timed.lastEventMs} ms)`
        : f.timed.why.startsWith('untimed only: ')
          ? `  ${p.yellow('untimed only:')} no timed run within the scenario's bounds takes this order: ${f.timed.why.replace(/^untimed only: /, '')}`
          : `  ${p.yellow('not realised as a timed run:')} ${f.timed.why}`,
    );
  }
  out.push('');
  out.push(`  replay: ${p.cyan(f.replay.command)}`);
  if (f.replay.traceFile) out.push(`      or: ${p.cyan(`npx protosim replay ${f.replay.traceFile}${moduleFlag(report.scenario.protocol)}`)}`);
  return out;
}

/** The approximate memory modes: how likely states were missed (as Spin reports it) and what was not checked. */
function storageLine(m: NonNullable<RunReport['stats']['storage']>): string {
  const o = m.omission;
  const prob = (x: number): string => (x === 0 ? '0' : x < 1e-3 ? x.toExponential(1) : x.toPrecision(2));
  const miss =
    o === undefined
      ? ''
      : m.memory === 'bitstate'
        ? `: 2^${o.hashBits} bits, hash factor ${o.hashFactor!.toFixed(1)} (best above 100), a new state is taken as seen with probability ${prob(o.missedStateProbability)} at the end, about ${o.expectedMissedStates.toFixed(1)} states missed in all`
        : `: 64-bit hashes, the probability that two states collided (one was then not explored) is ${prob(o.missedStateProbability)}`;
  const unchecked = m.notChecked.length > 0 ? `; not checked in this mode: ${m.notChecked.join(', ')} (--memory exact checks it)` : '';
  return `memory ${m.memory}${miss}${unchecked}`;
}
