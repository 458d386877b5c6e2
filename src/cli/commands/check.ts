/**
 * `protosim check <protocol>`: explores the protocol's default topology with its default faults,
 * expecting no finding, and reports in the same formats as `run`.
 */
import type { Command } from 'commander';
import { InputError } from '../../errors.js';
import { models } from '../../models/index.js';
import { scenarioFromData, suggest } from '../../scenario/load.js';
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
    .argument('<protocol>', `one of: ${Object.keys(models).join(', ')}; or protocol/variant (lock-alternation/fixed)`)
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
      // `protocol/variant`, as `protosim list` prints it beside each scenario ([lock-alternation/fixed]).
      const slash = given.indexOf('/');
      const protocol = slash > 0 && models[given.slice(0, slash)]?.variants[given.slice(slash + 1)] !== undefined ? given.slice(0, slash) : given;
      if (protocol !== given) {
        const named = given.slice(slash + 1);
        if (command.getOptionValueSource('variant') === 'cli' && opts.variant !== named) throw new InputError(`${given} names variant ${named}; --variant ${opts.variant} says another`);
        opts.variant = named;
      }
      const model = models[protocol];
      if (!model) {
        const names = Object.keys(models);
        const scenarioFile = findFileById(given, ctx.io.cwd ?? process.cwd());
        if (scenarioFile !== null) throw new InputError(`${given} is a scenario, not a protocol: run it with \`protosim run ${given}\`; check takes a protocol (${names.join(', ')}), optionally as protocol/variant`);
        throw new InputError(`unknown protocol ${JSON.stringify(given)}; expected one of ${names.join(', ')}, optionally as protocol/variant (lock-alternation/fixed)${suggest(given, names)}`);
      }
      const variant = model.variants[opts.variant ?? 'faithful'];
      if (!variant) throw new InputError(`--variant: ${protocol} has no variant ${JSON.stringify(opts.variant)}; it has ${Object.keys(model.variants).join(', ')}`);
      const d = variant.defaults;
      const clients = opts.clients ?? d.clients;
      const rounds = opts.rounds ?? d.rounds;
      if (clients < 1) throw new InputError('--clients must be at least 1');
      const topology = d.topology({ clients, rounds });
      const spec = {
        id: `check/${protocol}`,
        title: `default check of ${protocol} (${variant.name}): ${clients} clients, ${rounds} rounds`,
        protocol,
        variant: variant.name,
        tags: ['check'],
        nodes: topology.nodes,
        workload: topology.workload,
        ...(d.scenario ?? {}),
        expect: { violations: 'none' },
      };
      const scenario = scenarioFromData(spec, `${protocol} defaults`);
      const cwd = ctx.io.cwd ?? process.cwd();
      const scale = `${opts.clients !== undefined ? ` --clients ${clients}` : ''}${opts.rounds !== undefined ? ` --rounds ${rounds}` : ''}`;
      if (opts.path !== undefined) {
        ctx.io.stdout(replayExhaustivePath(scenario, { ...opts, variant: undefined }, ctx));
        return;
      }
      const report = await runScenario(scenario, { ...opts, variant: undefined }, null, cwd, `npx protosim check ${protocol}${variant.name !== 'faithful' ? ` --variant ${variant.name}` : ''}${scale}`, ctx);
      if (opts.format === 'json') ctx.io.stdout(JSON.stringify(report, null, 2) + '\n');
      else ctx.io.stdout(renderRunReport(report, renderOptions(ctx, opts)));
      writeReportsFor(ctx, report, opts.report ?? []);
      ctx.exitCode = report.ok ? 0 : 1;
    });
}
