#!/usr/bin/env node
/**
 * `npm run corpus`: runs protosim's suites on every implementation of corpus/ (programs written
 * independently of protosim) and judges protosim by the result.
 *
 * For each corpus/<protocol>/<impl>/impl.json: copy the folder to a temp work folder (the corpus
 * itself is never written to), build it there (Go with GOCACHE/GOPATH in the work folder, no module
 * download), turn the manifest into a target file (servers) or an adapter plus a copy of the client
 * suite (clients) — scripts/corpus/translate.mjs — and run `protosim run SUITE --report json=...`
 * in a process group of its own, under a hard timeout. Afterwards every process whose working
 * directory or command line is in the work folder, or that is still in the run's process group, is
 * a leftover: it is reported and killed (by pid). The work folder is removed.
 *
 * Then each verdict is classified against the manifest: a correct implementation must have no FAIL
 * (each one is a FALSE FAIL of protosim); a faithful one must fail exactly the cases of its
 * documented flaws (scripts/corpus/expectations.mjs); a defective twin must fail a case its correct
 * twin passes (a MISS otherwise). Manifests protosim cannot be told about are NOT-RUNNABLE, with why.
 *
 *   node scripts/corpus/run.mjs [--only kv-store/server-py-b,kv-store/server-go-defective]
 *     [--jobs 2] [--timeout-ms 420000] [--out docs/corpus-results.md | --no-write] [--json FILE]
 *     [--work DIR] [--keep] [--from-json FILE] [--bounds]
 * Exit 0 when the run completed and protosim was judged right everywhere (no false FAIL, no miss,
 * no leftover), 1 otherwise, 2 for bad options.
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { causeOf, missCauses } from './causes.mjs';
import { flawCases } from './expectations.mjs';
import { clientAdapter, serverTarget } from './translate.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const protosim = join(root, 'bin', 'protosim.js');

// ---------------------------------------------------------------------------------------- options
function parseArgs(argv) {
  const opts = { only: [], jobs: 2, timeoutMs: 420_000, out: join(root, 'docs', 'corpus-results.md'), json: undefined, work: undefined, keep: false, quiet: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      const v = argv[++i];
      if (v === undefined) usage(`${a} needs a value`);
      return v;
    };
    if (a === '--only') opts.only.push(...next().split(',').filter(Boolean));
    else if (a === '--jobs') opts.jobs = Math.max(1, Number(next()));
    else if (a === '--timeout-ms') opts.timeoutMs = Number(next());
    else if (a === '--out') opts.out = resolve(next());
    else if (a === '--no-write') opts.out = undefined;
    else if (a === '--json') opts.json = resolve(next());
    else if (a === '--work') opts.work = resolve(next());
    else if (a === '--keep') opts.keep = true;
    else if (a === '--bounds') opts.bounds = true;
    else if (a === '--quiet') opts.quiet = true;
    else if (a === '--from-json') opts.fromJson = resolve(next());
    else usage(`unknown option ${a}`);
  }
  return opts;
}
function usage(msg) {
  process.stderr.write(`corpus: ${msg}\nusage: node scripts/corpus/run.mjs [--only P/IMPL,...] [--jobs N] [--timeout-ms N] [--out FILE | --no-write] [--json FILE] [--work DIR] [--keep] [--quiet]\n`);
  process.exit(2);
}

// ------------------------------------------------------------------------------------ the corpus
function implementations() {
  const out = [];
  const corpus = join(root, 'corpus');
  for (const protocol of readdirSync(corpus).sort()) {
    const pdir = join(corpus, protocol);
    if (!existsSync(pdir) || !statDir(pdir)) continue;
    for (const impl of readdirSync(pdir).sort()) {
      const file = join(pdir, impl, 'impl.json');
      if (!existsSync(file)) continue;
      out.push({ id: `${protocol}/${impl}`, protocol, impl, dir: join(pdir, impl), manifest: JSON.parse(readFileSync(file, 'utf8')) });
    }
  }
  return out;
}
function statDir(p) {
  try {
    return readdirSync(p) !== undefined;
  } catch {
    return false;
  }
}

function have(tool) {
  return spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status === 0;
}

/** The toolchains an implementation needs, missing ones named. */
function missingToolchain(m) {
  const need = [];
  const argv = [...(m.build ?? []), ...m.command];
  if (argv.includes('go')) need.push('go');
  if (m.language === 'php') need.push('php');
  if (m.language === 'python' || argv.some((a) => a.includes('python3'))) need.push('/usr/bin/python3');
  return need.filter((t) => (t.startsWith('/') ? !existsSync(t) : !have(t)));
}

