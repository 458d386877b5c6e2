/**
 * The self-contained HTML report: one file, inline CSS, inline SVG, a few lines of inline script,
 * nothing fetched (it opens from a file:// URL on a machine with no network). For a model run:
 * the verdict, the scenario, the expectations, and for each finding who waits for what, the replay
 * command, the sequence diagram and the timeline. For a suite (live conformance, grading): the
 * score and one row per case, each with its details and diagram.
 */
import type { Finding } from '../sim/finding.js';
import type { RunReport } from './run-report.js';
import { isSuiteReport, type CaseResult, type SuiteReport } from './case-result.js';
import { formatMessage } from './format.js';
import { suiteFromRun } from './suite-from-run.js';
import { escapeXml as esc } from './svg.js';
import { renderSequenceSvg } from './svg-sequence.js';
import { renderTimelineSvg } from './svg-timeline.js';
import { timeText } from './time-label.js';

export interface HtmlOptions {
  /** shown in the footer (`protosim 0.1.0`) */
  generator?: string;
}

const css = `
:root { --fg:#0f172a; --muted:#64748b; --line:#e2e8f0; --bg:#f1f5f9; --card:#fff; --pass:#15803d; --fail:#b91c1c; --err:#b45309; --skip:#64748b; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--fg); font: 15px/1.5 system-ui, -apple-system, 'Segoe UI', 'DejaVu Sans', sans-serif; }
main { max-width: 1240px; margin: 0 auto; padding: 24px 28px 48px; }
header.top { display:flex; gap:24px; align-items:center; justify-content:space-between; flex-wrap:wrap; margin-bottom: 18px; }
header.top .kicker { color:var(--muted); font-size:13px; letter-spacing:.06em; text-transform:uppercase; font-weight:600; }
h1 { font-size: 26px; margin: 2px 0 4px; word-break: break-word; }
h1 + p { margin: 0; color:#334155; font-size:16px; }
h2 { font-size: 19px; margin: 0 0 12px; }
h3 { font-size: 15px; margin: 18px 0 8px; color:#334155; }
.verdict { border-radius: 12px; padding: 12px 22px; color:#fff; text-align:center; min-width: 180px; box-shadow: 0 1px 3px rgba(0,0,0,.15); }
.verdict strong { display:block; font-size: 30px; letter-spacing:.04em; line-height:1.1; }
.verdict span { font-size: 13px; opacity:.95; }
.verdict.pass { background: var(--pass); } .verdict.fail { background: var(--fail); }
.card { background:var(--card); border:1px solid var(--line); border-radius:12px; padding:18px 22px; margin: 16px 0; box-shadow: 0 1px 2px rgba(15,23,42,.04); }
dl.facts { display:grid; grid-template-columns: max-content 1fr; gap: 4px 18px; margin:0; }
dl.facts dt { color:var(--muted); } dl.facts dd { margin:0; font-weight:500; word-break: break-word; }
code, pre, .mono { font-family: ui-monospace, 'DejaVu Sans Mono', Menlo, Consolas, monospace; font-size: 13px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align:left; padding: 7px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: 12px; text-transform: uppercase; letter-spacing:.05em; color: var(--muted); font-weight:600; }
.pill { display:inline-block; border-radius: 999px; padding: 1px 10px; font-size: 12px; font-weight: 700; color:#fff; letter-spacing:.04em; }
.pill.PASS { background: var(--pass); } .pill.FAIL { background: var(--fail); } .pill.ERROR { background: var(--err); } .pill.SKIP { background: var(--skip); }
.pill.FLAKY { background: #d97706; margin-left: 4px; }
.ok { color: var(--pass); font-weight:700; } .bad { color: var(--fail); font-weight:700; }
.finding h2 { color: var(--fail); }
.summary { font-size: 16px; margin: 0 0 8px; }
.why { background:#fffbeb; border-left: 4px solid #f59e0b; padding: 8px 12px; border-radius: 4px; margin: 8px 0 0; }
.replay { display:flex; gap:8px; align-items:center; background:#0f172a; color:#e2e8f0; border-radius:8px; padding: 8px 12px; margin: 6px 0; }
.replay code { flex:1; color:#e2e8f0; white-space: pre-wrap; word-break: break-all; }
.replay button { background:#334155; color:#fff; border:0; border-radius:6px; padding:4px 10px; cursor:pointer; font-size:12px; }
.replay button:hover { background:#475569; }
.diagram { overflow-x:auto; border:1px solid var(--line); border-radius: 8px; background:#fff; padding: 6px; }
.diagram svg { display:block; max-width: 100%; height: auto; }
.legend { color: var(--muted); font-size: 12.5px; margin: 6px 0 0; }
.legend b { color:#334155; }
.waits td:first-child { font-weight:700; }
.waits .status-crashed { color: var(--fail); font-weight:700; }
details.case { border-bottom: 1px solid var(--line); }
details.case > summary { cursor:pointer; list-style: none; display:grid; grid-template-columns: 80px 1fr 110px 90px; gap: 12px; padding: 9px 6px; align-items:center; }
details.case > summary::-webkit-details-marker { display:none; }
details.case > summary:hover { background:#f8fafc; }
details.case[open] > summary { background:#f8fafc; }
details.case .body { padding: 8px 12px 16px 92px; }
.case-head { display:grid; grid-template-columns: 80px 1fr 110px 90px; gap: 12px; padding: 6px; font-size:12px; text-transform:uppercase; color:var(--muted); font-weight:600; border-bottom: 1px solid var(--line); letter-spacing:.05em; }
.case-title small { color: var(--muted); display:block; font-family: ui-monospace, 'DejaVu Sans Mono', monospace; font-size: 12px; }
.num { text-align:right; font-variant-numeric: tabular-nums; }
.score { font-size: 34px; font-weight: 800; }
.empty { color: var(--muted); font-style: italic; }
footer { color: var(--muted); font-size: 12px; text-align:center; margin-top: 28px; }
`;

