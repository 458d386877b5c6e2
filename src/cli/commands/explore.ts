/**
 * `protosim explore <protocol> --adapter FILE`: systematic testing of client programs'
 * interleavings (src/conformance/explore/): protosim plays the store and picks, at every point, which
 * waiting request goes next — PCT's randomized priorities (default), every order within the bound
 * (`--strategy exhaustive`), or a schedule given back (`--choices`). Prints the schedules tried, the
 * first failing one and the command that repeats it exactly. Exit 0 nothing found, 1 a schedule
 * failed, 2 bad input, 3 the programs could not be started.
 *
 * `protosim explore <protocol> --target ADDRESS|FILE`: the same for a stream server (TCP or QUIC),
 * through the message proxy of its transport: protosim plays the clients (a suite case's sends, or a workload generated with
 * `--seed`), holds every message and releases them in the scheduler's order, kills as further
 * choices (`--kills`), the server model as the oracle. Exit 3 when the target could not be started
 * or reached.
 */
import { resolve } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { InputError } from '../../errors.js';
import { loadAdapterFile } from '../../conformance/clients/adapter.js';
import type { IoMode } from '../../conformance/clients/client-process.js';
import { exploreClients, type ExploreResult, type ScheduleRun } from '../../conformance/explore/explore-clients.js';
import { protosimLauncher } from '../../conformance/managed-process.js';
import { builtinLiveProtocols, builtinPackages, liveProtocolNamed, protocolNamed } from '../../models/registry.js';
import { ExitCode } from '../../errors.js';
import { loadSuiteFile, type Suite } from '../../scenario/load-suite.js';
import type { SuiteFile } from '../../scenario/suite-schema.js';
import { exploreTarget } from '../../conformance/explore/explore-target.js';
import { renderTargetExplore } from '../../conformance/explore/target-report.js';
import { generatedWorkload, suiteWorkload, type TargetWorkload } from '../../conformance/explore/target-workload.js';
import { fuzzGeneratorFor } from '../../conformance/fuzz/fuzz-generators.js';
import { liveCodecFor, quicObjectCodec } from '../../conformance/live-codec.js';
import { defaultConnectionLimits } from '../../conformance/live-connection.js';
import { resolveTarget, type ResolvedTarget } from '../../conformance/live-target.js';
import { serverMappingFor } from '../../conformance/server-mapping-for.js';
import { targetFileOf } from '../target-flag.js';
import type { CliContext } from '../context.js';
import { parseIntOption } from '../options.js';
import { collectVar, parseIoMode } from './adapter.js';

interface ExploreFlags {
  adapter?: string;
  target?: string;
  strategy: string;
  schedules: number;
  depth: number;
  steps: number;
  clients: number;
  lines: number;
  seed?: number;
  choices?: (number | string)[];
  settleMs?: number;
  observeMs: number;
  suite?: string;
  case?: string;
  kills: number;
  codec?: string;
  framing?: string;
  replyTimeoutMs?: number;
  var?: Record<string, string>;
  io?: IoMode;
  format: string;
  progress: boolean;
}

/** `--settle-ms` by default: client programs (adapter), and a server's replies after a release (target). */
const adapterSettleMs = 150;
const targetSettleMs = 100;

const atLeast = (name: string, min: number) => (value: string): number => {
  const n = parseIntOption(name)(value);
  if (n < min) throw new InvalidArgumentError(`${name} must be at least ${min}, got ${value}`);
  return n;
};

/** `--choices`: indices (0.1.0, as --target prints them) or client names (c1.c2.c1, as --adapter prints them). */
function parseChoices(value: string): (number | string)[] {
  if (/^\d+(\.\d+)*$/.test(value)) return value.split('.').map(Number);
  if (/^c\d+(\.c\d+)*$/.test(value)) return value.split('.');
  throw new InvalidArgumentError(`--choices: expected the choices a report prints, as 0.1.0 or c1.c2.c1, got ${JSON.stringify(value)}`);
}

