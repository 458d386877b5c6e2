/**
 * `protosim explore <protocol> --adapter FILE`: systematic testing of client programs'
 * interleavings (src/conformance/explore/): protosim plays the store and picks, at every point, which
 * waiting request goes next — PCT's randomized priorities (default), every order within the bound
 * (`--strategy exhaustive`), or a schedule given back (`--choices`). Prints the schedules tried, the
 * first failing one and the command that repeats it exactly. Exit 0 nothing found, 1 a schedule
 * failed, 2 bad input, 3 the programs could not be started.
 */
import { resolve } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { InputError } from '../../errors.js';
import { loadAdapterFile } from '../../conformance/clients/adapter.js';
import type { IoMode } from '../../conformance/clients/client-process.js';
import { exploreClients, type ExploreResult, type ScheduleRun } from '../../conformance/explore/explore-clients.js';
import { protosimLauncher } from '../../conformance/managed-process.js';
import { builtinPackages, protocolNamed } from '../../models/registry.js';
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
  choices?: number[];
  settleMs: number;
  observeMs: number;
  var?: Record<string, string>;
  io?: IoMode;
  format: string;
  progress: boolean;
}

const atLeast = (name: string, min: number) => (value: string): number => {
  const n = parseIntOption(name)(value);
  if (n < min) throw new InvalidArgumentError(`${name} must be at least ${min}, got ${value}`);
  return n;
};

function parseChoices(value: string): number[] {
  if (!/^\d+(\.\d+)*$/.test(value)) throw new InvalidArgumentError(`--choices: expected the choices a report prints, as 0.1.0, got ${JSON.stringify(value)}`);
  return value.split('.').map(Number);
}

export function registerExploreCommand(program: Command, ctx: CliContext): void {
  program
    .command('explore')
    .description("try the orders in which client programs' requests reach the store (key-value protocols): PCT's randomized priorities or every order within a bound; exit 1 when a schedule fails")
    .argument('<protocol>', 'the protocol the programs speak (lock-alternation, status-handshake)')
    .option('--adapter <file>', 'the client programs, through this adapter (docs/clients.md)')
    .option('--target <address>', 'not yet: explore a server through the proxy')
    .option('--strategy <name>', 'pct (randomized priorities), exhaustive (every order within --steps) or fixed (--choices)', 'pct')
    .option('--schedules <n>', 'the most schedules to try', atLeast('--schedules', 1), 100)
    .option('--depth <d>', 'pct: the bug depth the probability bound is for (d - 1 priority change points)', atLeast('--depth', 1), 2)
    .option('--steps <k>', 'decisions controlled per schedule (the requests ordered); after them requests go as they come', atLeast('--steps', 1), 8)
    .option('--clients <n>', 'client programs started at the same instant', atLeast('--clients', 1), 2)
    .option('--lines <n>', 'lines each client types, one at each prompt', parseIntOption('--lines'), 2)
    .option('--seed <n>', 'pct: the seed (schedule i uses seed + i)', parseIntOption('--seed'))
    .option('--choices <list>', 'repeat one schedule exactly: its choices as a report prints them (implies --strategy fixed)', parseChoices)
    .option('--settle-ms <n>', 'when a client is not asking, how long no request must come before a decision', parseIntOption('--settle-ms'), 150)
    .option('--observe-ms <n>', 'after the controlled steps, how long to watch (longer for slow pollers)', parseIntOption('--observe-ms'), 2500)
    .option('--var <name=value>', "set one of the adapter's vars (repeatable)", collectVar)
    .option('--io <mode>', 'pty, pipes or auto', parseIoMode)
    .option('--format <format>', 'text or json', 'text')
    .option('--no-progress', 'no line per schedule on stderr')
    .action(async (protocol: string, flags: ExploreFlags) => {
      if (flags.target !== undefined) throw new InputError('explore --target: exploring a server through the proxy is not built yet; explore client programs with --adapter', 'usage');
      if (flags.adapter === undefined) throw new InputError('explore: --adapter FILE is required (the client programs to explore)', 'usage');
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
        settleMs: flags.settleMs,
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
      const replay = result.first === null ? null : `npx protosim explore ${protocol} --adapter ${flags.adapter} --clients ${flags.clients} --steps ${flags.steps} --lines ${flags.lines} --choices ${result.first.choices.join('.') || '0'}`;
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
  return [`  first failing schedule: ${run.failure}`, '  its order:', ...run.order.map((o, i) => `    ${i + 1}. ${o}`), ...run.details.flatMap((d) => d.split('\n').map((l) => `    ${l}`))];
}