// ------------------------------------------------------------------------------------- processes
/** Pids of processes whose cwd or command line is inside `dir`, or whose process group is `pgid`. */
function processesOf(dir, pgid) {
  const found = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (pid === process.pid) continue;
    try {
      let hit = false;
      try {
        const cwd = readlinkSync(`/proc/${pid}/cwd`);
        if (cwd === dir || cwd.startsWith(`${dir}/`)) hit = true;
      } catch {}
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
      if (cmd.includes(dir)) hit = true;
      if (!hit && pgid !== undefined) {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        if (Number(fields[2]) === pgid) hit = true;
      }
      if (!hit) continue;
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
      if (state === 'Z') continue; // a zombie is already dead (reaped by its parent soon)
      found.push({ pid, cmd: cmd || `[${readFileSync(`/proc/${pid}/comm`, 'utf8').trim()}]` });
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Runs argv in its own process group; kills the group at the deadline. */
function runGroup(argv, { cwd, env, timeoutMs, stdoutFile }) {
  return new Promise((resolvePromise) => {
    const started = Date.now();
    const child = spawn(argv[0], argv.slice(1), { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (out.length > 4_000_000) out = out.slice(-2_000_000);
    });
    child.stderr.on('data', (d) => {
      err += d;
      if (err.length > 1_000_000) err = err.slice(-500_000);
    });
    let timedOut = false;
    const timer = setTimeout(async () => {
      timedOut = true;
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {}
      await sleep(3000);
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {}
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      resolvePromise({ code: null, signal: null, out, err: `${err}${e.message}`, timedOut, ms: Date.now() - started, pgid: child.pid });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (stdoutFile) writeFileSync(stdoutFile, out);
      resolvePromise({ code, signal, out, err, timedOut, ms: Date.now() - started, pgid: child.pid });
    });
  });
}

// ------------------------------------------------------------------------------------ one program
async function runOne(item, workRoot, opts) {
  const { manifest: m } = item;
  const result = { id: item.id, protocol: item.protocol, impl: item.impl, role: m.role, kind: m.kind, language: m.language, twinOf: m.twinOf, defects: (m.defects ?? []).map((d) => d.id), suite: undefined, status: 'ran', reason: undefined, cases: [], leftovers: [], notes: [], ms: 0 };
  const started = Date.now();
  const missing = missingToolchain(m);
  if (missing.length) {
    result.status = 'skipped';
    result.reason = `toolchain missing: ${missing.join(', ')}`;
    return result;
  }
  const work = join(workRoot, `${item.protocol}--${item.impl}`);
  const src = join(work, 'src');
  mkdirSync(work, { recursive: true });
  cpSync(item.dir, src, { recursive: true });
  try {
    // Build.
    if (m.build) {
      const gocache = join(work, 'gocache');
      const gopath = join(work, 'gopath');
      const argv = m.build.map((a) => (a.startsWith('GOCACHE=') ? `GOCACHE=${gocache}` : a));
      // No module download (GOPROXY=off): the corpus builds from the standard library and Debian's packages.
      const env = { ...process.env, GOCACHE: gocache, GOPROXY: 'off', GOTOOLCHAIN: 'local', GOTELEMETRY: 'off' };
      if (!argv.some((a) => a.startsWith('GOPATH='))) env.GOPATH = gopath;
      const b = await runGroup(argv, { cwd: src, env, timeoutMs: 240_000 });
      rmSync(gocache, { recursive: true, force: true });
      rmSync(gopath, { recursive: true, force: true });
      if (b.code !== 0) {
        result.status = 'build-failed';
        result.reason = `build ${m.build.join(' ')} failed (${b.timedOut ? 'timed out' : `exit ${b.code}`}): ${(b.err || b.out).trim().split('\n').slice(-3).join(' / ')}`;
        return result;
      }
    }
    // Translate.
    const reportFile = join(work, 'report.json');
    let argv;
    if (m.role === 'server') {
      const t = serverTarget(m, src);
      if (t.notRunnable) {
        result.status = 'not-runnable';
        result.reason = t.notRunnable;
        return result;
      }
      result.suite = t.suite;
      result.notes = t.notes;
      const targetFile = join(work, 'target.yaml');
      writeFileSync(targetFile, `# generated by scripts/corpus from ${item.id}/impl.json\n${YAML.stringify({ kind: 'target', version: 1, ...t.target })}`);
      argv = [process.execPath, protosim, 'run', join(root, t.suite), '--target', targetFile, '--report', `json=${reportFile}`, '--no-color'];
      for (const [k, v] of Object.entries(t.vars)) argv.push('--var', `${k}=${v}`);
      if (opts.bounds) argv.push('--bounds');
    } else {
      // A defective twin is a copy of its correct twin: what the manifest leaves out (its lease) is the twin's.
      const twinFile = m.twinOf ? join(dirname(item.dir), m.twinOf, 'impl.json') : undefined;
      const twin = twinFile && existsSync(twinFile) ? JSON.parse(readFileSync(twinFile, 'utf8')) : undefined;
      const a = clientAdapter(m, src, item.impl, twin);
      if (a.notRunnable) {
        result.status = 'not-runnable';
        result.reason = a.notRunnable;
        result.suite = a.suite;
        return result;
      }
      result.suite = a.suite;
      result.notes = a.notes;
      const adapterFile = join(work, 'adapter.yaml');
      writeFileSync(adapterFile, `# generated by scripts/corpus from ${item.id}/impl.json\n${YAML.stringify({ kind: 'adapter', version: 1, ...a.adapter })}`);
      const suite = YAML.parse(readFileSync(join(root, a.suite), 'utf8'));
      suite.adapter = adapterFile;
      if (suite.server?.command && a.serverArgs.length) suite.server.command = [...suite.server.command, ...a.serverArgs];
      const suiteFile = join(work, 'clients.yaml');
      writeFileSync(suiteFile, `# generated by scripts/corpus: a copy of ${a.suite} for ${item.id}\n${YAML.stringify(suite)}`);
      argv = [process.execPath, protosim, 'run', suiteFile, '--report', `json=${reportFile}`, '--no-color'];
      if (opts.bounds) argv.push('--bounds');
    }
    result.command = argv.slice(1).map((x) => x.replace(root + '/', '').replace(workRoot, '$WORK')).join(' ');
    const r = await runGroup(argv, { cwd: work, env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' }, timeoutMs: opts.timeoutMs, stdoutFile: join(work, 'stdout.txt') });
    result.exitCode = r.code;
    result.runMs = r.ms;
    // Leftovers: anything of this run still alive (a grace second for exits in flight).
    await sleep(1000);
    let left = processesOf(work, r.pgid);
    if (left.length) {
      await sleep(2000);
      left = processesOf(work, r.pgid);
    }
    for (const p of left) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {}
    }
    result.leftovers = left;
    if (r.timedOut) {
      result.status = 'timeout';
      result.reason = `protosim did not finish within ${opts.timeoutMs} ms (hard timeout; its process group was killed)`;
    }
    if (existsSync(reportFile)) {
      const report = JSON.parse(readFileSync(reportFile, 'utf8'));
      result.cases = (report.cases ?? []).map((c) => ({ id: c.id, level: c.level, verdict: c.verdict, reason: oneLine(c.reason ?? '') }));
      result.score = `${report.score}/${report.maxScore}`;
    } else if (!r.timedOut) {
      result.status = 'error';
      result.reason = `protosim exit ${r.code}${r.signal ? ` (${r.signal})` : ''} without a report: ${oneLine((r.err || r.out).trim().split('\n').slice(-4).join(' / '))}`;
    }
    return result;
  } finally {
    result.ms = Date.now() - started;
    if (!opts.keep) rmSync(work, { recursive: true, force: true });
  }
}

function oneLine(text) {
  const t = text
    .replace(/\s+/g, ' ')
    .replace(/(.)\1{19,}/g, (run, ch) => `${ch}×${run.length}`)
    .trim();
  return t.length > 320 ? `${t.slice(0, 317)}...` : t;
}

// -------------------------------------------------------------------------------- classification
const failing = (r) => new Set(r.cases.filter((c) => c.verdict === 'FAIL' || c.verdict === 'ERROR').map((c) => c.id));

function classify(results) {
  const byId = new Map(results.map((r) => [r.id, r]));
  for (const r of results) {
    const fails = r.cases.filter((c) => c.verdict === 'FAIL');
    const errors = r.cases.filter((c) => c.verdict === 'ERROR');
    r.judgement = { ok: true, items: [] };
    const j = r.judgement;
    const bad = (kind, text) => {
      j.ok = false;
      j.items.push({ kind, text });
    };
    if (r.status === 'not-runnable') {
      j.summary = 'NOT-RUNNABLE';
      bad('not-runnable', r.reason);
      continue;
    }
    if (r.status === 'skipped') {
      j.summary = 'SKIPPED';
      j.items.push({ kind: 'skipped', text: r.reason });
      continue;
    }
    if (r.status === 'build-failed' || r.status === 'error') {
      j.summary = 'ERROR';
      bad('error', r.reason);
      continue;
    }
    if (r.status === 'timeout') bad('timeout', r.reason);
    if (r.leftovers.length) bad('leftover', `${r.leftovers.length} process(es) left running: ${r.leftovers.map((p) => `${p.pid} ${p.cmd}`).join('; ')}`);
    if (r.kind === 'correct' || (r.kind === 'faithful' && r.defects.length === 0 && flawCases[r.id] !== undefined && Object.keys(flawCases[r.id]).length === 0)) {
      for (const c of fails) bad(causeOf(r.id, c.id)?.genuine ? 'genuine-fail' : 'false-fail', withCause(r.id, c));
      for (const c of errors) bad('error-on-correct', withCause(r.id, c));
      const genuine = fails.filter((c) => causeOf(r.id, c.id)?.genuine).length;
      const parts = [fails.length - genuine ? `${fails.length - genuine} FALSE FAIL` : '', genuine ? `${genuine} genuine FAIL` : '', errors.length ? `${errors.length} ERROR` : ''].filter(Boolean);
      j.summary = parts.length ? parts.join(', ') : 'OK: no FAIL';
    } else if (r.kind === 'faithful') {
      const map = flawCases[r.id] ?? {};
      const expected = new Set(Object.values(map).flat());
      const f = failing(r);
      for (const c of [...fails, ...errors]) if (!expected.has(c.id)) bad(c.verdict === 'FAIL' ? 'false-fail' : 'error-on-correct', withCause(r.id, c, ' not explained by a documented flaw'));
      const shown = [];
      for (const [flaw, cases] of Object.entries(map)) {
        if (cases.length === 0) {
          j.items.push({ kind: 'no-case', text: `flaw ${flaw}: no case of the suite provokes it` });
          continue;
        }
        const hit = cases.filter((c) => f.has(c));
        if (hit.length) shown.push(flaw);
        else bad('missed-flaw', `flaw ${flaw} not shown: ${cases.join(', ')} did not fail (${cases.map((c) => r.cases.find((x) => x.id === c)?.verdict ?? 'not run').join(', ')})`);
      }
      for (const d of r.defects) if (!(d in map)) bad('missed-flaw', `flaw ${d} has no expectation in scripts/corpus/expectations.mjs`);
      j.summary = `${shown.length}/${Object.values(map).filter((c) => c.length).length} flaws shown${j.items.some((i) => i.kind === 'false-fail' || i.kind === 'error-on-correct') ? ', unexplained failures' : ''}`;
    } else if (r.kind === 'defective') {
      const twin = byId.get(`${r.protocol}/${r.twinOf}`);
      const f = failing(r);
      let caughtBy;
      if (twin && twin.status === 'ran' && twin.cases.length) {
        const tf = failing(twin);
        caughtBy = [...f].filter((c) => !tf.has(c));
      } else caughtBy = [...f];
      r.caughtBy = caughtBy;
      if (caughtBy.length) j.summary = `CAUGHT by ${caughtBy.join(', ')}`;
      else {
        j.summary = 'MISS';
        bad('miss', `defect ${r.defects.join(', ')} not caught: ${f.size ? `fails only what its twin ${r.twinOf} fails too (${[...f].join(', ')})` : 'every case passed'}${missCauses[r.id] ? ` — **why:** ${missCauses[r.id]}` : ''}`);
      }
    }
  }
}

/** `case: reason — cause: ...` for the lists of disagreements. */
function withCause(implId, c, note = '') {
  const cause = causeOf(implId, c.id);
  return `\`${c.id}\`${c.level === 'recommended' ? ' (recommended)' : ''} ${c.verdict}${note}: ${c.reason}${cause ? ` — **why:** ${cause.cause}` : ' — **why:** not analysed'}`;
}

// --------------------------------------------------------------------------------------- output
function counts(r) {
  const n = (v) => r.cases.filter((c) => c.verdict === v).length;
  return { PASS: n('PASS'), FAIL: n('FAIL'), ERROR: n('ERROR'), SKIP: n('SKIP') };
}

function render(results, meta) {
  const lines = [];
  lines.push('# Corpus results');
  lines.push('');
  lines.push(`<!-- GENERATED by \`npm run corpus\` (scripts/corpus/run.mjs) on ${meta.date}; do not edit by hand: run it again. -->`);
  lines.push('');
  lines.push(`**Generated file** — \`npm run corpus\` (scripts/corpus/run.mjs) wrote it on ${meta.date} (${meta.node}, ${meta.durationS} s wall clock). It runs protosim's suites on every implementation of corpus/ (written independently of protosim), as the manifests describe them, and judges protosim by the verdicts: a correct implementation must have no FAIL, a seed-faithful one must fail exactly its documented flaws, a defective twin must be caught.`);
  if (meta.note) lines.push('', `Note: ${meta.note}.`);
  lines.push('');
  lines.push('| implementation | kind | suite | PASS | FAIL | ERROR | SKIP | judgement |');
  lines.push('|---|---|---|---:|---:|---:|---:|---|');
  for (const r of results) {
    const suite = r.suite ? r.suite.replace('scenarios/conformance/', '') : '—';
    if (r.status !== 'ran' && r.status !== 'timeout') {
      lines.push(`| ${r.id} | ${r.kind} | ${suite} | — | — | — | — | ${r.judgement.summary}: ${r.reason} |`);
      continue;
    }
    const c = counts(r);
    const extra = [r.status === 'timeout' ? 'TIMEOUT' : '', r.leftovers.length ? `${r.leftovers.length} LEFTOVER` : ''].filter(Boolean).join(', ');
    lines.push(`| ${r.id} | ${r.kind} | ${suite} | ${c.PASS} | ${c.FAIL} | ${c.ERROR} | ${c.SKIP} | ${r.judgement.summary}${extra ? ` (${extra})` : ''} |`);
  }
  lines.push('');
  lines.push('## Failing cases');
  lines.push('');
  for (const r of results) {
    const f = r.cases.filter((c) => c.verdict === 'FAIL' || c.verdict === 'ERROR');
    if (!f.length) continue;
    lines.push(`### ${r.id} (${r.kind}${r.defects.length ? `; documented: ${r.defects.join(', ')}` : ''})`);
    lines.push('');
    for (const c of f) lines.push(`- ${c.verdict} \`${c.id}\`${c.level === 'recommended' ? ' (recommended)' : ''}: ${c.reason.replaceAll('|', '\\|')}`);
    lines.push('');
  }
  const section = (title, kinds) => {
    const items = results.flatMap((r) => r.judgement.items.filter((i) => kinds.includes(i.kind)).map((i) => `- **${r.id}** (${r.kind}): ${i.text.replaceAll('|', '\\|')}`));
    lines.push(`## ${title} (${items.length})`);
    lines.push('');
    lines.push(...(items.length ? items : ['- none']));
    lines.push('');
  };
  section('False FAILs (FAIL on a correct implementation, or on a faithful one outside its documented flaws)', ['false-fail']);
  section('FAILs on correct implementations where protosim is right (the program has a bug its manifest does not admit)', ['genuine-fail']);
  section('ERRORs on correct implementations (or on faithful ones outside their flaws)', ['error-on-correct']);
  section('Misses (a defective twin not caught, a documented flaw not shown)', ['miss', 'missed-flaw']);
  section('Not runnable (what the manifest says protosim cannot be told)', ['not-runnable', 'error']);
  section('Timeouts and leftover processes', ['timeout', 'leftover']);
  section('Documented flaws without a case', ['no-case']);
  lines.push('## How each program was run');
  lines.push('');
  for (const r of results) {
    if (!r.command) continue;
    lines.push(`- ${r.id}: \`protosim ${r.command.replace(/^bin\/protosim\.js /, '')}\`${r.notes?.length ? ` — ${r.notes.join('; ')}` : ''} (${Math.round((r.runMs ?? 0) / 1000)} s)`);
  }
  lines.push('');
  return lines.join('\n');
}

// ------------------------------------------------------------------------------------------ main
async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.fromJson) {
    // Classify and render saved results again (after editing expectations or causes), without running anything.
    const saved = JSON.parse(readFileSync(opts.fromJson, 'utf8'));
    classify(saved.results);
    const md = render(saved.results, saved.meta);
    if (opts.out) writeFileSync(opts.out, md);
    process.stdout.write(`${md}\n`);
    return;
  }
  const t0 = Date.now();
  let items = implementations();
  if (opts.only.length) items = items.filter((i) => opts.only.some((o) => i.id === o || i.id.startsWith(`${o}/`) || i.id.includes(o)));
  if (!items.length) usage('no implementation selected');
  const workRoot = opts.work ?? mkdtempSync(join(tmpdir(), 'protosim-corpus-'));
  mkdirSync(workRoot, { recursive: true });
  const before = processesOf(workRoot);
  const log = (s) => {
    if (!opts.quiet) process.stderr.write(s);
  };
  log(`corpus: ${items.length} implementation(s), ${opts.jobs} at a time, work folder ${workRoot}\n`);
  const results = new Array(items.length);
  let next = 0;
  // The fixed-port implementations run one at a time (they would collide with themselves only, but keep it simple).
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      const item = items[i];
      log(`corpus: ${item.id} ...\n`);
      let r;
      try {
        r = await runOne(item, workRoot, opts);
      } catch (e) {
        r = { id: item.id, protocol: item.protocol, impl: item.impl, role: item.manifest.role, kind: item.manifest.kind, defects: [], status: 'error', reason: `runner: ${e.stack ?? e}`, cases: [], leftovers: [], notes: [] };
      }
      results[i] = r;
      const c = counts(r);
      log(`corpus: ${item.id}: ${r.status}${r.reason ? ` (${r.reason.slice(0, 160)})` : ''} PASS ${c.PASS} FAIL ${c.FAIL} ERROR ${c.ERROR} SKIP ${c.SKIP}${r.leftovers?.length ? ` LEFTOVERS ${r.leftovers.length}` : ''} in ${Math.round(r.ms / 1000)} s\n`);
    }
  };
  await Promise.all(Array.from({ length: opts.jobs }, worker));
  classify(results);
  const after = processesOf(workRoot);
  if (!opts.keep && !opts.work) rmSync(workRoot, { recursive: true, force: true });
  else if (!opts.keep) for (const n of readdirSync(workRoot)) rmSync(join(workRoot, n), { recursive: true, force: true });
  const meta = { date: new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC', node: process.version, durationS: Math.round((Date.now() - t0) / 1000) };
  const md = render(results, meta);
  if (opts.out) writeFileSync(opts.out, md);
  if (opts.json) writeFileSync(opts.json, JSON.stringify({ meta, workRoot, processesBefore: before, processesAfter: after, results }, null, 2));
  process.stdout.write(`${md}\n`);
  if (after.length) process.stdout.write(`LEFTOVER processes after the run: ${after.map((p) => `${p.pid} ${p.cmd}`).join('; ')}\n`);
  const allOk = results.every((r) => r.judgement.ok || r.status === 'skipped') && after.length === 0;
  process.exitCode = allOk ? 0 : 1;
}

main().catch((e) => {
  process.stderr.write(`corpus: internal error: ${e.stack ?? e}\n`);
  process.exit(70);
});
