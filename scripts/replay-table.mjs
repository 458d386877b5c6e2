#!/usr/bin/env node
/**
 * The replay tables.
 *
 * Key-value protocols (issue 16): the shortest counterexample the exhaustive explorer finds for each
 * scenario under scenarios/lock-alternation/ and scenarios/status-handshake/, replayed with
 * `protosim replay --adapter` on every client program of those protocols that protosim did not write
 * (the corpus and the held-out batch). A seed-faithful client must show each failure (REPRODUCED);
 * a correct one must never (no false REPRODUCED).
 *
 * Chat protocols (`--chat`: register-exit, offline-queue, ping-liveness): for each scenario of the
 * faithful models with a finding, the exhaustive explorer's shortest counterexample (or, where it
 * finds none within its bounds, the random strategy's at seed 1), replayed on protosim's example
 * client (adapters/<protocol>.yaml) and on every corpus and held-out client program, each with the
 * codec and framing its manifest says it speaks. protosim plays the correct server, so a flaw of the
 * seed's server cannot reproduce on client programs (NOT REPRODUCED, with the step where the fixed
 * server parts from the seed's); a program that does what the model's client rules out is DIVERGED
 * (a defective one may be; a correct one, or protosim's example, never). A false REPRODUCED or a
 * DIVERGED on a correct client or an example, or an ERROR, fails.
 *
 *   npm run replay:table [-- --json FILE] [--only PROTOCOL] [--keep]
 *   npm run replay:table -- --chat [--only register-exit|offline-queue|ping-liveness] [--json FILE]
 *
 * Prints a Markdown table (scenario × client -> verdict, with where the live run left the trace)
 * and the counts (REPRODUCED / NOT REPRODUCED / DIVERGED per kind of client); exit 1 when a correct
 * client shows a failure or diverges (or, for the key-value protocols, a seed-faithful one does not
 * reproduce; for the chat protocols, protosim's example diverges).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { clients } from './corpus/clients.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..');
const protosim = join(root, 'bin', 'protosim.js');
const kvProtocols = ['lock-alternation', 'status-handshake'];
const chatProtocols = ['register-exit', 'offline-queue', 'ping-liveness'];

const args = process.argv.slice(2);
const opt = (name) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const jsonOut = opt('--json');
const only = opt('--only');
const keep = args.includes('--keep');
const chat = args.includes('--chat');
const protocols = chat ? chatProtocols : kvProtocols;

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

/** Runs one scenario with `how` (strategy flags) into `trace`; the finding, or why there is none. */
function runScenario(file, trace, how) {
  const r = spawnSync(process.execPath, [protosim, 'run', file, ...how, '--no-progress', '--no-color', '--trace-out', trace], { cwd: root, encoding: 'utf8', timeout: 300_000 });
  const found = /FOUND (\S+) \(([^)]+)\)(?: after (\d+) steps)?/.exec(r.stdout);
  if (!existsSync(trace) || found === null) return null;
  return { finding: found[2], steps: found[3] === undefined ? null : Number(found[3]) };
}

/**
 * The counterexample of each scenario of a chat protocol's faithful models with a finding: the
 * exhaustive explorer's shortest, else the random strategy's at seed 1 (the exhaustive explorer
 * finds no timed failure, a lock-out 45 s on, within its bounds). Scenarios without one are listed.
 */
function chatCounterexamples(protocol) {
  const out = [];
  const dir = join(root, 'scenarios', protocol);
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.yaml') && !f.startsWith('fixed-')).sort()) {
    const name = `${protocol}/${basename(file, '.yaml')}`;
    const shortest = join(work, `${protocol}--${basename(file, '.yaml')}--shortest.jsonl`);
    const seeded = join(work, `${protocol}--${basename(file, '.yaml')}--seed1.jsonl`);
    const ex = runScenario(join(dir, file), shortest, ['--strategy', 'exhaustive']);
    if (ex !== null) {
      out.push({ scenario: `${name} (shortest)`, trace: shortest, ...ex });
      continue;
    }
    const s1 = runScenario(join(dir, file), seeded, ['--seed', '1']);
    if (s1 !== null) out.push({ scenario: `${name} (seed 1)`, trace: seeded, ...s1 });
    else noFinding.push(name);
  }
  return out;
}
const noFinding = [];