export function registerExploreCommand(program: Command, ctx: CliContext): void {
  program
    .command('explore')
    .description("try the orders in which client programs' requests reach the store (--adapter, key-value protocols), or in which clients' messages reach a server (--target, stream protocols, through the proxy): PCT's randomized priorities or every order within a bound; exit 1 when a schedule fails")
    .argument('<protocol>', 'the protocol the programs speak (lock-alternation, status-handshake), or the server speaks (ping-liveness, register-exit, offline-queue)')
    .option('--adapter <file>', 'the client programs, through this adapter (docs/clients.md)')
    .option('--target <address|file>', 'a server (tcp://127.0.0.1:PORT or quic://127.0.0.1:PORT, loopback only), or a target file that starts one (fresh for each schedule)')
    .option('--suite <file>', '--target: the workload is a case of this suite (its sends; the model judges the replies)')
    .option('--case <id>', '--target, with --suite: the case')
    .option('--kills <n>', '--target: kills per schedule the scheduler may choose (a client\'s connection reset at a decision)', parseIntOption('--kills'), 0)
    .option('--codec <codec>', '--target: the codec the server speaks')
    .option('--framing <framing>', '--target, protobuf: length-delimited or raw')
    .option('--reply-timeout-ms <n>', '--target: how long a reply the model expects may take', parseIntOption('--reply-timeout-ms'))
    .option('--strategy <name>', 'pct (randomized priorities), exhaustive (every order within --steps) or fixed (--choices)', 'pct')
    .option('--schedules <n>', 'the most schedules to try', atLeast('--schedules', 1), 100)
    .option('--depth <d>', 'pct: the bug depth the probability bound is for (d - 1 priority change points)', atLeast('--depth', 1), 2)
    .option('--steps <k>', 'decisions controlled per schedule (the requests ordered); after them requests go as they come', atLeast('--steps', 1), 8)
    .option('--clients <n>', 'client programs started at the same instant (--target: clients of the generated workload)', atLeast('--clients', 1), 2)
    .option('--lines <n>', 'lines each client types, one at each prompt', parseIntOption('--lines'), 2)
    .option('--seed <n>', 'pct: the seed (schedule i uses seed + i); --target: also the seed of the generated workload', parseIntOption('--seed'))
    .option('--choices <list>', 'repeat one schedule exactly: its choices as a report prints them (implies --strategy fixed)', parseChoices)
    .option('--settle-ms <n>', `when a client is not asking, how long no request must come before a decision (default ${adapterSettleMs}); --target: how long the replies must be quiet after a release (default ${targetSettleMs})`, parseIntOption('--settle-ms'))
    .option('--observe-ms <n>', 'after the controlled steps, how long to watch (longer for slow pollers)', parseIntOption('--observe-ms'), 2500)
    .option('--var <name=value>', "set one of the adapter's vars, or (--target) a suite variable (repeatable)", collectVar)
    .option('--io <mode>', 'pty, pipes or auto', parseIoMode)
    .option('--format <format>', 'text or json', 'text')
    .option('--no-progress', 'no line per schedule on stderr')
    .action(async (protocol: string, flags: ExploreFlags) => {
      if (flags.target !== undefined && flags.adapter !== undefined) throw new InputError('explore: --adapter (client programs) or --target (a server), not both', 'usage');
      if (flags.target !== undefined || flags.suite !== undefined) return exploreTargetCommand(ctx, protocol, flags);
      if (flags.adapter === undefined) throw new InputError('explore: --adapter FILE (client programs) or --target ADDRESS|FILE (a server) is required', 'usage');
      const kv = builtinPackages.filter((p) => p.live?.transport === 'http').map((p) => p.name);
      if (protocolNamed(protocol) === undefined || !kv.includes(protocol)) throw new InputError(`explore: expected a key-value protocol (${kv.join(', ')}), got ${JSON.stringify(protocol)}`, 'usage');
      const strategy = flags.choices !== undefined ? 'fixed' : flags.strategy;
      if (!['pct', 'exhaustive', 'fixed'].includes(strategy)) throw new InputError(`--strategy: expected pct, exhaustive or fixed, got ${JSON.stringify(strategy)}`, 'usage');
      const cwd = ctx.io.cwd ?? process.cwd();
      const adapter = loadAdapterFile(resolve(cwd, flags.adapter), flags.adapter);
      if (adapter.spec.protocol !== protocol) throw new InputError(`--adapter: ${adapter.spec.adapter} drives ${adapter.spec.protocol} clients, not ${protocol}`);
      const seed = flags.seed ?? Math.floor(Math.random() * 2 ** 31);
      if (strategy === 'pct') ctx.io.stderr(`explore: seed ${seed}\n`);
      const result = await exploreClients({
        adapter,
        clients: flags.clients,
        steps: flags.steps,
        lines: flags.lines,
        settleMs: flags.settleMs ?? adapterSettleMs,
        observeMs: flags.observeMs,
        protosimLauncher: protosimLauncher(),
        ...(flags.var ? { vars: flags.var } : {}),
        ...(flags.io ? { io: flags.io } : {}),
        strategy: strategy as 'pct' | 'exhaustive' | 'fixed',
        schedules: flags.schedules,
        depth: flags.depth,
        seed,
        ...(flags.choices ? { choices: flags.choices } : {}),
        onSchedule: (i, run) => {
          if (flags.progress) ctx.io.stderr(`schedule ${i + 1}: ${run.failure === null ? 'ok' : 'FAILED'} (${run.order.slice(0, 4).join(', ')}${run.order.length > 4 ? ', …' : ''})\n`);
        },
      });
      // the repeat controls the free requests up to the last write too (ScheduleRun.repeat)
      const repeat = result.first?.repeat ?? [];
      const replay = result.first === null ? null : `npx protosim explore ${protocol} --adapter ${flags.adapter} --clients ${flags.clients} --steps ${Math.max(flags.steps, repeat.length)} --lines ${flags.lines} --choices ${repeat.join('.') || '0'}`;
      if (flags.format === 'json') ctx.io.stdout(JSON.stringify({ protocol, strategy, seed: strategy === 'pct' ? seed : null, steps: flags.steps, depth: flags.depth, ...result, replay }, null, 2) + '\n');
      else ctx.io.stdout(renderExplore(protocol, strategy, flags, result, replay));
      ctx.exitCode = result.first === null ? 0 : 1;
    });
}

