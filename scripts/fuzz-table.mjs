#!/usr/bin/env node
/**
 * `npm run fuzz:table`: runs `protosim fuzz` against every named defect of the reference servers,
 * the reference servers without a defect (also under --strict; and kv's defects under --strict), and
 * every server of corpus/ (correct, seed-faithful and defective twins), each within one time budget, and prints the table of docs/fuzz.md:
 * target × found / runs / time to first finding / shrunk size / replay of the saved case.
 *
 *   node scripts/fuzz-table.mjs [--budget S] [--seed N] [--only SUBSTRING|=ID,...] [--jobs N] [--json FILE] [--heldout]
 *
 * Corpus servers are copied to a temp folder and built there (Go with GOPROXY=off, as
 * scripts/corpus/run.mjs does); the temp folder is removed at the end. Exit 0 when every defective
 * target was found (and its saved case fails on replay) and every correct one gave no finding, else 1.
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { serverTarget } from './corpus/translate.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const protosim = join(root, 'bin', 'protosim.js');
const fuzzProtocols = { kv: 'kv', 'kv-store': 'kv', 'ping-liveness': 'ping-liveness', 'ping-liveness-quic': 'ping-liveness', 'register-exit': 'register-exit', 'offline-queue': 'offline-queue' };

function parseArgs(argv) {
  const o = { budget: 120, seed: 1, only: [], jobs: 1, json: undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => argv[++i];
    if (a === '--budget') o.budget = Number(next());
    else if (a === '--seed') o.seed = Number(next());
    else if (a === '--only') o.only.push(...next().split(','));
    else if (a === '--jobs') o.jobs = Math.max(1, Number(next()));
    else if (a === '--json') o.json = resolve(next());
    else if (a === '--heldout') o.heldout = true;
    else {
      process.stderr.write(`fuzz-table: unknown option ${a}\n`);
      process.exit(2);
    }
  }
  return o;
}

/** Reference-server targets: each named defect, and each protocol without one. */
function referenceTargets(work) {
  const list = spawnSync(process.execPath, [protosim, 'serve', '--list-defects'], { encoding: 'utf8' }).stdout;
  const targets = [];
  const protocols = new Set();
  for (const line of list.split('\n')) {
    const m = /^(\S+) - \[(\S+)\]/.exec(line);
    if (m === null || fuzzProtocols[m[2]] === undefined) continue;
    protocols.add(m[2]);
    targets.push({ id: `reference ${m[2]} --defect ${m[1]}`, protocol: m[2], expect: 'finding', defect: m[1] });
  }
  for (const p of protocols) targets.push({ id: `reference ${p}`, protocol: p, expect: 'none' });
  // --strict (protosim's own extensions generated and checked): every reference server without a
  // defect must give no finding; kv's defects, one of which (shared-stores) only --strict can reach
  for (const p of protocols) targets.push({ id: `reference ${p} --strict`, protocol: p, expect: 'none', strict: true });
  for (const t of targets.filter((x) => x.protocol === 'kv' && x.defect && !x.strict)) targets.push({ ...t, id: `reference kv --strict --defect ${t.defect}`, strict: true });
  // offline-queue's push confirmation is protosim's reading (a correct server may count a push
  // written to an open socket as delivered): losing one on a dead connection is a finding only
  // under --strict, and the table measures it there
  for (const t of targets) if (t.protocol === 'offline-queue' && t.defect === 'drop-on-dead-connection') {
    t.expect = 'none';
    targets.push({ ...t, id: `reference offline-queue --strict --defect ${t.defect}`, strict: true, expect: 'finding' });
    break;
  }
  // the kv `store` parameter is protosim's own extension: only --strict generates it, so without
  // --strict a server sharing one store between names must give no finding
  for (const t of targets) if (t.protocol === 'kv' && t.defect === 'shared-stores' && !t.strict) t.expect = 'none';
  for (const t of targets) {
    const command = ['{protosim}', 'serve', t.protocol, '--port', '{port}', ...(t.defect ? ['--defect', t.defect] : [])];
    if (t.protocol === 'ping-liveness') command.push('--heartbeat-timeout-ms', '800');
    t.targetFile = join(work, `${t.id.replace(/[^a-z0-9-]+/gi, '_')}.yaml`);
    writeFileSync(t.targetFile, YAML.stringify({ kind: 'target', version: 1, command, port: 'auto', ready: { stdout: 'listening on (\\S+)' } }));
    t.vars = t.protocol === 'ping-liveness' ? { heartbeatTimeoutMs: 800, lockoutBoundMs: 1400 } : {};
  }
  return targets;
}

