/**
 * `protosim check <protocol>`: explores the protocol's default topology with its default faults,
 * expecting no finding, and reports in the same formats as `run`.
 */
import type { Command } from 'commander';
import { InputError } from '../../errors.js';
import { resolve } from 'node:path';
import { builtinPackages, protocolNamed } from '../../models/registry.js';
import type { ProtocolPackage } from '../../models/package.js';
import { defaultCheckSpec } from '../../scenario/check-scenario.js';
import { scenarioFromData, suggest } from '../../scenario/load.js';
import { isProtocolPath, loadProtocolModule, withModuleErrors } from '../../scenario/protocol-module.js';
import { renderRunReport } from '../render-run.js';
import type { CliContext } from '../context.js';
import { parseIntOption } from '../options.js';
import { addExploreOptions, renderOptions, replayExhaustivePath, runScenario, type RunOptions } from './run.js';
import { addReportOptions, writeReportsFor } from '../reports.js';
import { findFileById } from '../scenario-files.js';

interface CheckOptions extends RunOptions {
  clients?: number;
  rounds?: number;
}

export function registerCheckCommand(program: Command, ctx: CliContext): void {
  // The report options come first in the chain so that options added later merge cleanly.
  const command = addReportOptions(program.command('check'))
    .description("explore a protocol's default topology with its default faults; exit 1 when anything is found")
    .argument('<protocol>', `one of: ${builtinPackages.map((p) => p.name).join(', ')}; or protocol/variant (${builtinPackages[0]!.name}/fixed); or the path of a protocol module (./my-protocol/index.js)`)
    .option('--variant <name>', 'model variant (faithful or fixed)', 'faithful')
    .option('--clients <n>', 'number of clients', parseIntOption('--clients'))
    .option('--rounds <n>', 'messages each client types', parseIntOption('--rounds'))
    .option('--seed <n>', 'run exactly this seed', parseIntOption('--seed'))
    .option('--seeds <n>', 'number of seeds to explore', parseIntOption('--seeds'))
    .option('--seed-start <n>', 'first seed of the range', parseIntOption('--seed-start'))
    .option('--format <format>', 'text or json', 'text')
    .option('--trace-out <file>', 'where to write the trace of the shortest finding')
    .option('--no-save-trace', 'do not write the trace file')
    .option('--no-color', 'no colours even on a terminal');
  addExploreOptions(command).action(async (given: string, opts: CheckOptions) => {
      if (opts.format !== 'text' && opts.format !== 'json') throw new InputError(`--format: expected text or json, got ${JSON.stringify(opts.format)}`);
      const cwd = ctx.io.cwd ?? process.cwd();
      // A protocol from outside the tree: the path of its module, relative to the working folder.
      if (isProtocolPath(given) && /\.ya?ml$/i.test(given)) throw new InputError(`${given} is a scenario file, not a protocol: run it with \`protosim run ${given}\`; check takes a protocol's name or the path of its module (./my-protocol/index.js)`);
      const external: ProtocolPackage | undefined = isProtocolPath(given) ? await loadProtocolModule(resolve(cwd, given), given) : undefined;
      // `protocol/variant`, as `protosim list` prints it beside each scenario ([lock-alternation/fixed]).
      const slash = given.indexOf('/');
      const protocol = external?.name ?? (slash > 0 && protocolNamed(given.slice(0, slash))?.variants[given.slice(slash + 1)] !== undefined ? given.slice(0, slash) : given);
      if (external === undefined && protocol !== given) {
        const named = given.slice(slash + 1);
        if (command.getOptionValueSource('variant') === 'cli' && opts.variant !== named) throw new InputError(`${given} names variant ${named}; --variant ${opts.variant} says another`);
        opts.variant = named;
      }
      const model = external ?? protocolNamed(protocol);
      if (!model) {
        const names = builtinPackages.map((p) => p.name);
        const scenarioFile = findFileById(given, ctx.io.cwd ?? process.cwd());
        if (scenarioFile !== null) throw new InputError(`${given} is a scenario, not a protocol: run it with \`protosim run ${given}\`; check takes a protocol (${names.join(', ')}), optionally as protocol/variant`);
        throw new InputError(`unknown protocol ${JSON.stringify(given)}; expected one of ${names.join(', ')}, optionally as protocol/variant (${names[0]}/fixed), or the path of a protocol module (./my-protocol/index.js)${suggest(given, names)}`);
      }
      const variantName = opts.variant ?? 'faithful';
      const check = defaultCheckSpec(model, variantName, { ...(opts.clients !== undefined ? { clients: opts.clients } : {}), ...(opts.rounds !== undefined ? { rounds: opts.rounds } : {}) });
      if ('problem' in check) throw new InputError(model.variants[variantName] === undefined ? `--variant: ${check.problem}` : check.problem);
      const variant = model.variants[variantName]!;
      const clients = opts.clients ?? variant.defaults.clients;
      const rounds = opts.rounds ?? variant.defaults.rounds;
      const scenario = scenarioFromData(check.spec, `${protocol} defaults`);
      const scale = `${opts.clients !== undefined ? ` --clients ${clients}` : ''}${opts.rounds !== undefined ? ` --rounds ${rounds}` : ''}`;
      if (opts.path !== undefined) {
        ctx.io.stdout(replayExhaustivePath(scenario, { ...opts, variant: undefined }, ctx));
        return;
      }
      const replay = `npx protosim check ${external !== undefined ? given : protocol}${variant.name !== 'faithful' ? ` --variant ${variant.name}` : ''}${scale}`;
      const report = await withModuleErrors(model.name, () => runScenario(scenario, { ...opts, variant: undefined }, null, cwd, replay, ctx));
      if (opts.format === 'json') ctx.io.stdout(JSON.stringify(report, null, 2) + '\n');
      else ctx.io.stdout(renderRunReport(report, renderOptions(ctx, opts)));
      writeReportsFor(ctx, report, opts.report ?? []);
      ctx.exitCode = report.ok ? 0 : 1;
    });
}