// Copy buttons; the clipboard API may be refused on file:// pages, so fall back to selecting the text.
const script = `
document.querySelectorAll('button[data-copy]').forEach(function (b) {
  b.addEventListener('click', function () {
    var code = document.getElementById(b.getAttribute('data-copy'));
    var text = code ? code.textContent : '';
    var done = function () { b.textContent = 'copied'; setTimeout(function () { b.textContent = 'copy'; }, 1500); };
    var select = function () { var r = document.createRange(); r.selectNodeContents(code); var s = window.getSelection(); s.removeAllRanges(); s.addRange(r); b.textContent = 'selected'; };
    if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(text).then(done, select); else select();
  });
});
`;

/** Renders a run or suite report as one self-contained HTML page. */
export function renderHtmlReport(report: RunReport | SuiteReport, options: HtmlOptions = {}): string {
  const ids = { next: 0 };
  const title = isSuiteReport(report) ? `protosim: ${report.name ?? report.target}` : `protosim: ${report.scenario.id}`;
  const body = isSuiteReport(report) ? suiteBody(report, ids) : runBody(report, ids);
  return (
    `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">` +
    `<title>${esc(title)}</title><style>${css}</style></head><body><main>${body}` +
    `<footer>generated by ${esc(options.generator ?? 'protosim')} · this page is self-contained and needs no network</footer>` +
    `</main><script>${script}</script></body></html>\n`
  );
}

function verdictBox(ok: boolean, line: string): string {
  return `<div class="verdict ${ok ? 'pass' : 'fail'}" id="verdict" data-verdict="${ok ? 'PASS' : 'FAIL'}"><strong>${ok ? 'PASS' : 'FAIL'}</strong><span>${esc(line)}</span></div>`;
}