/** Corpus servers of the fuzzed protocols, built in the work folder. */
function corpusTargets(work) {
  const targets = [];
  for (const protocol of readdirSync(join(root, 'corpus'))) {
    const dir = join(root, 'corpus', protocol);
    if (fuzzProtocols[protocol] === undefined || !existsSync(dir)) continue;
    for (const impl of readdirSync(dir).filter((d) => d.startsWith('server-'))) {
      const manifest = JSON.parse(readFileSync(join(dir, impl, 'impl.json'), 'utf8'));
      const id = `corpus ${protocol}/${impl} (${manifest.kind})`;
      targets.push({ id, protocol: fuzzProtocols[protocol], expect: manifest.kind === 'correct' || (manifest.defects ?? []).length === 0 ? 'none' : 'finding', corpus: { dir: join(dir, impl), manifest, impl } });
    }
  }
  return targets;
}

function prepareCorpus(t, work) {
  const src = join(work, `${t.protocol}--${t.corpus.impl}`);
  cpSync(t.corpus.dir, src, { recursive: true });
  const m = t.corpus.manifest;
  if (m.build) {
    const env = { ...process.env, GOCACHE: join(work, 'gocache'), GOPATH: join(work, 'gopath'), GOPROXY: 'off', GOTOOLCHAIN: 'local', GOTELEMETRY: 'off' };
    const b = spawnSync(m.build[0], m.build.slice(1), { cwd: src, env, encoding: 'utf8', timeout: 240_000 });
    if (b.status !== 0) return `build failed: ${(b.stderr || b.stdout || '').trim().split('\n').slice(-2).join(' / ')}`;
  }
  const tr = serverTarget(m, src);
  if (tr.notRunnable) return `not runnable: ${tr.notRunnable}`;
  t.targetFile = join(work, `${t.protocol}--${t.corpus.impl}.yaml`);
  writeFileSync(t.targetFile, YAML.stringify({ kind: 'target', version: 1, ...tr.target }));
  t.vars = tr.vars;
  return undefined;
}

/**
 * The held-out batch's servers (corpus-heldout/, written apart from protosim and from corpus/), run
 * with the target files of corpus-heldout/runs/ (written from each README alone): a defective one
 * must give a finding, a correct one none. Only with `--heldout`.
 */
function heldoutTargets() {
  const base = join(root, 'corpus-heldout');
  const targets = [];
  for (const protocol of readdirSync(base)) {
    if (fuzzProtocols[protocol] === undefined) continue;
    for (const impl of readdirSync(join(base, protocol)).filter((d) => d.startsWith('server-'))) {
      const dir = join(base, protocol, impl);
      const manifest = JSON.parse(readFileSync(join(dir, 'impl.json'), 'utf8'));
      const vars = fuzzProtocols[protocol] === 'ping-liveness' ? { heartbeatTimeoutMs: 800, lockoutBoundMs: 2400 } : {};
      targets.push({ id: `heldout ${protocol}/${impl} (${manifest.kind})`, protocol: fuzzProtocols[protocol], expect: manifest.kind === 'correct' ? 'none' : 'finding', heldout: { dir }, targetFile: join(base, 'runs', `${protocol}--${impl}.yaml`), vars });
    }
  }
  return targets;
}

/** A held-out server's build (its build.sh, in place), or why it cannot run. */
function prepareHeldout(t) {
  if (!existsSync(join(t.heldout.dir, 'build.sh'))) return undefined;
  const b = spawnSync('bash', ['build.sh'], { cwd: t.heldout.dir, encoding: 'utf8', timeout: 240_000 });
  return b.status === 0 ? undefined : `build failed: ${(b.stderr || b.stdout || '').trim().split('\n').slice(-1)[0]}`;
}

/** Runs a command in its own process group; kills the group at the timeout. */
function run(argv, timeoutMs) {
  return new Promise((resolvePromise) => {
    const child = spawn(argv[0], argv.slice(1), { cwd: root, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(child);
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {}
    }, timeoutMs);
    child.on('close', (code) => {
      running.delete(child);
      clearTimeout(timer);
      resolvePromise({ code, out, err });
    });
  });
}

