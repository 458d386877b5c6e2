/**
 * `protosim replay <trace> --adapter <file>`: drives live client programs through a model
 * counterexample's steps and faults in the same order and reports whether the live system shows the
 * same failure (exit 0 when it does, 1 when it does not, 2 for bad input, 3 when the programs
 * cannot be started). `--target`: the same against a live server, its clients played from their
 * models (every server protocol).
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { InputError } from '../errors.js';
import { loadAdapterFile } from '../conformance/clients/adapter.js';
import type { IoMode } from '../conformance/clients/client-process.js';
import { replayChatOnClients, replayOnClients, type LiveReplayOptions, type ReplayMatch, type ReplayVerdict } from '../conformance/clients/replay-on-clients.js';
import type { ChatReplayOptions } from '../conformance/clients/replay-chat-world.js';
import type { ClientReplayMapping } from '../models/live-types.js';
import { liveCodecFor } from '../conformance/live-codec.js';
import type { FramingName } from '../scenario/target-schema.js';
import { protosimLauncher } from '../conformance/managed-process.js';
import { builtinPackages, protocolNamed } from '../models/registry.js';
import { exampleAddress } from '../scenario/target-address.js';
import type { TraceEvent, TraceHeader } from '../sim/trace.js';
import type { FaultSpec } from '../sim/config.js';
import type { LiveSchedule } from '../conformance/live-scenario-run.js';
import type { Scenario } from '../scenario/load.js';
import type { Expectation } from '../scenario/schema.js';
import type { CliContext } from './context.js';
import { runScenarioLive } from './live-scenario.js';
import { liveProtocolOf } from '../conformance/scenario-target.js';
import { loadTargetFile } from '../scenario/load-suite.js';
import type { TargetFile } from '../scenario/target-schema.js';

export interface LiveReplayFlags {
  adapter?: string;
  var?: Record<string, string>;
  io?: IoMode;
  observeMs?: number;
  stepTimeoutMs?: number;
  format?: string;
}

/** The events of a trace file after its header line; a bad line is an InputError with its number. */
export function traceEvents(text: string, file: string): TraceEvent[] {
  const events: TraceEvent[] = [];
  text
    .split('\n')
    .slice(1)
    .forEach((line, i) => {
      if (line.trim() === '') return;
      try {
        events.push(JSON.parse(line) as TraceEvent);
      } catch {
        throw new InputError(`${file}:${i + 2}:1: not a JSON trace event: ${JSON.stringify(line.slice(0, 60))}`);
      }
    });
  return events;
}

export async function replayLiveOnClients(ctx: CliContext, file: string, header: TraceHeader, text: string, flags: LiveReplayFlags & { codec?: string; framing?: string }): Promise<void> {
  const protocol = header.config.protocol;
  const pkg = protocolNamed(protocol);
  const kv = pkg?.live?.transport === 'http';
  const chat = pkg?.live?.clientReplay;
  if (!kv && chat === undefined) {
    const can = builtinPackages.filter((p) => p.live?.transport === 'http' || p.live?.clientReplay !== undefined).map((p) => p.name);
    throw new InputError(
      `--adapter: replaying a ${protocol} trace on client programs needs protosim to play its ${protocol} server; it does that for ${can.join(', ')}. ` +
        `For ${protocol}, run the whole system live instead (a suite with a server command, docs/clients.md) or replay against the server with --target.`,
    );
  }
  const cwd = ctx.io.cwd ?? process.cwd();
  const adapter = loadAdapterFile(resolve(cwd, flags.adapter!), flags.adapter!);
  if (adapter.spec.protocol !== protocol) throw new InputError(`--adapter: ${adapter.spec.adapter} drives ${adapter.spec.protocol} clients; the trace is of ${protocol}`);
  const events = traceEvents(text, file);
  const options: LiveReplayOptions = {
    adapter,
    variant: pkg?.variants.faithful,
    protosimLauncher: protosimLauncher(),
    ...(flags.var ? { vars: flags.var } : {}),
    ...(flags.io ? { io: flags.io } : {}),
    ...(flags.observeMs !== undefined ? { observeMs: flags.observeMs } : {}),
    ...(flags.stepTimeoutMs !== undefined ? { stepTimeoutMs: flags.stepTimeoutMs } : {}),
  };
  const result = chat === undefined ? await replayOnClients(header, events, options) : await replayChatOnClients(header, events, { ...options, ...chatCodec(protocol, chat, flags) });
  if (flags.format === 'json') ctx.io.stdout(JSON.stringify(result, null, 2) + '\n');
  else {
    const lines = [
      `live replay of ${file} (${protocol}, seed ${header.seed}) on ${adapter.spec.adapter}`,
      `  the model found: ${result.expected}`,
      `  steps carried out live: ${result.stepsDone}/${result.stepsTotal}${result.divergence ? ` (the live run left the trace: ${result.divergence})` : ''}`,
      '  live requests against the trace:',
      ...matchLines(result.matches),
      `  the live system: ${result.observed}`,
      ...result.details.flatMap((d) => d.split('\n').map((l) => `    ${l}`)),
      verdictLine[result.verdict],
    ];
    ctx.io.stdout(lines.join('\n') + '\n');
  }
  ctx.exitCode = result.reproduced ? 0 : 1;
}