function renderExplore(protocol: string, strategy: string, flags: ExploreFlags, result: ExploreResult, replay: string | null): string {
  const lines = [`explore ${protocol} on ${flags.clients} clients (${strategy}, ${flags.steps} controlled steps${strategy === 'pct' ? `, depth ${flags.depth}` : ''})`];
  lines.push(`  schedules tried: ${result.tried}${result.exhausted ? ' (every order within the bound)' : ''}`);
  if (result.bound !== null) {
    const pct = (x: number): string => `${(x * 100).toFixed(x < 0.01 ? 2 : 1)} %`;
    lines.push(`  PCT's bound: a depth-${flags.depth} bug shows in one schedule with probability at least 1/(n·k^(d-1)) = ${pct(result.bound.perSchedule)}; missed in all ${result.tried}: at most ${pct(result.bound.missAfter)}`);
  }
  if (result.first === null) lines.push('nothing found: every schedule tried ended with the clients making progress or waiting for their person');
  else lines.push(...failureLines(result.first), `repeat it: ${replay}`, `FAILED at schedule ${result.first.index + 1}`);
  return lines.join('\n') + '\n';
}

function failureLines(run: ScheduleRun): string[] {
  const free = run.freeOrder.map((o, i) => `    ${run.order.length + i + 1}. ${o} (free)`);
  return [`  first failing schedule: ${run.failure}`, '  its order:', ...run.order.map((o, i) => `    ${i + 1}. ${o}`), ...free, ...run.details.flatMap((d) => d.split('\n').map((l) => `    ${l}`))];
}

