#!/usr/bin/env node
/**
 * `npm run fuzz:clients`: runs `protosim fuzz <protocol> --adapter` on every client program of
 * corpus/ (the chat protocols register-exit, offline-queue, ping-liveness, with protosim's reference
 * server; the key-value protocols lock-alternation, status-handshake, with protosim as the IM server:
 * correct, seed-faithful and defective twins), each within one time budget, replays each saved case with `protosim run`
 * (it must fail), and prints the table of docs/fuzz.md ("Client programs"): client × expected /
 * result / runs / time to first finding / shrunk size / replay of the saved case.
 *
 *   node scripts/fuzz-clients-table.mjs [--budget S] [--seed N] [--only SUBSTRING,...] [--jobs N] [--json FILE] [--heldout]
 *
 * `--heldout`: the held-out batch's client programs instead (corpus-heldout/, written apart from
 * protosim and from corpus/), built in place by their build.sh and run with the adapters of
 * corpus-heldout/runs/ (written from each README alone), the codec or framing their client suite
 * in runs/ gives the server. Its rows read `heldout <protocol>/<client>`.
 *
 * Each client is copied to a temp folder and built there (Go with GOPROXY=off, as
 * scripts/corpus/run.mjs does), its manifest turned into an adapter (scripts/corpus/translate.mjs),
 * and the codec or framing it speaks passed on (`--codec gob`, `--framing raw`). Each protosim runs
 * in a process group of its own, killed at a hard timeout; afterwards any process still running
 * from the work folder is reported (a leftover) and killed. The temp folder is removed at the end.
 *
 * A correct client (or a seed-faithful one whose manifest lists no flaw) is expected to give no
 * finding; a defective one, or a faithful one with flaws, a finding whose saved case fails on
 * replay. Exit 0 when every row is as expected and nothing was left running, else 1.
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { clientAdapter } from './corpus/translate.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const protosim = join(root, 'bin', 'protosim.js');
/** The protocols `protosim fuzz --adapter` generates client cases for (src/conformance/fuzz/clients/protocols/). */
const clientProtocols = new Set(['register-exit', 'offline-queue', 'ping-liveness', 'lock-alternation', 'status-handshake']);

function parseArgs(argv) {
  const o = { budget: 120, seed: 1, only: [], jobs: 1, json: undefined, heldout: false };
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
      process.stderr.write(`fuzz-clients-table: unknown option ${a}\n`);
      process.exit(2);
    }
  }
  return o;
}

/** The corpus's client programs of the fuzzed protocols. */
function corpusClients() {
  const out = [];
  for (const protocol of readdirSync(join(root, 'corpus')).sort()) {
    if (!clientProtocols.has(protocol)) continue;
    const dir = join(root, 'corpus', protocol);
    for (const impl of readdirSync(dir).filter((d) => d.startsWith('client-')).sort()) {
      const manifest = JSON.parse(readFileSync(join(dir, impl, 'impl.json'), 'utf8'));
      const flaws = (manifest.defects ?? []).map((d) => d.id);
      const expect = manifest.kind === 'correct' || (manifest.kind === 'faithful' && flaws.length === 0) ? 'none' : 'finding';
      const twinFile = manifest.twinOf ? join(dir, manifest.twinOf, 'impl.json') : undefined;
      const twin = twinFile && existsSync(twinFile) ? JSON.parse(readFileSync(twinFile, 'utf8')) : undefined;
      out.push({ id: `${protocol}/${impl}`, protocol, impl, kind: manifest.kind, flaws, expect, dir: join(dir, impl), manifest, twin });
    }
  }
  return out;
}

/**
 * The held-out batch's client programs: each with its adapter from corpus-heldout/runs/ and the
 * server options (`--codec gob`, `--framing raw`) of the client suite there that names the adapter.
 */
function heldoutClients() {
  const base = join(root, 'corpus-heldout');
  const runs = join(base, 'runs');
  const serverArgsOf = (adapterName) => {
    for (const f of readdirSync(runs).filter((n) => /--clients-/.test(n))) {
      const suite = YAML.parse(readFileSync(join(runs, f), 'utf8'));
      if (suite.adapter !== adapterName) continue;
      const cmd = suite.server?.command ?? [];
      return cmd.flatMap((a, i) => (['--codec', '--framing'].includes(a) ? [a, cmd[i + 1]] : []));
    }
    return [];
  };
  const out = [];
  for (const protocol of readdirSync(base).sort()) {
    if (!clientProtocols.has(protocol)) continue;
    for (const impl of readdirSync(join(base, protocol)).filter((d) => d.startsWith('client-')).sort()) {
      const dir = join(base, protocol, impl);
      const manifest = JSON.parse(readFileSync(join(dir, 'impl.json'), 'utf8'));
      const adapterName = `${protocol}--${impl}.yaml`;
      out.push({ id: `heldout ${protocol}/${impl}`, protocol, impl, kind: manifest.kind, flaws: [], expect: manifest.kind === 'correct' ? 'none' : 'finding', dir, heldout: { adapter: join(runs, adapterName), serverArgs: serverArgsOf(adapterName) } });
    }
  }
  return out;
}