function runBody(run: RunReport, ids: { next: number }): string {
  const s = run.scenario;
  const out: string[] = [];
  const found = run.findings.map((f) => f.kind).join(', ');
  out.push(
    `<header class="top"><div><div class="kicker">protosim · model run</div><h1>${esc(s.id)}</h1><p>${esc(s.title)}</p></div>` +
      verdictBox(run.ok, run.ok ? (found ? `${found} found, as expected` : 'every expectation met') : 'an expectation was not met') +
      `</header>`,
  );
  const st = run.stats;
  const seeds = run.seeds.pinned !== null ? `seed ${run.seeds.pinned}` : `seeds ${run.seeds.start}..${run.seeds.start + run.seeds.count - 1}`;
  out.push(
    `<section class="card scenario"><h2>Scenario</h2><dl class="facts">` +
      fact('id', `<code>${esc(s.id)}</code>`) +
      fact('title', esc(s.title)) +
      fact('protocol', esc(s.protocol)) +
      fact('variant', esc(s.variant)) +
      fact('file', s.file ? `<code>${esc(s.file)}</code>` : '<span class="empty">built in (protosim check)</span>') +
      (s.tags.length ? fact('tags', esc(s.tags.join(', '))) : '') +
      fact('explored', esc(`${run.strategy}, ${seeds}: ${st.runs} run${st.runs === 1 ? '' : 's'}, ${st.transitions} events, ${st.states} distinct node states, ${st.elapsedMs} ms`)) +
      `</dl></section>`,
  );
  out.push(`<section class="card expectations"><h2>Expectations</h2>${caseList(suiteFromRun(run).cases, false, ids, false)}</section>`);
  run.findings.forEach((f, i) => out.push(findingSection(f, i, run.findings.length, ids, run.strategy === 'exhaustive')));
  if (run.findings.length === 0) out.push(`<section class="card"><h2>Findings</h2><p class="empty">Nothing was found in ${st.runs} run${st.runs === 1 ? '' : 's'}: there is no counterexample to draw.</p></section>`);
  return out.join('\n');
}

function fact(name: string, html: string): string {
  return `<dt>${esc(name)}</dt><dd>${html}</dd>`;
}

function replayBox(command: string, ids: { next: number }): string {
  const id = `replay-${ids.next++}`;
  return `<div class="replay"><code id="${id}">${esc(command)}</code><button type="button" data-copy="${id}">copy</button></div>`;
}

function findingSection(f: Finding & { replay: { command: string; traceFile: string | null } }, i: number, count: number, ids: { next: number }, steps: boolean): string {
  const out: string[] = [];
  out.push(`<section class="card finding" id="finding-${i + 1}">`);
  out.push(`<h2>${count > 1 ? `Finding ${i + 1} of ${count}: ` : 'Finding: '}${esc(f.kind)} <small class="mono">(${esc(f.id)})</small></h2>`);
  out.push(`<p class="summary">${esc(f.summary)}</p>`);
  out.push(
    `<p class="legend">${steps ? `the shortest: ${f.step} steps of the untimed search (times below are step numbers)` : `seed ${f.seed}, step ${f.step}, at t=${f.timeMs} ms`}; trace of ${f.trace.length} events</p>`,
  );
  if (f.diagnosis) out.push(`<p class="why"><b>Why:</b> ${esc(f.diagnosis)}</p>`);
  out.push(`<h3>Replay</h3>${replayBox(f.replay.command, ids)}`);
  if (f.replay.traceFile) out.push(replayBox(`npx protosim replay ${f.replay.traceFile}`, ids));
  out.push(`<h3>Who waits for what</h3><table class="waits"><thead><tr><th>node</th><th>role</th><th>status</th><th>state</th><th>waits for</th><th>last sent</th><th>last received</th></tr></thead><tbody>`);
  for (const n of f.nodes) {
    out.push(
      `<tr><td>${esc(n.id)}</td><td>${esc(n.role)}</td><td class="status-${esc(n.status)}">${esc(n.status)}</td><td><code>${esc(n.state)}</code></td>` +
        `<td>${n.waitsFor ? esc(n.waitsFor) : n.status === 'done' ? 'has exited' : '—'}</td>` +
        `<td>${n.lastSent ? `<code>${esc(formatMessage(n.lastSent.msg))}</code> to ${esc(n.lastSent.to)} at ${timeText(n.lastSent.t, steps)}` : '—'}</td>` +
        `<td>${n.lastReceived ? `<code>${esc(formatMessage(n.lastReceived.msg))}</code> from ${esc(n.lastReceived.from)} at ${timeText(n.lastReceived.t, steps)}` : '—'}</td></tr>`,
    );
  }
  out.push(`</tbody></table>`);
  out.push(diagrams(f.trace, f.cycleStart, ids, steps));
  out.push(`</section>`);
  return out.join('');
}