/** The codec the client programs speak (`--codec`, default the protocol's first) and how the reference server is told to speak it. */
function chatCodec(protocol: string, mapping: ClientReplayMapping, flags: { codec?: string; framing?: string }): Pick<ChatReplayOptions, 'mapping' | 'codec' | 'serverArgs'> {
  const live = protocolNamed(protocol)!.live!;
  const name = flags.codec ?? live.codecs[0]!.name;
  const framing = (flags.framing ?? 'length-delimited') as FramingName;
  const codec = liveCodecFor(protocol, name, framing);
  if (codec === null) throw new InputError(`--codec ${name}: ${protocol} client programs speak ${live.codecs.map((c) => c.name).join(', ')}`);
  // `serve --codec` is for protocols with more than one codec
  const serverArgs = [...(live.codecs.length > 1 ? ['--codec', name] : []), ...(flags.framing !== undefined ? ['--framing', flags.framing] : [])];
  return { mapping, codec, serverArgs };
}

/** The trace's steps with the live request that carried each out, and the extras, a repeated one once with its count. */
function matchLines(matches: readonly ReplayMatch[]): string[] {
  const lines: string[] = [];
  const extras = new Map<string, { line: number; count: number }>();
  for (const m of matches) {
    if (m.as === 'step') lines.push(`    step ${m.step}: ${m.node} ${m.model}  <-  ${m.live}`);
    else if (m.as === 'skipped') lines.push(`    step ${m.step}: ${m.node} ${m.model}  (not made live: a read changes nothing)`);
    else {
      // one line per client, action and key: a value that changes each time (a timestamp) is the same extra
      const key = `${m.node} ${m.live.replace(/^#\d+ /, '').replace(/=.*$/, '')}`;
      const seen = extras.get(key);
      if (seen !== undefined) seen.count += 1;
      else {
        extras.set(key, { line: lines.length, count: 1 });
        lines.push(`    extra: ${m.node} ${m.live} (${m.why})`);
      }
    }
  }
  for (const { line, count } of extras.values()) if (count > 1) lines[line] += `, ${count} times`;
  return lines;
}

const verdictLine: Record<ReplayVerdict, string> = {
  REPRODUCED: 'REPRODUCED: the live system shows the same failure, on the trace\'s steps',
  'NOT REPRODUCED': 'NOT REPRODUCED: the live system does not show the failure on the trace\'s steps',
  DIVERGED: 'DIVERGED: a program did what the model rules out at that step (the live run left the trace there)',
};

/** `protosim replay <trace> --target ...`: options. */
export interface ServerReplayFlags {
  target?: string;
  codec?: string;
  framing?: string;
  timeScale?: number;
  replyTimeoutMs?: number;
  format?: string;
}

/** What the trace's finding was, as a scenario expectation and an id. */
export function expectedFailureOf(events: readonly TraceEvent[]): { id: string; summary: string; expect: Expectation } | null {
  const finding = events.find((e): e is Extract<TraceEvent, { k: 'finding' }> => e.k === 'finding');
  if (finding === undefined) return null;
  if (finding.kind === 'invariant') {
    const m = /^invariant (\S+) /.exec(finding.summary);
    if (m === null) return null;
    return { id: `invariant:${m[1]}`, summary: finding.summary, expect: { invariant: m[1]! } };
  }
  return { id: finding.kind, summary: finding.summary, expect: { [finding.kind]: 'found' } as Expectation };
}

/** The trace's schedule: when each node started, each line was typed, each fault struck. */
export function scheduleOf(header: TraceHeader, events: readonly TraceEvent[]): LiveSchedule {
  const startAtMs: Record<string, number> = {};
  const inputAtMs: Record<string, number[]> = {};
  const quitAtMs: Record<string, number> = {};
  const faults: FaultSpec[] = [];
  for (const e of events) {
    if (e.k === 'start' && e.fresh && startAtMs[e.node] === undefined) startAtMs[e.node] = e.t;
    else if (e.k === 'input') (inputAtMs[e.node] ??= []).push(e.t);
    else if (e.k === 'quit') quitAtMs[e.node] ??= e.t;
    else if (e.k === 'fault') faults.push({ ...e.fault, atMs: e.t });
  }
  // Nodes the trace never started (it ended first) start when the seed said.
  for (const [node, t] of Object.entries(header.derived.startAtMs)) startAtMs[node] ??= t;
  // Faults after the trace's end still strike, as the scenario scheduled them.
  const last = events.length > 0 ? events[events.length - 1]!.t : 0;
  for (const f of header.derived.faults) if (f.atMs > last) faults.push(f);
  return { startAtMs, faults, inputAtMs, quitAtMs };
}