/** A `--var` value as a suite variable: a number when it reads as one. */
function suiteVars(given: Readonly<Record<string, string>> | undefined): Record<string, string | number> {
  return Object.fromEntries(Object.entries(given ?? {}).map(([k, v]) => [k, /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : v]));
}

/** The protocol the server speaks, checked: a stream protocol with a model oracle (exit 2 otherwise). */
function streamProtocolOf(protocol: string): string {
  const streams = builtinLiveProtocols.filter((l) => l.transport === 'tcp' && l.mapping !== undefined).map((l) => l.name);
  const live = liveProtocolNamed(protocol);
  if (live === undefined) throw new InputError(`explore --target: expected a protocol a server speaks (${streams.join(', ')}), got ${JSON.stringify(protocol)}`, 'usage');
  if (live.transport === 'http') throw new InputError(`explore --target: not for ${live.name} yet (a key-value server over HTTP); expected a stream protocol (${streams.join(', ')}); explore key-value client programs with --adapter`, 'usage');
  if (live.mapping === undefined) throw new InputError(`explore --target: ${live.name} has no server model to judge replies with; expected one of ${streams.join(', ')}`, 'usage');
  return live.name;
}

/** The suite the target and workload come from: --suite (its protocol checked), or none. */
function exploreSuite(protocol: string, flags: ExploreFlags, cwd: string): Suite | undefined {
  if (flags.suite === undefined) {
    if (flags.case !== undefined) throw new InputError('explore --target: --case needs --suite FILE (the suite the case is in)', 'usage');
    return undefined;
  }
  if (flags.case === undefined) throw new InputError(`explore --target --suite ${flags.suite}: expected --case ID (the case whose sends are the workload)`, 'usage');
  const suite = loadSuiteFile(resolve(cwd, flags.suite), flags.suite);
  if (suite.spec.protocol !== protocol) throw new InputError(`--suite: ${flags.suite} is a ${suite.spec.protocol} suite, not ${protocol}`, 'usage');
  return suite;
}

/** The target: --target (an address, or a target file), else the suite's. */
function exploreTargetOf(protocol: string, suite: Suite | undefined, flags: ExploreFlags, cwd: string): ResolvedTarget {
  const targetFile = targetFileOf(flags.target, protocol as SuiteFile['protocol'], cwd);
  const spec = { ...(suite?.spec ?? { kind: 'suite', version: 1, suite: 'explore', title: 'explore', protocol, cases: [] }) } as SuiteFile;
  if (targetFile !== undefined) spec.target = targetFile;
  const base: Suite = { file: suite?.file ?? '<explore>', spec, casePositions: [] };
  const address = flags.target !== undefined && targetFile === undefined ? flags.target : undefined;
  // over QUIC, each client's message proxy is a terminating QUIC proxy that holds whole messages
  return resolveTarget(base, { target: address, codec: flags.codec, framing: flags.framing, replyTimeoutMs: flags.replyTimeoutMs }, cwd);
}

