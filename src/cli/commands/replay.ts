/**
 * `protosim replay <trace>`: re-runs a recorded trace from its header and confirms the run is
 * byte-identical (exit 0), or shows the first difference (exit 1).
 */
import { fileFormats, readTraceHeader, warnIfUndeclared } from '../../scenario/file-format.js';
import { readInputFile } from '../../scenario/input-file.js';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { InputError } from '../../errors.js';
import { protocolNamed } from '../../models/index.js';
import type { ModelVariant } from '../../models/types.js';
import { isProtocolPath, loadProtocolModule, withModuleErrors } from '../../scenario/protocol-module.js';
import { PathError, replayPath } from '../../sim/explore/exhaustive.js';
import { CompiledModel, simulate } from '../../sim/simulator.js';
import { traceToJsonl, type TraceEvent, type TraceHeader } from '../../sim/trace.js';
import { renderTrace } from '../../report/text.js';
import type { CliContext } from '../context.js';
import { parseIntOption } from '../options.js';
import { collectVar, parseIoMode } from './adapter.js';
import { replayLiveOnClients, replayLiveOnServer, type LiveReplayFlags, type ServerReplayFlags } from '../live-replay.js';
import { parseTimeScale } from './run.js';

export function registerReplayCommand(program: Command, ctx: CliContext): void {
  program
    .command('replay')
    .description('re-run a trace file and confirm the run is identical, event for event')
    .argument('<trace>', 'trace file (JSON lines) written by protosim run')
    .option('--protocol <module>', "the protocol module (./my-protocol/index.js) of a trace whose protocol is not built in: the one its scenario's protocol: names")
    .option('--show', 'print the replayed trace')
    .option('--no-color', 'no colours')
    .option('--adapter <file>', 'replay live on client programs driven through this adapter (the key-value protocols, and chat protocols whose package says how: protosim plays the server); exit 0 when the live system shows the same failure')
    .option('--var <name=value>', "live replay: set one of the adapter's vars (repeatable)", collectVar)
    .option('--io <mode>', 'live replay: pty, pipes or auto', parseIoMode)
    .option('--observe-ms <n>', 'live replay: how long to watch after the last step', parseIntOption('--observe-ms'))
    .option('--step-timeout-ms <n>', 'live replay: how long one step may take live', parseIntOption('--step-timeout-ms'))
    .option('--format <format>', 'live replay: text or json', 'text')
    .option('--target <address|file>', 'replay live against this server (tcp://127.0.0.1:PORT, http://127.0.0.1:PORT/path for the key-value protocols), or against the server a target file starts (YAML: command: [...], port: auto, ready: {...}, as a suite\'s target:); its clients played from their models; exit 0 when the live system shows the same failure')
    .option('--codec <codec>', 'live replay against a server: json-lines, gob, protobuf or im-http; on chat client programs (--adapter): the codec they speak (default the protocol\'s first)')
    .option('--framing <framing>', 'live replay against a server or on chat client programs, protobuf: length-delimited or raw')
    .option('--time-scale <x>', 'live replay against a server: real ms per model ms (default 1)', parseTimeScale)
    .option('--reply-timeout-ms <n>', 'live replay against a server: how long a request may wait for its reply', parseIntOption('--reply-timeout-ms'))
    .action(async (file: string, opts: ReplayOptions) => {
      const { header, text, format } = readTrace(ctx, file);
      const { model, variant } = await protocolOfTrace(ctx, file, header, opts);
      warnIfUndeclared(format, file);
      if (opts.adapter !== undefined && opts.target !== undefined) throw new InputError('--adapter and --target: replay on client programs (--adapter) or against a server (--target), not both');
      if (opts.adapter !== undefined) {
        await replayLiveOnClients(ctx, file, header, text, opts);
        return;
      }
      if (opts.target !== undefined) {
        await replayLiveOnServer(ctx, file, header, text, opts);
        return;
      }
      await replayInModel(ctx, file, header, text, opts, model.name, variant);
    });
}

type ReplayOptions = { show?: boolean; color: boolean; protocol?: string } & LiveReplayFlags & ServerReplayFlags;