async function fuzzOne(t, o, work) {
  const saved = join(work, `${t.id.replace(/[^a-z0-9-]+/gi, '_')}-case.yaml`);
  const argv = [process.execPath, protosim, 'fuzz', t.protocol, '--target', t.targetFile, '--seed', String(o.seed), '--time-budget', String(o.budget), '--format', 'json', '--no-progress', '--save-case', saved];
  for (const [k, v] of Object.entries(t.vars ?? {})) argv.push('--var', `${k}=${v}`);
  if (t.strict) argv.push('--strict');
  const r = await run(argv, (o.budget + 90) * 1000);
  let json;
  try {
    json = JSON.parse(r.out);
  } catch {
    return { status: `error (exit ${r.code}): ${r.err.trim().split('\n').slice(-1)[0] ?? ''}` };
  }
  const f = json.finding;
  const row = { status: f ? 'found' : json.unreachable ? `unreachable: ${json.unreachable}` : 'none', runs: json.runs, flaky: json.flaky, inconclusive: json.inconclusive, ms: json.durationMs };
  if (f) {
    Object.assign(row, { firstMs: f.firstAtMs, size: f.size, reason: f.result.reason.split('\n')[0], case: f.suiteText });
    const replay = await run([process.execPath, protosim, 'run', saved, '--target', t.targetFile, '--no-progress', ...Object.entries(t.vars ?? {}).flatMap(([k, v]) => ['--var', `${k}=${v}`])], 120_000);
    row.replay = replay.code === 1 ? 'fails' : `exit ${replay.code}`;
  }
  return row;
}

const sizeText = (s) => (s ? `${s.users}u/${s.steps}s/${s.faults}f/${s.dataChars}c` : '');

/** The fuzz runs in progress (each in its own process group). */
const running = new Set();

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const work = mkdtempSync(join(tmpdir(), 'protosim-fuzz-table-'));
  // stopped (Ctrl-C, SIGTERM): the runs in progress and the work folder go with it
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.on(signal, () => {
      for (const child of running) {
        try {
          process.kill(-child.pid, 'SIGTERM'); // protosim stops its targets on SIGTERM
        } catch {}
      }
      rmSync(work, { recursive: true, force: true });
      process.exit(signal === 'SIGINT' ? 130 : 143);
    });
  }
  const rows = [];
  try {
    let targets = [...referenceTargets(work), ...corpusTargets(work), ...(o.heldout ? heldoutTargets() : [])];
    if (o.only.length) targets = targets.filter((t) => o.only.some((s) => (s.startsWith('=') ? t.id === s.slice(1) : t.id.includes(s))));
    process.stderr.write(`fuzz-table: seed=${o.seed} budget=${o.budget}s targets=${targets.length} jobs=${o.jobs}\n`);
    const queue = [...targets];
    const worker = async () => {
      for (let t = queue.shift(); t !== undefined; t = queue.shift()) {
        const problem = t.corpus ? prepareCorpus(t, work) : t.heldout ? prepareHeldout(t) : undefined;
        const row = problem ? { status: problem } : await fuzzOne(t, o, work);
        const ok = t.expect === 'finding' ? row.status === 'found' && row.replay === 'fails' : row.status === 'none';
        rows.push({ id: t.id, expect: t.expect, ok, ...row });
        process.stderr.write(`${ok ? 'ok  ' : 'BAD '} ${t.id}: ${row.status}${row.firstMs !== undefined ? ` at ${(row.firstMs / 1000).toFixed(1)} s, ${sizeText(row.size)}, replay ${row.replay}` : ''}\n`);
      }
    };
    await Promise.all(Array.from({ length: o.jobs }, worker));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  rows.sort((a, b) => a.id.localeCompare(b.id));
  const lines = ['| target | expected | result | runs | first finding | shrunk (users/steps/faults/chars) | saved case on replay | ok |', '|---|---|---|---|---|---|---|---|'];
  for (const r of rows) lines.push(`| ${r.id} | ${r.expect} | ${r.status} | ${r.runs ?? ''} | ${r.firstMs !== undefined ? `${(r.firstMs / 1000).toFixed(1)} s` : ''} | ${sizeText(r.size)} | ${r.replay ?? ''} | ${r.ok ? 'yes' : '**no**'} |`);
  process.stdout.write(`${lines.join('\n')}\n`);
  if (o.json) writeFileSync(o.json, JSON.stringify(rows, null, 2));
  process.exitCode = rows.every((r) => r.ok) ? 0 : 1;
}

await main();