/**
 * Replays a model counterexample against a live server: the same clients (played from their
 * models), the same typed lines and faults at the same (scaled) times, and reports whether the live
 * system shows the same failure. Exit 0 when it does, 1 when it does not.
 */
export async function replayLiveOnServer(ctx: CliContext, file: string, header: TraceHeader, text: string, flags: ServerReplayFlags): Promise<void> {
  const events = traceEvents(text, file);
  const failure = expectedFailureOf(events);
  if (failure === null) throw new InputError(`${file}: the trace has no finding to reproduce (it ends ${events[events.length - 1]?.k === 'end' ? (events[events.length - 1] as { reason: string }).reason : 'without one'})`);
  if (header.exhaustive) throw new InputError(`${file}: an exhaustive trace is untimed (its times are step numbers); replay a trace of a seeded run (protosim run --seed N) against a live server`);
  const model = protocolNamed(header.config.protocol)!;
  const variant = model.variants[header.config.variant]!;
  // `--target` is an address (tcp://..., http://...), or a target file: a suite's `target:` mapping
  // on its own, for a server protosim starts (a command on a port it picks) or one already running.
  let targetFile: TargetFile | undefined;
  if (flags.target !== undefined && !flags.target.includes('://')) {
    const protocol = liveProtocolOf(header.config.protocol);
    if (protocol === undefined) throw new InputError(`${file}: ${header.config.protocol} has no live form (no codec, no reference server)`, 'no-live-form');
    const path = resolve(ctx.io.cwd ?? process.cwd(), flags.target);
    if (!existsSync(path)) {
      const example = exampleAddress(protocol);
      throw new InputError(`--target: expected an address (${example}) or a target file (YAML: command: [...], port: auto, ready: {...}); ${JSON.stringify(flags.target)} is neither (no such file)`, 'bad-target');
    }
    targetFile = loadTargetFile(path, flags.target, protocol);
    flags = { ...flags, target: undefined };
  }
  const scenario: Scenario = {
    file,
    spec: {
      id: `replay/${header.config.protocol}`,
      title: `live replay of ${file}`,
      protocol: header.config.protocol,
      expect: failure.expect,
      ...(targetFile !== undefined ? { target: targetFile } : {}),
    } as Scenario['spec'],
    model,
    variant,
    config: header.config,
    expect: failure.expect,
    explore: { strategy: 'random', seedStart: header.seed, seeds: 1, seed: header.seed, maxStates: 0, maxDepth: 0, faultBudget: 0 },
  };
  const cwd = ctx.io.cwd ?? process.cwd();
  const report = await runScenarioLive(scenario, { ...flags, seed: header.seed, saveTrace: false }, file, cwd, scheduleOf(header, events));
  const found = report.findings.map((f) => f.id);
  const reproduced = report.ok;
  if (flags.format === 'json') {
    ctx.io.stdout(JSON.stringify({ reproduced, expected: failure, observed: report.findings.map((f) => ({ id: f.id, summary: f.summary })), live: { ...report.live, trace: undefined } }, null, 2) + '\n');
  } else {
    const lines = [
      `live replay of ${file} (${header.config.protocol}, ${header.config.variant}, seed ${header.seed}) against ${report.live?.target ?? flags.target}`,
      `  the model found: ${failure.summary}`,
      `  the live run (${report.live?.trace.length ?? 0} events, time scale ${report.live?.timeScale}): ${found.length === 0 ? 'nothing found' : found.join(', ')}; ended ${report.live?.endReason}`,
      ...report.findings.map((f) => `    ${f.id}: ${f.summary}`),
      ...(report.live?.unexplained ? [`  the ${header.config.variant} server model no longer explains the live server: ${report.live.unexplained}`] : []),
      ...(report.live?.notes ?? []).map((n) => `  note: ${n}`),
      reproduced ? 'REPRODUCED: the live system shows the same failure' : `NOT REPRODUCED: the live system does not show ${failure.id}`,
    ];
    ctx.io.stdout(lines.join('\n') + '\n');
  }
  ctx.exitCode = reproduced ? 0 : 1;
}
