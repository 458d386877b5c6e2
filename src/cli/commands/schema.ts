/**
 * `protosim schema`: prints (or writes) the JSON Schema of scenario files, for editors.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { scenarioJsonSchema } from '../../scenario/schema.js';
import type { CliContext } from '../context.js';
import { writeOutputFile } from '../output-file.js';

export function registerSchemaCommand(program: Command, ctx: CliContext): void {
  program
    .command('schema')
    .description('print the JSON Schema of scenario files (for editor validation)')
    .option('-o, --out <file>', 'write it to a file instead')
    .action((opts: { out?: string }) => {
      const text = JSON.stringify(scenarioJsonSchema(), null, 2) + '\n';
      if (opts.out) writeOutputFile(resolve(ctx.io.cwd ?? process.cwd(), opts.out), text, `--out ${opts.out}`);
      else ctx.io.stdout(text);
    });
}
