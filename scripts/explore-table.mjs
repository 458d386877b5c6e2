#!/usr/bin/env node
/**
 * The explore table (issue 16): `protosim explore <protocol> --adapter` with PCT (seed 1, depth 2,
 * up to 100 schedules) on every client program of the key-value protocols that protosim did not
 * write (the corpus and the held-out batch). A seed-faithful client must show the start race within
 * the 100 schedules; a correct one nothing within the same bound.
 *
 *   npm run explore:table [-- --json FILE] [--only lock-alternation|status-handshake] [--schedules N] [--kinds faithful,correct] [--client ID] [--observe-ms 1500]
 *
 * Prints a Markdown table (client -> schedules to the first failure, or nothing found, with PCT's
 * bound) and exits 1 when a seed-faithful client shows nothing or a correct one fails.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { clients } from './corpus/clients.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const protosim = join(root, 'bin', 'protosim.js');
const args = process.argv.slice(2);
const opt = (name) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const only = opt('--only');
const schedules = opt('--schedules') ?? '100';
const observeMs = opt('--observe-ms') ?? '1500';
/** which kinds of implementation to run (faithful,correct,defective) */
const kinds = (opt('--kinds') ?? 'faithful,correct,defective').split(',');
/** only the clients whose id contains this */
const clientFilter = opt('--client');
const work = mkdtempSync(join(tmpdir(), 'protosim-explore-table-'));
process.on('SIGINT', () => {
  rmSync(work, { recursive: true, force: true });
  process.exit(130);
});

const rows = [];
try {
  for (const protocol of ['lock-alternation', 'status-handshake'].filter((p) => only === undefined || p === only)) {
    for (const client of clients(root, work, protocol)) {
      if (!kinds.includes(client.kind) || (clientFilter !== undefined && !client.id.includes(clientFilter))) continue;
      if (client.broken) {
        rows.push({ protocol, client: client.id, kind: client.kind, result: `SKIP: ${client.broken}` });
        continue;
      }
      const started = Date.now();
      const r = spawnSync(process.execPath, [protosim, 'explore', protocol, '--adapter', client.adapter, '--seed', '1', '--schedules', schedules, '--observe-ms', observeMs, '--format', 'json', '--no-progress'], { cwd: root, encoding: 'utf8', timeout: 1_800_000 });
      const seconds = Math.round((Date.now() - started) / 1000);
      let report;
      try {
        report = JSON.parse(r.stdout);
      } catch {
        rows.push({ protocol, client: client.id, kind: client.kind, result: `ERROR: exit ${r.status}: ${(r.stderr || r.stdout).trim().split('\n').slice(-2).join(' / ')}`, seconds });
        continue;
      }
      const found = report.first !== null;
      const bound = report.bound ? `per schedule ≥ ${(report.bound.perSchedule * 100).toFixed(1)} %, missed in all ${report.tried}: ≤ ${(report.bound.missAfter * 100).toFixed(2)} %` : '';
      rows.push({ protocol, client: client.id, kind: client.kind, found, tried: report.tried, result: found ? `FAILED at schedule ${report.first.index + 1}: ${report.first.failure}` : `nothing in ${report.tried} schedules`, bound, seconds, replay: report.replay });
      process.stderr.write(`${protocol} ${client.id} (${client.kind}): ${rows.at(-1).result} [${seconds} s]\n`);
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
console.log('| protocol | client | kind | result | PCT bound (depth 2, 8 steps) |');
console.log('|---|---|---|---|---|');
for (const r of rows) console.log(`| ${r.protocol} | ${r.client} | ${r.kind} | ${r.result.replaceAll('|', '\\|').slice(0, 160)} | ${r.bound ?? ''} |`);
if (opt('--json')) writeFileSync(opt('--json'), JSON.stringify(rows, null, 2));
const wrong = rows.filter((r) => (r.kind === 'faithful' && r.found !== true) || (r.kind === 'correct' && r.found === true));
process.exit(wrong.length > 0 ? 1 : 0);