/** The codec flags a chat client program needs: its manifest's wire, or (held-out) its suite's server command. */
function codecArgs(protocol, id) {
  const [where, , impl] = id.split('/');
  if (where === 'corpus') {
    const wire = JSON.parse(readFileSync(join(root, 'corpus', protocol, impl, 'impl.json'), 'utf8')).wire;
    return { gob: ['--codec', 'gob'], 'protobuf-raw': ['--framing', 'raw'] }[wire] ?? [];
  }
  const runs = join(root, 'corpus-heldout', 'runs');
  for (const f of readdirSync(runs).filter((f) => f.startsWith(`${protocol}--clients-`))) {
    const text = readFileSync(join(runs, f), 'utf8');
    if (!text.includes(`adapter: ${protocol}--${impl}.yaml`)) continue;
    const codec = /--codec, (\S+?)\]/.exec(text)?.[1];
    const framing = /--framing, (\S+?)\]/.exec(text)?.[1];
    return [...(codec ? ['--codec', codec] : []), ...(framing ? ['--framing', framing] : [])];
  }
  return [];
}

/** protosim's example client of a chat protocol, then every client program of the corpus and the held-out batch. */
function chatClients(protocol) {
  const example = { id: `adapters/${protocol}.yaml`, kind: 'example', adapter: join(root, 'adapters', `${protocol}.yaml`) };
  const others = clients(root, work, protocol).filter((c) => /\/client-[^/]*$/.test(c.id));
  return [example, ...others.map((c) => (c.broken ? c : { ...c, args: codecArgs(protocol, c.id) }))];
}

/** Per protocol, scenario × client -> verdict (the chat tables of docs/clients.md), then where each scenario's replays left the trace. */
function grids(rows) {
  const out = [];
  const protocolOf = (r) => r.scenario.split('/')[0];
  for (const protocol of [...new Set(rows.map(protocolOf))]) {
    const mine = rows.filter((r) => protocolOf(r) === protocol);
    const cls = [...new Set(mine.map((r) => r.client))];
    const label = (c) => `${c.replace(`/${protocol}/`, '/').replace(`adapters/${protocol}.yaml`, 'protosim example')} (${mine.find((r) => r.client === c).kind})`;
    out.push('', `| ${protocol} counterexample | ${cls.map(label).join(' | ')} |`, `|---|${cls.map(() => '---|').join('')}`);
    const scenarios = [...new Set(mine.map((r) => r.scenario))];
    for (const sc of scenarios) out.push(`| ${sc.slice(protocol.length + 1)}: ${mine.find((r) => r.scenario === sc && r.finding)?.finding ?? ''} | ${cls.map((c) => mine.find((r) => r.scenario === sc && r.client === c)?.verdict ?? '').join(' | ')} |`);
    out.push('');
    for (const sc of scenarios) {
      const whys = new Map();
      for (const r of mine.filter((r) => r.scenario === sc)) {
        const why = (r.why ?? '').replace(/within \d+ ms/g, 'within N ms').replace(/\s*\((?:running|exited[^)]*|killed[^)]*)\)$/, '');
        whys.set(why, [...(whys.get(why) ?? []), label(r.client)]);
      }
      for (const [why, who] of whys) out.push(`- ${sc.slice(protocol.length + 1)}, ${who.length === mine.filter((r) => r.scenario === sc).length ? 'every client' : who.join(', ')}: ${why.replaceAll('|', '\\|').slice(0, 300)}`);
    }
  }
  return out;
}