/** `explore <protocol> --target`: a server's interleavings, through the proxy. */
async function exploreTargetCommand(ctx: CliContext, given: string, flags: ExploreFlags): Promise<void> {
  const protocol = streamProtocolOf(given);
  const cwd = ctx.io.cwd ?? process.cwd();
  const strategy = flags.choices !== undefined ? 'fixed' : flags.strategy;
  if (!['pct', 'exhaustive', 'fixed'].includes(strategy)) throw new InputError(`--strategy: expected pct, exhaustive or fixed, got ${JSON.stringify(strategy)}`, 'usage');
  if (flags.choices?.some((c) => typeof c === 'string')) throw new InputError('explore --target --choices: expected the indices a --target report prints (0.1.0); client names are for --adapter', 'usage');
  if (flags.format !== 'text' && flags.format !== 'json') throw new InputError(`--format: expected text or json, got ${JSON.stringify(flags.format)}`, 'usage');
  const suite = exploreSuite(protocol, flags, cwd);
  const target = exploreTargetOf(protocol, suite, flags, cwd);
  const lineCodec = liveCodecFor(protocol, target.codec, target.framing);
  if (lineCodec === null) throw new InputError(`--codec: ${protocol} has no codec ${target.codec}`, 'usage');
  const codec = target.transport === 'quic' ? quicObjectCodec(lineCodec) : lineCodec;
  const seed = flags.seed ?? Math.floor(Math.random() * 2 ** 31);
  let workload: TargetWorkload;
  if (suite !== undefined) workload = suiteWorkload(suite, flags.case!);
  else {
    const generator = fuzzGeneratorFor(protocol);
    if (generator === undefined) throw new InputError(`explore --target: no workload generator for ${protocol}; give --suite FILE --case ID`, 'usage');
    workload = generatedWorkload(generator, flags.clients, flags.steps, seed);
  }
  const vars = { ...workload.vars, ...suiteVars(flags.var) };
  if (flags.progress && (suite === undefined || strategy === 'pct')) ctx.io.stderr(`explore: seed ${seed}\n`);
  const result = await exploreTarget({
    target,
    workload,
    codec,
    mapping: (v) => serverMappingFor(protocol, v)!,
    vars,
    steps: flags.steps,
    kills: flags.kills,
    settleMs: flags.settleMs ?? targetSettleMs,
    replyTimeoutMs: target.replyTimeoutMs,
    limits: defaultConnectionLimits,
    strategy: strategy as 'pct' | 'exhaustive' | 'fixed',
    schedules: flags.schedules,
    depth: flags.depth,
    seed,
    ...(flags.choices ? { choices: flags.choices.map(Number) } : {}),
    onSchedule: (i, run) => {
      if (flags.progress) ctx.io.stderr(`schedule ${i + 1}: ${run.failure === null ? 'ok' : 'FAILED'} (${run.choices.join('.') || '-'})\n`);
    },
  });
  const replay = result.first === null ? null : targetReplay(protocol, flags, seed, result.first.choices);
  const header = { protocol, target: flags.target ?? target.description, strategy, steps: flags.steps, depth: flags.depth, kills: flags.kills, seed: suite === undefined || strategy === 'pct' ? seed : null };
  if (flags.format === 'json') ctx.io.stdout(JSON.stringify({ ...header, workload: { source: workload.source, clients: workload.clients, scripts: workload.scripts }, ...result, replay }, null, 2) + '\n');
  else ctx.io.stdout(renderTargetExplore(header, workload, result, replay));
  ctx.exitCode = result.unreachable !== undefined ? ExitCode.targetError : result.first === null ? ExitCode.ok : ExitCode.expectationFailed;
}

/** The command that repeats a schedule exactly: the same workload and target, its choices. */
function targetReplay(protocol: string, flags: ExploreFlags, seed: number, choices: readonly number[]): string {
  const parts = ['npx protosim explore', protocol];
  if (flags.target !== undefined) parts.push('--target', flags.target);
  if (flags.suite !== undefined) parts.push('--suite', flags.suite, '--case', flags.case!);
  else parts.push('--clients', String(flags.clients), '--seed', String(seed));
  parts.push('--steps', String(flags.steps));
  if (flags.kills > 0) parts.push('--kills', String(flags.kills));
  for (const [k, v] of Object.entries(flags.var ?? {})) parts.push('--var', `${k}=${v}`);
  if (flags.codec !== undefined) parts.push('--codec', flags.codec);
  if (flags.framing !== undefined) parts.push('--framing', flags.framing);
  if (flags.settleMs !== undefined) parts.push('--settle-ms', String(flags.settleMs));
  if (flags.replyTimeoutMs !== undefined) parts.push('--reply-timeout-ms', String(flags.replyTimeoutMs));
  parts.push('--choices', choices.join('.') || '0');
  return parts.join(' ');
}