/** The trace file's text, its header and the format it declares; a file that is not a trace is an InputError. */
function readTrace(ctx: CliContext, file: string): { header: TraceHeader; text: string; format: ReturnType<typeof readTraceHeader> | null } {
  const path = resolve(ctx.io.cwd ?? process.cwd(), file);
  const text = readInputFile(path, file, 'trace', 'maxTraceFileBytes');
  const firstLine = text.split('\n', 1)[0] ?? '';
  let header: TraceHeader;
  try {
    header = JSON.parse(firstLine) as TraceHeader;
  } catch {
    throw new InputError(`${file}:1:1: expected a trace header (a JSON object on the first line), got ${JSON.stringify(firstLine.slice(0, 60))}`);
  }
  // `"k":"header"` says it is a trace, `"protosim":N` which version of the format: read first,
  // since a newer format may differ in everything else.
  const format = header?.k === 'header' ? readTraceHeader(header as unknown as Record<string, unknown>, firstLine, file) : null;
  if (header?.k !== 'header' || typeof header.seed !== 'number' || typeof header.config !== 'object' || header.config === null) {
    throw new InputError(`${file}:1:1: the first line is not a protosim trace header (expected {"k":"header","protosim":${fileFormats.trace.version},"seed":...,"config":...})`);
  }
  return { header, text, format };
}

/** The trace's protocol and variant (a protocol module's with --protocol), or an InputError saying what is missing. */
async function protocolOfTrace(ctx: CliContext, file: string, header: TraceHeader, opts: ReplayOptions) {
  if (opts.protocol !== undefined) {
    if (!isProtocolPath(opts.protocol)) throw new InputError(`--protocol ${opts.protocol}: expected the path of a protocol module (./my-protocol/index.js); built-in protocols need no --protocol`, 'usage');
    const pkg = await loadProtocolModule(resolve(ctx.io.cwd ?? process.cwd(), opts.protocol), opts.protocol);
    if (pkg.name !== header.config.protocol) {
      throw new InputError(`--protocol ${opts.protocol}: the module is protocol ${JSON.stringify(pkg.name)}, but ${file} is a trace of ${JSON.stringify(header.config.protocol)}`, 'protocol-module');
    }
  }
  const model = protocolNamed(header.config.protocol);
  const variant = model?.variants[header.config.variant];
  if (!model) {
    throw new InputError(
      `${file}:1:1: the trace names protocol ${JSON.stringify(header.config.protocol)}, which is not built in; a trace of a protocol module replays with that module: protosim replay ${file} --protocol ./${header.config.protocol}/index.js (the path its scenario's protocol: names)`,
      'unknown-protocol',
    );
  }
  if (!variant) {
    throw new InputError(`${file}:1:1: the trace names protocol ${JSON.stringify(header.config.protocol)} variant ${JSON.stringify(header.config.variant)}, which this protosim does not have (variants: ${Object.keys(model.variants).join(', ')})`);
  }
  return { model, variant };
}

/** Re-runs the trace in the model and compares it line by line with the file. */
async function replayInModel(ctx: CliContext, file: string, header: TraceHeader, text: string, opts: ReplayOptions, protocol: string, variant: ModelVariant): Promise<void> {
  const compiled = new CompiledModel(protocol, variant);
  let replayed: string;
  let events: TraceEvent[];
  let ended: string;
  if (header.exhaustive) {
    // An exhaustive finding: the untimed replay of its choice path.
    const { path, faultBudget } = header.exhaustive;
    let out: ReturnType<typeof replayPath>;
    try {
      out = replayPath(compiled, header.config, faultBudget, path);
    } catch (error) {
      if (error instanceof PathError) throw new InputError(`${file}:1:1: the trace's choice path does not fit its scenario: ${error.message}`);
      throw error;
    }
    events = [...out.trace, { k: 'end', t: path.length, reason: 'finding' }];
    replayed = traceToJsonl(header, events);
    ended = `the end of its ${path.length}-step choice path`;
  } else {
    const result = await withModuleErrors(protocol, async () => simulate(compiled, header.config, header.seed, { trace: true }));
    events = result.trace;
    replayed = traceToJsonl(result.header, result.trace);
    ended = result.endReason;
  }
  const expectedLines = text.trimEnd().split('\n');
  const gotLines = replayed.trimEnd().split('\n');
  if (opts.show) ctx.io.stdout(renderTrace(events, { color: opts.color && (ctx.io.isTTY ?? false), steps: header.exhaustive !== undefined }) + '\n');
  for (let i = 0; i < Math.max(expectedLines.length, gotLines.length); i++) {
    if (expectedLines[i] !== gotLines[i]) {
      ctx.io.stdout(
        `replay DIFFERS at line ${i + 1} of ${file}:\n  recorded: ${expectedLines[i] ?? '(end of file)'}\n  replayed: ${gotLines[i] ?? '(end of run)'}\n`,
      );
      ctx.exitCode = 1;
      return;
    }
  }
  ctx.io.stdout(`replay identical: ${gotLines.length - 1} events, seed=${header.seed}, ${header.config.protocol} (${header.config.variant}), ended ${ended}\n`);
  ctx.exitCode = 0;

}