function replay(cx, client) {
  const started = Date.now();
  const r = spawnSync(process.execPath, [protosim, 'replay', cx.trace, '--adapter', client.adapter, ...(client.args ?? []), '--format', 'json', '--no-color'], { cwd: root, encoding: 'utf8', timeout: 180_000 });
  const ms = Date.now() - started;
  let report;
  try {
    report = JSON.parse(r.stdout);
  } catch {
    const out = (r.stderr || r.stdout).trim();
    return { verdict: 'ERROR', why: `exit ${r.status}${r.signal ? ` (${r.signal})` : ''}: ${out.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('Node.js ')).slice(-2).join(' / ')}`, stderr: out.slice(-4000), ms };
  }
  return { verdict: report.verdict ?? (report.reproduced ? 'REPRODUCED' : 'NOT REPRODUCED'), why: report.divergence ?? report.observed ?? '', matched: report.matched, ms, exit: r.status };
}

const rows = [];
const fromJson = opt('--from-json');
if (fromJson !== undefined) {
  // the tables again from the --json of earlier runs (comma-separated files), nothing replayed
  for (const f of fromJson.split(',')) rows.push(...JSON.parse(readFileSync(f, 'utf8')));
  cleanUp();
} else try {
  for (const protocol of protocols.filter((p) => only === undefined || p === only)) {
    const cxs = chat ? chatCounterexamples(protocol) : counterexamples(protocol);
    const cls = chat ? chatClients(protocol) : clients(root, work, protocol);
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

const wrong = rows.filter((r) => (!chat && r.kind === 'faithful' && r.verdict !== 'REPRODUCED') || (r.kind === 'correct' && r.verdict === 'REPRODUCED') || r.verdict === 'ERROR' || (chat && (r.kind === 'correct' || r.kind === 'example') && r.verdict === 'DIVERGED'));
console.log('| scenario | client | kind | verdict | where / why |');
console.log('|---|---|---|---|---|');
for (const r of rows) console.log(`| ${r.scenario} | ${r.client} | ${r.kind} | ${r.verdict} | ${(r.why ?? '').replaceAll('|', '\\|').slice(0, 200)} |`);
const count = (pred) => rows.filter(pred).length;
console.log(`\nfaithful: ${count((r) => r.kind === 'faithful' && r.verdict === 'REPRODUCED')}/${count((r) => r.kind === 'faithful')} REPRODUCED; correct: ${count((r) => r.kind === 'correct' && r.verdict === 'REPRODUCED')} false REPRODUCED of ${count((r) => r.kind === 'correct')}; defective twins: ${count((r) => r.kind === 'defective' && r.verdict === 'REPRODUCED')}/${count((r) => r.kind === 'defective')} REPRODUCED${chat ? `; protosim's examples: ${count((r) => r.kind === 'example' && r.verdict === 'REPRODUCED')}/${count((r) => r.kind === 'example')} REPRODUCED` : ''}`);
if (chat) {
  // every verdict per kind of client: a DIVERGED on a correct client or protosim's example is a bug of the rules
  const verdicts = ['REPRODUCED', 'NOT REPRODUCED', 'DIVERGED', 'ERROR', 'SKIP'];
  for (const kind of [...new Set(rows.map((r) => r.kind))]) {
    const mine = rows.filter((r) => r.kind === kind);
    console.log(`${kind}: ${verdicts.map((v) => [v, mine.filter((r) => r.verdict === v).length]).filter(([v, n]) => n > 0 || (v !== 'ERROR' && v !== 'SKIP')).map(([v, n]) => `${n} ${v}`).join(', ')} (of ${mine.length})`);
  }
  for (const line of grids(rows)) console.log(line);
}
if (noFinding.length > 0) console.log(`\nno counterexample (nothing found, as the scenario expects): ${noFinding.join(', ')}`);
if (jsonOut) writeFileSync(jsonOut, JSON.stringify(rows, null, 2));
process.exit(wrong.length > 0 ? 1 : 0);
