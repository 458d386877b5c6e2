/**
 * `protosim adapter check <adapter.yaml>`: starts the adapter's program against a fresh protosim
 * server (or `--url`), plays a short session and reports which patterns matched and which never
 * did (exit 0 when every pattern the session provokes matched, 1 otherwise, 2 for a bad adapter,
 * 3 when the program or server cannot be started).
 */
import { resolve } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { InputError } from '../../errors.js';
import { loadAdapterFile } from '../../conformance/clients/adapter.js';
import { patternKinds } from '../../conformance/clients/adapter-schema.js';
import { checkAdapter, type AdapterCheckResult } from '../../conformance/clients/adapter-check.js';
import type { IoMode } from '../../conformance/clients/client-process.js';
import { protosimLauncher } from '../../conformance/managed-process.js';
import { parseTargetAddress } from '../../scenario/target-address.js';
import type { CliContext } from '../context.js';

/** `--var name=value`, repeatable. */
export function collectVar(value: string, previous: Record<string, string> | undefined): Record<string, string> {
  const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(value);
  if (m === null) throw new InvalidArgumentError(`--var expects name=value, got ${JSON.stringify(value)}`);
  return { ...(previous ?? {}), [m[1]!]: m[2]! };
}

export function parseIoMode(value: string): IoMode {
  if (value !== 'pty' && value !== 'pipes' && value !== 'auto') throw new InvalidArgumentError(`--io: expected pty, pipes or auto, got ${JSON.stringify(value)}`);
  return value;
}

/** A loopback URL, or a usage error. */
export function checkUrl(url: string): string {
  const parsed = parseTargetAddress(url);
  if (typeof parsed === 'string') throw new InputError(`--url: ${parsed}`, 'invalid-option');
  return url;
}

interface AdapterCheckFlags {
  url?: string;
  var?: Record<string, string>;
  io?: IoMode;
  format: string;
}

export function registerAdapterCommand(program: Command, ctx: CliContext): void {
  const adapter = program.command('adapter').description('work with adapter files (how protosim drives a client program)');
  adapter
    .command('check')
    .description('start the program of an adapter, play a short session, and report which output patterns matched')
    .argument('<adapter>', 'adapter file (YAML), e.g. adapters/lock-alternation.yaml')
    .option('--url <url>', 'a server already running (loopback); default: protosim provides one')
    .option('--var <name=value>', "set one of the adapter's vars (repeatable)", collectVar)
    .option('--io <mode>', 'pty, pipes or auto (default: the adapter says, usually auto)', parseIoMode)
    .option('--format <format>', 'text or json', 'text')
    .action(async (file: string, opts: AdapterCheckFlags) => {
      if (opts.format !== 'text' && opts.format !== 'json') throw new InputError(`--format: expected text or json, got ${JSON.stringify(opts.format)}`);
      const cwd = ctx.io.cwd ?? process.cwd();
      const loaded = loadAdapterFile(resolve(cwd, file), file);
      const result = await checkAdapter({
        adapter: loaded,
        ...(opts.url !== undefined ? { url: checkUrl(opts.url) } : {}),
        ...(opts.var ? { vars: opts.var } : {}),
        ...(opts.io ? { io: opts.io } : {}),
        protosimLauncher: protosimLauncher(),
      });
      if (opts.format === 'json') ctx.io.stdout(JSON.stringify(result, null, 2) + '\n');
      else ctx.io.stdout(renderAdapterCheck(result, file));
      ctx.exitCode = result.ok ? 0 : 1;
    });
}

export function renderAdapterCheck(r: AdapterCheckResult, file: string): string {
  const lines: string[] = [];
  lines.push(`adapter ${r.adapter} (${file})`);
  lines.push(`  server: ${r.server}`);
  lines.push(`  io: ${r.io}`);
  lines.push('  patterns:');
  const width = Math.max(...Object.keys(patternKinds).map((k) => k.length));
  for (const o of r.outcomes) {
    const name = o.kind.padEnd(width);
    switch (o.status) {
      case 'matched':
        lines.push(`    ok     ${name}  ${o.client}: ${JSON.stringify(o.line)}`);
        break;
      case 'never':
        lines.push(`    NEVER  ${name}  never matched (the session should have shown one)`);
        break;
      case 'not-exercised':
        lines.push(`    -      ${name}  not seen (adapter check does not provoke it)`);
        break;
      case 'absent':
        lines.push(`    .      ${name}  no pattern`);
        break;
    }
  }
  for (const p of r.problems) lines.push(`  problem: ${p}`);
  const unmatched = Object.entries(r.unmatched).filter(([, l]) => l.length > 0);
  if (unmatched.length > 0) {
    lines.push('  lines no pattern matched:');
    for (const [client, ls] of unmatched) for (const l of ls.slice(0, 8)) lines.push(`    ${client}: ${JSON.stringify(l)}`);
  }
  if (!r.ok) {
    lines.push('  output of each client (last lines):');
    for (const [client, tail] of Object.entries(r.tails)) {
      lines.push(`    --- ${client}`);
      for (const l of tail.split('\n')) lines.push(`    ${l}`);
    }
  }
  lines.push(r.ok ? 'adapter check passed' : 'adapter check FAILED');
  return lines.join('\n') + '\n';
}
