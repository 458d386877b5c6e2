#!/usr/bin/env node
/**
 * Runs protosim's suites once on the held-out batch (corpus-heldout/, issue 14 item 6) and prints the
 * table (implementation × suite -> PASS / FAIL / ERROR / SKIP). Each implementation is run as a
 * user would run it: a target file or an adapter in runs/, written from its README alone.
 *
 *   node corpus-heldout/run.mjs [--json FILE]      (from the repository root; builds the Go programs)
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..');
const protosim = join(root, 'bin', 'protosim.js');

/** implementation -> how it is run: a target file with a server suite, or an adapter with a client suite */
const runs = [
  ['kv-store/server-go-correct', 'target', 'scenarios/conformance/kv/suite.yaml'],
  ['kv-store/server-python-defective', 'target', 'scenarios/conformance/kv/suite.yaml'],
  ['lock-alternation/client-python-correct', 'adapter', 'scenarios/conformance/lock-alternation/clients.yaml'],
  ['lock-alternation/client-php-defective', 'adapter', 'scenarios/conformance/lock-alternation/clients.yaml'],
  ['status-handshake/client-php-correct', 'adapter', 'scenarios/conformance/status-handshake/clients.yaml'],
  ['status-handshake/client-go-defective', 'adapter', 'scenarios/conformance/status-handshake/clients.yaml'],
  ['ping-liveness/server-go-correct', 'target', 'scenarios/conformance/ping-liveness/suite.yaml', ['--var', 'heartbeatTimeoutMs=800', '--var', 'lockoutBoundMs=2400']],
  ['ping-liveness/server-python-defective', 'target', 'scenarios/conformance/ping-liveness/suite.yaml', ['--var', 'heartbeatTimeoutMs=800', '--var', 'lockoutBoundMs=2400']],
  ['ping-liveness/client-go-correct', 'adapter', 'scenarios/conformance/ping-liveness/clients.yaml'],
  ['ping-liveness/client-php-defective', 'adapter', 'scenarios/conformance/ping-liveness/clients.yaml'],
  ['register-exit/server-go-correct', 'target', 'scenarios/conformance/register-exit/suite.yaml'],
  ['register-exit/server-python-defective', 'target', 'scenarios/conformance/register-exit/suite.yaml'],
  ['register-exit/client-go-correct', 'adapter', 'corpus-heldout/runs/register-exit--clients-gob.yaml'],
  ['register-exit/client-php-defective', 'adapter', 'scenarios/conformance/register-exit/clients.yaml'],
  ['offline-queue/server-python-correct', 'target', 'scenarios/conformance/offline-queue/suite.yaml'],
  ['offline-queue/server-php-defective', 'target', 'scenarios/conformance/offline-queue/suite.yaml'],
  ['offline-queue/client-go-correct', 'adapter', 'scenarios/conformance/offline-queue/clients.yaml'],
  ['offline-queue/client-php-defective', 'adapter', 'corpus-heldout/runs/offline-queue--clients-raw.yaml'],
];

const jsonOut = process.argv.includes('--json') ? resolve(process.argv[process.argv.indexOf('--json') + 1]) : null;
const work = mkdtempSync(join(tmpdir(), 'protosim-heldout-'));
const rows = [];
try {
  for (const [impl, how, suite, extra = []] of runs) {
    const dir = join(here, impl);
    const manifest = JSON.parse(readFileSync(join(dir, 'impl.json'), 'utf8'));
    if (existsSync(join(dir, 'build.sh'))) {
      const b = spawnSync('bash', ['build.sh'], { cwd: dir, encoding: 'utf8' });
      if (b.status !== 0) {
        rows.push({ impl, kind: manifest.kind, suite, status: `build failed: ${b.stderr.trim().split('\n').pop()}`, cases: [] });
        continue;
      }
    }
    const file = join(here, 'runs', `${impl.replace('/', '--')}.yaml`);
    const report = join(work, `${impl.replace('/', '--')}.json`);
    const args = [protosim, 'run', suite, how === 'target' ? '--target' : '--adapter', file, '--report', `json=${report}`, '--no-color', ...extra];
    const started = Date.now();
    const r = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', timeout: 600_000 });
    const seconds = Math.round((Date.now() - started) / 1000);
    let cases = [];
    let status = `exit ${r.status ?? r.signal}`;
    if (existsSync(report)) {
      const data = JSON.parse(readFileSync(report, 'utf8'));
      cases = (data.cases ?? data.results ?? []).map((c) => ({ id: c.id, level: c.level, verdict: c.verdict, reason: c.reason ?? '' }));
    } else status += `, no report: ${(r.stderr || r.stdout).trim().split('\n').slice(-2).join(' ')}`;
    rows.push({ impl, kind: manifest.kind, suite, status, seconds, cases });
    process.stderr.write(`${impl}: ${status} (${seconds} s)\n`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
const count = (row, v) => row.cases.filter((c) => c.verdict === v).length;
const lines = ['| implementation | kind | suite | PASS | FAIL | ERROR | SKIP | protosim exit |', '|---|---|---|---:|---:|---:|---:|---|'];
for (const row of rows) lines.push(`| ${row.impl} | ${row.kind} | ${row.suite.replace(/^scenarios\/conformance\//, '')} | ${count(row, 'PASS')} | ${count(row, 'FAIL')} | ${count(row, 'ERROR')} | ${count(row, 'SKIP')} | ${row.status} |`);
lines.push('');
for (const row of rows) {
  const bad = row.cases.filter((c) => c.verdict !== 'PASS');
  if (bad.length === 0) continue;
  lines.push(`- **${row.impl}** (${row.kind})`);
  for (const c of bad) lines.push(`  - ${c.verdict} \`${c.id}\`${c.level === 'recommended' ? ' (recommended)' : ''}: ${c.reason.replace(/\s+/g, ' ').slice(0, 300)}`);
}
process.stdout.write(lines.join('\n') + '\n');
if (jsonOut) writeFileSync(jsonOut, JSON.stringify(rows, null, 2));
