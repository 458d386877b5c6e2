/**
 * Every command module registers itself here; one line per command keeps merges trivial.
 */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { registerAdapterCommand } from './adapter.js';
import { registerCheckCommand } from './check.js';
import { registerGradeCommand } from './grade.js';
import { registerInitCommand } from './init.js';
import { registerListCommand } from './list.js';
import { registerMergeCommand } from './merge.js';
import { registerMigrateCommand } from './migrate.js';
import { registerReplayCommand } from './replay.js';
import { registerRunCommand } from './run.js';
import { registerSchemaCommand } from './schema.js';
import { registerFuzzCommand } from './fuzz.js';
import { registerServeCommand } from './serve.js';
import { registerExploreCommand } from './explore.js';

export type CommandRegistrar = (program: Command, ctx: CliContext) => void;

export const commandRegistrars: CommandRegistrar[] = [
  registerRunCommand,
  registerCheckCommand,
  registerReplayCommand,
  registerListCommand,
  registerSchemaCommand,
  registerMergeCommand,
  registerServeCommand,
  registerAdapterCommand,
  registerGradeCommand,
  registerMigrateCommand,
  registerInitCommand,
  registerFuzzCommand,
  registerExploreCommand,
];
