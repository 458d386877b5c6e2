#!/usr/bin/env node
/**
 * The replay table (issue 16): the shortest counterexample the exhaustive explorer finds for each
 * scenario under scenarios/lock-alternation/ and scenarios/status-handshake/, replayed with
 * `protosim replay --adapter` on every client program of those protocols that protosim did not write
 * (the corpus and the held-out batch). A seed-faithful client must show each failure (REPRODUCED);
 * a correct one must never (no false REPRODUCED).
 *
 *   npm run replay:table [-- --json FILE] [--only lock-alternation|status-handshake] [--keep]
 *
 * Prints a Markdown table (scenario × client -> verdict, with where the live run left the trace)
 * and the counts; exit 1 when a correct client shows a failure or a seed-faithful one does not.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { clients } from './corpus/clients.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..');
const protosim = join(root, 'bin', 'protosim.js');
const protocols = ['lock-alternation', 'status-handshake'];

const args = process.argv.slice(2);
const opt = (name) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const jsonOut = opt('--json');
const only = opt('--only');
const keep = args.includes('--keep');

const work = mkdtempSync(join(tmpdir(), 'protosim-replay-table-'));
const cleanUp = () => {
  if (!keep) rmSync(work, { recursive: true, force: true });
};
process.on('SIGINT', () => {
  cleanUp();
  process.exit(130);
});

/** The shortest counterexample of each scenario of the faithful models (the fixed-* scenarios have none). */
function counterexamples(protocol) {
  const out = [];
  const dir = join(root, 'scenarios', protocol);
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.yaml') && !f.startsWith('fixed-')).sort()) {
    const trace = join(work, `${protocol}--${basename(file, '.yaml')}.jsonl`);
    const r = spawnSync(process.execPath, [protosim, 'run', join(dir, file), '--strategy', 'exhaustive', '--no-progress', '--no-color', '--trace-out', trace], { cwd: root, encoding: 'utf8', timeout: 300_000 });
    const found = /FOUND (\S+) \(([^)]+)\) after (\d+) steps/.exec(r.stdout);
    if (!existsSync(trace) || !found) {
      out.push({ scenario: `${protocol}/${basename(file, '.yaml')}`, broken: `no counterexample (exit ${r.status})` });
      continue;
    }
    out.push({ scenario: `${protocol}/${basename(file, '.yaml')}`, trace, finding: found[2], steps: Number(found[3]) });
  }
  return out;
}

function replay(cx, client) {
  const started = Date.now();
  const r = spawnSync(process.execPath, [protosim, 'replay', cx.trace, '--adapter', client.adapter, '--format', 'json', '--no-color'], { cwd: root, encoding: 'utf8', timeout: 180_000 });
  const ms = Date.now() - started;
  let report;
  try {
    report = JSON.parse(r.stdout);
  } catch {
    return { verdict: 'ERROR', why: `exit ${r.status}${r.signal ? ` (${r.signal})` : ''}: ${(r.stderr || r.stdout).trim().split('\n').slice(-2).join(' / ')}`, ms };
  }
  return { verdict: report.verdict ?? (report.reproduced ? 'REPRODUCED' : 'NOT REPRODUCED'), why: report.divergence ?? report.observed ?? '', matched: report.matched, ms, exit: r.status };
}

const rows = [];
try {
  for (const protocol of protocols.filter((p) => only === undefined || p === only)) {
    const cxs = counterexamples(protocol);
    const cls = clients(root, work, protocol);
    for (const cx of cxs) {
      for (const client of cls) {
        if (cx.broken || client.broken) {
          rows.push({ scenario: cx.scenario, client: client.id, kind: client.kind, verdict: 'SKIP', why: cx.broken ?? client.broken });
          continue;
        }
        const r = replay(cx, client);
        rows.push({ scenario: cx.scenario, finding: cx.finding, steps: cx.steps, client: client.id, kind: client.kind, ...r });
        process.stderr.write(`${cx.scenario} on ${client.id} (${client.kind}): ${r.verdict} in ${(r.ms / 1000).toFixed(1)} s${r.verdict === 'REPRODUCED' ? '' : ` — ${r.why.slice(0, 160)}`}\n`);
      }
    }
  }
} finally {
  cleanUp();
}

const wrong = rows.filter((r) => (r.kind === 'faithful' && r.verdict !== 'REPRODUCED') || (r.kind === 'correct' && r.verdict === 'REPRODUCED') || r.verdict === 'ERROR');
console.log('| scenario | client | kind | verdict | where / why |');
console.log('|---|---|---|---|---|');
for (const r of rows) console.log(`| ${r.scenario} | ${r.client} | ${r.kind} | ${r.verdict} | ${(r.why ?? '').replaceAll('|', '\\|').slice(0, 200)} |`);
const count = (pred) => rows.filter(pred).length;
console.log(`\nfaithful: ${count((r) => r.kind === 'faithful' && r.verdict === 'REPRODUCED')}/${count((r) => r.kind === 'faithful')} REPRODUCED; correct: ${count((r) => r.kind === 'correct' && r.verdict === 'REPRODUCED')} false REPRODUCED of ${count((r) => r.kind === 'correct')}; defective twins: ${count((r) => r.kind === 'defective' && r.verdict === 'REPRODUCED')}/${count((r) => r.kind === 'defective')} REPRODUCED`);
if (jsonOut) writeFileSync(jsonOut, JSON.stringify(rows, null, 2));
process.exit(wrong.length > 0 ? 1 : 0);
