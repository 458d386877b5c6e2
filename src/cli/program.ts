/**
 * Builds the commander program and runs it in-process (STYLE 11): tests call `runCli` directly,
 * end-to-end tests spawn the binary. Errors are mapped to exit codes here and nowhere else.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { Command, CommanderError } from 'commander';
import { ProtosimError, ExitCode } from '../errors.js';
import { setWarningSink } from '../scenario/file-format.js';
import type { CliContext, CliIo } from './context.js';
import { commandRegistrars } from './commands/index.js';

export type { CliIo } from './context.js';

export function buildProgram(ctx: CliContext): Command {
  const program = new Command();
  program
    .name('protosim')
    .description('Simulate, model-check and conformance-test messaging protocols')
    .version('0.1.0')
    .exitOverride()
    .showHelpAfterError('(run `protosim --help` for usage)')
    .configureOutput({
      writeOut: (s) => ctx.io.stdout(s),
      writeErr: (s) => ctx.io.stderr(s),
      // One prefix for every error protosim prints: commander's usage errors too.
      outputError: (s, write) => write(s.replace(/^error: /, 'protosim: ')),
    });
  for (const register of commandRegistrars) register(program, ctx);
  return program;
}

/**
 * Warnings from the loaders (a file without kind/version) go to the stderr of the command that
 * read the file, each line once per command, even when commands run side by side in one process.
 */
const commandWarnings = new AsyncLocalStorage<(line: string) => void>();
setWarningSink((line) => commandWarnings.getStore()?.(line));

function onceEach(io: CliIo): (line: string) => void {
  const seen = new Set<string>();
  return (line) => {
    if (seen.has(line)) return;
    seen.add(line);
    io.stderr(`${line}\n`);
  };
}

/** Runs protosim with `argv` (without node and script) and returns the exit code. Never throws. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const ctx: CliContext = { io, exitCode: ExitCode.ok };
  const program = buildProgram(ctx);
  try {
    await commandWarnings.run(onceEach(io), () => program.parseAsync(argv, { from: 'user' }));
    return ctx.exitCode;
  } catch (error) {
    return exitCodeFor(error, io);
  }
}

function exitCodeFor(error: unknown, io: CliIo): number {
  if (error instanceof CommanderError) {
    // Help and version are "errors" to commander; they exit 0.
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') {
      return ExitCode.ok;
    }
    return ExitCode.invalidInput; // commander already printed the message
  }
  if (error instanceof ProtosimError) {
    io.stderr(`protosim: ${error.message}\n`);
    return error.exitCode;
  }
  const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
  io.stderr(`protosim: internal error (please report it):\n${detail}\n`);
  return ExitCode.internal;
}