/** Builds a held-out client in place (its build.sh); its adapter and server options, or why it cannot run. */
function prepareHeldout(c, work) {
  if (existsSync(join(c.dir, 'build.sh'))) {
    const b = spawnSync('bash', ['build.sh'], { cwd: c.dir, encoding: 'utf8', timeout: 240_000 });
    if (b.status !== 0) return { problem: `build failed: ${(b.stderr || b.stdout || '').trim().split('\n').slice(-2).join(' / ')}` };
  }
  // the saved case goes to the work folder, not into the held-out batch
  const saveDir = join(work, c.id.replace(/[ /]/g, '--'));
  mkdirSync(saveDir, { recursive: true });
  return { adapter: c.heldout.adapter, serverArgs: c.heldout.serverArgs, src: c.dir, saveDir, notes: [] };
}

/** Copies and builds a client, writes its adapter; the fuzz options it needs, or why it cannot run. */
function prepare(c, work) {
  if (c.heldout) return prepareHeldout(c, work);
  const src = join(work, c.id.replace('/', '--'));
  cpSync(c.dir, src, { recursive: true });
  const m = c.manifest;
  if (m.build) {
    const gocache = join(work, 'gocache');
    const argv = m.build.map((a) => (a.startsWith('GOCACHE=') ? `GOCACHE=${gocache}` : a));
    const env = { ...process.env, GOCACHE: gocache, GOPROXY: 'off', GOTOOLCHAIN: 'local', GOTELEMETRY: 'off' };
    if (!argv.some((a) => a.startsWith('GOPATH='))) env.GOPATH = join(work, 'gopath');
    const b = spawnSync(argv[0], argv.slice(1), { cwd: src, env, encoding: 'utf8', timeout: 240_000 });
    if (b.status !== 0) return { problem: `build failed: ${(b.stderr || b.stdout || '').trim().split('\n').slice(-2).join(' / ')}` };
  }
  const a = clientAdapter(m, src, c.impl, c.twin);
  if (a.notRunnable) return { problem: `not runnable: ${a.notRunnable}` };
  const notes = [];
  const adapter = join(src, 'adapter.yaml');
  writeFileSync(adapter, YAML.stringify({ kind: 'adapter', version: 1, ...a.adapter }));
  return { adapter, serverArgs: a.serverArgs, src, notes };
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
      resolvePromise({ code, out, err, pgid: child.pid });
    });
  });
}

