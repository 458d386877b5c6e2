/**
 * `protosim init protocol NAME`: writes a working protocol package into ./NAME/ (init-template.ts):
 * a two-role XState model as the package record, a scenario that runs it, and a vitest test. It
 * never overwrites: a NAME that exists is bad input (exit 2). docs/models.md walks through the files.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import type { Command } from 'commander';
import { InputError } from '../../errors.js';
import { models } from '../../models/registry.js';
import { protocolNamePattern } from '../../models/validate-package.js';
import type { CliContext } from '../context.js';
import { protocolTemplate } from '../init-template.js';
import { writeOutputFile } from '../output-file.js';

/** protosim's own version, for the template's package.json. */
function protosimVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: string }).version ?? '0.1.0';
  } catch {
    return '0.1.0';
  }
}

export function registerInitCommand(program: Command, ctx: CliContext): void {
  const init = program.command('init').description('write a template to start from (protosim init protocol NAME)');
  init
    .command('protocol')
    .description('write a protocol package of your own into ./NAME/: a two-role XState model, a scenario and a test (docs/models.md)')
    .argument('<name>', 'the protocol\'s name and folder: lower-case letters, digits, ., _ or -')
    .action((name: string) => {
      if (!protocolNamePattern.test(name)) {
        throw new InputError(`init protocol: expected a name of lower-case letters, digits, ., _ or - (it names the folder and the protocol), got ${JSON.stringify(name)}`, 'invalid-name');
      }
      if (Object.hasOwn(models, name)) throw new InputError(`init protocol: ${name} is a built-in protocol's name; choose another`, 'invalid-name');
      const cwd = ctx.io.cwd ?? process.cwd();
      const dir = resolve(cwd, name);
      if (existsSync(dir)) throw new InputError(`init protocol: ${relative(cwd, dir) || dir} already exists; protosim init writes a new folder and never overwrites one (choose another name, or move it away)`, 'exists');
      try {
        mkdirSync(dir);
      } catch (error) {
        throw new InputError(`init protocol: cannot create ${name}/: ${(error as Error).message}`, 'cannot-write');
      }
      const files = protocolTemplate(name, protosimVersion());
      for (const [file, text] of Object.entries(files)) writeOutputFile(join(dir, file), text, `${name}/${file}`);
      ctx.io.stdout(
        [
          `wrote ${name}/: ${Object.keys(files).join(', ')}`,
          '',
          `  npx protosim run ${name}/scenario.yaml              run the scenario and check what it expects`,
          `  npx protosim check ./${name}/index.js               the default check: every default fault, nothing found`,
          `  npx protosim check ./${name}/index.js --variant no-dedupe    the flawed variant: the check finds it`,
          `  cd ${name} && npm install && npx vitest run         the tests (installs protosim and vitest there)`,
          '',
          'docs/models.md walks through the files: the package record, adding a role, an invariant, a flaw.',
          '',
        ].join('\n'),
      );
    });
}
