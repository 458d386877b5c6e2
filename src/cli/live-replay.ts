/**
 * `protosim replay <trace> --adapter <file>`: drives live client programs through a model
 * counterexample's steps and faults in the same order and reports whether the live system shows the
 * same failure (exit 0 when it does, 1 when it does not, 2 for bad input, 3 when the programs
 * cannot be started).
 */
import { resolve } from 'node:path';
import { InputError } from '../errors.js';
import { loadAdapterFile } from '../conformance/clients/adapter.js';
import type { IoMode } from '../conformance/clients/clientProcess.js';
import { replayOnClients } from '../conformance/clients/replayOnClients.js';
import { protosimLauncher } from '../conformance/managedProcess.js';
import { models } from '../models/index.js';
import type { TraceEvent, TraceHeader } from '../sim/trace.js';
import type { CliContext } from './context.js';

export interface LiveReplayFlags {
  adapter?: string;
  var?: Record<string, string>;
  io?: IoMode;
  observeMs?: number;
  stepTimeoutMs?: number;
  format?: string;
}

const kvProtocols = new Set(['lock-alternation', 'status-handshake']);

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

export async function replayLiveOnClients(ctx: CliContext, file: string, header: TraceHeader, text: string, flags: LiveReplayFlags): Promise<void> {
  const protocol = header.config.protocol;
  if (!kvProtocols.has(protocol)) {
    throw new InputError(
      `--adapter: replaying a ${protocol} trace on client programs needs protosim to play its ${protocol} server; it does that for the key-value protocols (lock-alternation, status-handshake). ` +
        `For ${protocol}, run the whole system live instead (a suite with a server command, docs/clients.md) or replay against the server with --target.`,
    );
  }
  const cwd = ctx.io.cwd ?? process.cwd();
  const adapter = loadAdapterFile(resolve(cwd, flags.adapter!), flags.adapter!);
  if (adapter.spec.protocol !== protocol) throw new InputError(`--adapter: ${adapter.spec.adapter} drives ${adapter.spec.protocol} clients; the trace is of ${protocol}`);
  const events = traceEvents(text, file);
  const variant = models[protocol]?.variants.faithful;
  const result = await replayOnClients(header, events, {
    adapter,
    variant,
    protosimLauncher: protosimLauncher(),
    ...(flags.var ? { vars: flags.var } : {}),
    ...(flags.io ? { io: flags.io } : {}),
    ...(flags.observeMs !== undefined ? { observeMs: flags.observeMs } : {}),
    ...(flags.stepTimeoutMs !== undefined ? { stepTimeoutMs: flags.stepTimeoutMs } : {}),
  });
  if (flags.format === 'json') ctx.io.stdout(JSON.stringify(result, null, 2) + '\n');
  else {
    const lines = [
      `live replay of ${file} (${protocol}, seed ${header.seed}) on ${adapter.spec.adapter}`,
      `  the model found: ${result.expected}`,
      `  steps carried out live: ${result.stepsDone}/${result.stepsTotal}${result.divergence ? ` (the live run left the trace: ${result.divergence})` : ''}`,
      `  the live system: ${result.observed}`,
      ...result.details.flatMap((d) => d.split('\n').map((l) => `    ${l}`)),
      result.reproduced ? 'REPRODUCED: the live system shows the same failure' : 'NOT REPRODUCED: the live system does not show the failure',
    ];
    ctx.io.stdout(lines.join('\n') + '\n');
  }
  ctx.exitCode = result.reproduced ? 0 : 1;
}