function diagrams(trace: CaseResult['trace'], cycleStart: number | null, ids: { next: number }, steps = false): string {
  if (!trace || trace.length === 0) return '';
  return (
    `<h3>Sequence diagram</h3><div class="diagram">${renderSequenceSvg(trace, { cycleStart, steps })}</div>` +
    `<p class="legend"><b>Arrows</b> go from the moment a message was sent down to when it arrived; a <b style="color:#dc2626">red cross</b> marks a lost message, ` +
    `<b style="color:#dc2626">red bands</b> the faults, a <b style="color:#dc2626">dashed red lifeline</b> a crashed node, and the <b style="color:#d97706">amber frame</b> the states that repeat for ever. Hover for details.</p>` +
    `<h3>Timeline of node states and faults</h3><div class="diagram">${renderTimelineSvg(trace, { idPrefix: `tl${ids.next++}`, steps })}</div>`
  );
}

/** One row per case; each opens to its reason, expected/observed, replay and diagram. */
function caseList(cases: readonly CaseResult[], showPoints: boolean, ids: { next: number }, withDiagrams: boolean): string {
  if (cases.length === 0) return `<p class="empty">No cases.</p>`;
  const out: string[] = [`<div class="cases"><div class="case-head"><span>verdict</span><span>case</span><span class="num">${showPoints ? 'points' : 'level'}</span><span class="num">time</span></div>`];
  // The first few failures are open, so the page shows a diagram without a click; the rest are one click away.
  const opened = new Set(cases.filter((c) => c.verdict === 'FAIL' || c.verdict === 'ERROR').slice(0, 3));
  for (const c of cases) {
    const open = withDiagrams && opened.has(c);
    out.push(
      `<details class="case" data-verdict="${c.verdict}"${c.flaky ? ' data-flaky="true"' : ''}${open ? ' open' : ''}><summary><span><span class="pill ${c.verdict}">${c.verdict}</span>${c.flaky ? `<span class="pill FLAKY" title="failed, then passed on a re-run">FLAKY</span>` : ''}</span>` +
        `<span class="case-title">${esc(c.title)}<small>${esc(c.id)}${c.verdict !== 'PASS' || c.flaky ? ` — ${esc(c.reason)}` : ''}</small></span>` +
        `<span class="num">${showPoints ? `${c.points} / ${c.maxPoints}` : esc(c.level)}</span><span class="num">${formatDuration(c.durationMs)}</span></summary><div class="body">` +
        `<dl class="facts">${fact('reason', esc(c.reason))}${c.expected !== undefined ? fact('expected', esc(c.expected)) : ''}${c.observed !== undefined ? fact('observed', esc(c.observed)) : ''}${c.step !== undefined ? fact('where', esc(c.step)) : ''}${fact('level', esc(c.level))}</dl>` +
        (c.replay ? replayBox(c.replay, ids) : '') +
        (withDiagrams ? diagrams(c.trace, c.cycleStart ?? null, ids, c.steps ?? false) : c.trace && c.trace.length ? `<p class="legend">The trace is drawn in the finding below.</p>` : '') +
        `</div></details>`,
    );
  }
  out.push(`</div>`);
  return out.join('');
}

function formatDuration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

function suiteBody(suite: SuiteReport, ids: { next: number }): string {
  const by = (v: CaseResult['verdict']): number => suite.cases.filter((c) => c.verdict === v).length;
  const flaky = suite.cases.filter((c) => c.flaky).length;
  const out: string[] = [];
  out.push(
    `<header class="top"><div><div class="kicker">protosim · conformance suite</div><h1>${esc(suite.name ?? suite.target)}</h1><p>against <code>${esc(suite.target)}</code></p></div>` +
      verdictBox(suite.ok, `${suite.score} / ${suite.maxScore} points`) +
      `</header>`,
  );
  out.push(
    `<section class="card"><h2>Score</h2><div class="score">${suite.score} <span class="empty">/ ${suite.maxScore}</span></div>` +
      `<p>${by('PASS')} passed${flaky > 0 ? ` (${flaky} FLAKY: passed on a re-run)` : ''} · ${by('FAIL')} failed · ${by('ERROR')} errors · ${by('SKIP')} skipped · ${formatDuration(suite.durationMs)}</p></section>`,
  );
  out.push(`<section class="card"><h2>Cases</h2>${caseList(suite.cases, true, ids, true)}</section>`);
  return out.join('\n');
}
