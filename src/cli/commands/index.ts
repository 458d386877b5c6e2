/**
 * Every command module registers itself here; one line per command keeps merges trivial.
 */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { registerServeCommand } from './serve.js';

export type CommandRegistrar = (program: Command, ctx: CliContext) => void;

export const commandRegistrars: CommandRegistrar[] = [
  registerServeCommand,
];