/** Pids of live processes whose cwd or command line is inside `dir`, or in process group `pgid`. */
function processesOf(dir, pgid) {
  const found = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] === 'Z') continue;
      let cwd = '';
      try {
        cwd = readlinkSync(`/proc/${name}/cwd`);
      } catch {}
      const cmd = readFileSync(`/proc/${name}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
      if (cwd === dir || cwd.startsWith(`${dir}/`) || cmd.includes(dir) || (pgid !== undefined && Number(fields[2]) === pgid)) found.push({ pid: Number(name), cmd });
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Kills (by pid) what a run left behind; returns what it found. */
async function leftovers(dir, pgid) {
  await sleep(1000);
  const left = processesOf(dir, pgid);
  for (const p of left) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {}
  }
  return left;
}

async function fuzzOne(c, o, prepared) {
  const saved = join(prepared.saveDir ?? prepared.src, 'fuzz-case.yaml');
  const codec = [];
  for (let i = 0; i + 1 < prepared.serverArgs.length; i += 2) codec.push(prepared.serverArgs[i], prepared.serverArgs[i + 1]);
  const argv = [process.execPath, protosim, 'fuzz', c.protocol, '--adapter', prepared.adapter, ...codec, '--seed', String(o.seed), '--time-budget', String(o.budget), '--format', 'json', '--no-progress', '--save-case', saved];
  const r = await run(argv, (o.budget + 150) * 1000);
  const row = { command: `protosim fuzz ${c.protocol} --adapter ADAPTER ${codec.join(' ')} --seed ${o.seed} --time-budget ${o.budget}`.replace(/\s+/g, ' ') };
  row.leftovers = await leftovers(prepared.src, r.pgid);
  let json;
  try {
    json = JSON.parse(r.out);
  } catch {
    return { ...row, status: `error (exit ${r.code}): ${r.err.trim().split('\n').slice(-1)[0] ?? ''}` };
  }
  const f = json.finding;
  Object.assign(row, { status: f ? 'found' : json.unreachable ? `unreachable: ${json.unreachable}` : 'none', runs: json.runs, flaky: json.flaky, inconclusive: json.inconclusive, ms: json.durationMs });
  if (f) {
    Object.assign(row, { firstMs: f.firstAtMs, size: f.size, reason: f.result.reason.split('\n')[0].slice(0, 240) });
    const replay = await run([process.execPath, protosim, 'run', saved, '--no-progress'], 180_000);
    row.leftovers.push(...(await leftovers(prepared.src, replay.pgid)));
    row.replay = replay.code === 1 ? 'fails' : `exit ${replay.code}`;
  }
  return row;
}

const sizeText = (s) => (s ? `${s.users}u/${s.steps}s/${s.faults}f/${s.dataChars}c` : '');

/** The fuzz runs in progress (each in its own process group). */
const running = new Set();

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const work = mkdtempSync(join(tmpdir(), 'protosim-fuzz-clients-'));
  // stopped (Ctrl-C, SIGTERM): the runs in progress and the work folder go with it
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.on(signal, () => {
      for (const child of running) {
        try {
          process.kill(-child.pid, 'SIGTERM'); // protosim stops its programs and server on SIGTERM
        } catch {}
      }
      rmSync(work, { recursive: true, force: true });
      process.exit(signal === 'SIGINT' ? 130 : 143);
    });
  }
  const rows = [];
  const started = Date.now();
  try {
    let clients = o.heldout ? heldoutClients() : corpusClients();
    if (o.only.length) clients = clients.filter((c) => o.only.some((s) => c.id.includes(s)));
    process.stderr.write(`fuzz-clients-table: seed=${o.seed} budget=${o.budget}s clients=${clients.length} jobs=${o.jobs}\n`);
    const queue = [...clients];
    const worker = async () => {
      for (let c = queue.shift(); c !== undefined; c = queue.shift()) {
        const prepared = prepare(c, work);
        const row = prepared.problem ? { status: prepared.problem, leftovers: [] } : await fuzzOne(c, o, prepared);
        const ok = (c.expect === 'finding' ? row.status === 'found' && row.replay === 'fails' : row.status === 'none') && row.leftovers.length === 0;
        rows.push({ id: c.id, kind: c.kind, flaws: c.flaws, expect: c.expect, ok, notes: prepared.notes ?? [], ...row });
        process.stderr.write(`${ok ? 'ok  ' : 'BAD '} ${c.id}: ${row.status}${row.firstMs !== undefined ? ` at ${(row.firstMs / 1000).toFixed(1)} s, ${sizeText(row.size)}, replay ${row.replay}: ${row.reason}` : ''}${row.leftovers.length ? ` LEFTOVERS ${row.leftovers.map((p) => p.cmd).join('; ')}` : ''}\n`);
      }
    };
    await Promise.all(Array.from({ length: o.jobs }, worker));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  rows.sort((a, b) => a.id.localeCompare(b.id));
  const lines = ['| client | kind (flaws) | expected | result | runs | first finding | shrunk (users/actions/faults/chars) | saved case on replay | ok |', '|---|---|---|---|---|---|---|---|---|'];
  for (const r of rows) {
    const kind = `${r.kind}${r.flaws.length ? ` (${r.flaws.join(', ')})` : ''}`;
    lines.push(`| ${r.id} | ${kind} | ${r.expect} | ${r.status}${r.leftovers.length ? ', LEFTOVER processes' : ''} | ${r.runs ?? ''} | ${r.firstMs !== undefined ? `${(r.firstMs / 1000).toFixed(1)} s` : ''} | ${sizeText(r.size)} | ${r.replay ?? ''} | ${r.ok ? 'yes' : '**no**'} |`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  process.stdout.write(`\n(${rows.length} clients, ${Math.round((Date.now() - started) / 1000)} s wall clock, seed ${o.seed}, budget ${o.budget} s, ${o.jobs} at a time)\n`);
  for (const r of rows.filter((x) => x.reason || x.notes.length)) process.stdout.write(`- ${r.id}: ${[r.reason, ...r.notes].filter(Boolean).join('; ')}\n`);
  if (o.json) writeFileSync(o.json, JSON.stringify(rows, null, 2));
  process.exitCode = rows.every((r) => r.ok) ? 0 : 1;
}

await main();
