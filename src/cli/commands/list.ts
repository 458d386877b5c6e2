/**
 * `protosim list`: every protocol, variant and role, and every scenario with its title.
 */
import { relative, resolve } from 'node:path';
import type { Command } from 'commander';
import { models, protocolNamed } from '../../models/index.js';
import { protocolOrigin } from '../../models/registry.js';
import { InputError } from '../../errors.js';
import { loadScenarioProtocol } from '../../scenario/protocol-module.js';
import { loadScenarioFile, ScenarioError } from '../../scenario/load.js';
import type { CliContext } from '../context.js';
import { bundledScenariosDir, fileKindAt, findScenarioFiles, findSuiteFiles } from '../scenario-files.js';
import { loadSuiteFile } from '../../scenario/load-suite.js';
import { loadClientSuiteFile } from '../../conformance/clients/load-client-suite.js';

export function registerListCommand(program: Command, ctx: CliContext): void {
  program
    .command('list')
    .description('list the protocols, their variants and roles, and the scenarios')
    .option('--dir <dir>', 'scenario folder to list (default: protosim\'s own scenarios/)')
    .option('--format <format>', 'text or json', 'text')
    .action(async (opts: { dir?: string; format: string }) => {
      const cwd = ctx.io.cwd ?? process.cwd();
      const dir = opts.dir !== undefined ? resolve(cwd, opts.dir) : bundledScenariosDir;
      // Scenarios may name protocol modules (protocol: ./my-protocol/index.js): load them first, so
      // those scenarios list like any other and their protocols are listed too; a module that does
      // not load makes its scenario INVALID with the module's error.
      const scenarioFiles = findScenarioFiles(dir);
      const moduleProblems = new Map<string, string>();
      for (const file of scenarioFiles) {
        try {
          await loadScenarioProtocol(file, relative(cwd, file) || file);
        } catch (error) {
          if (!(error instanceof InputError)) throw error;
          moduleProblems.set(file, error.message.split('\n')[0]!);
        }
      }
      const scenarios = scenarioFiles.map((file) => {
        const shown = relative(cwd, file) || file;
        const moduleProblem = moduleProblems.get(file);
        if (moduleProblem !== undefined) return { file: shown, id: null, title: null, protocol: null, variant: null, tags: [], error: moduleProblem };
        try {
          const s = loadScenarioFile(file, shown);
          return { file: shown, id: s.spec.id, title: s.spec.title, protocol: s.model.name, variant: s.variant.name, tags: s.spec.tags ?? [], error: null };
        } catch (error) {
          const message = error instanceof ScenarioError ? error.message.split('\n')[0]! : String(error);
          return { file: shown, id: null, title: null, protocol: null, variant: null, tags: [], error: message };
        }
      });
      const fromModules = [...new Set(scenarios.map((s) => s.protocol).filter((p): p is string => p !== null && models[p] === undefined))];
      const protocols = [...Object.values(models), ...fromModules.map((name) => protocolNamed(name)!)].map((m) => ({
        name: m.name,
        summary: m.summary,
        source: m.source,
        ...(protocolOrigin(m.name) !== undefined ? { module: relative(cwd, protocolOrigin(m.name)!) || protocolOrigin(m.name)! } : {}),
        variants: Object.values(m.variants).map((v) => ({ name: v.name, summary: v.summary, roles: Object.keys(v.roles) })),
      }));
      const suites = findSuiteFiles(dir).map((file) => {
        const shown = relative(cwd, file) || file;
        try {
          // Client suites drive client programs through an adapter; server suites talk to a target.
          const s = fileKindAt(file) === 'client-suite' ? loadClientSuiteFile(file, shown) : loadSuiteFile(file, shown);
          return { file: shown, id: s.spec.suite, title: s.spec.title, protocol: s.spec.protocol, cases: s.spec.cases.length, error: null };
        } catch (error) {
          const message = error instanceof ScenarioError ? error.message.split('\n')[0]! : String(error);
          return { file: shown, id: null, title: null, protocol: null, cases: 0, error: message };
        }
      });
      if (opts.format === 'json') {
        ctx.io.stdout(JSON.stringify({ protocols, scenarios, suites }, null, 2) + '\n');
        return;
      }
      const lines: string[] = ['Protocols (protosim check PROTOCOL[/VARIANT]):'];
      for (const p of protocols) {
        lines.push(`  ${p.name} — ${p.summary}${p.module !== undefined ? ` (protocol module ${p.module})` : ''}`);
        for (const v of p.variants) lines.push(`    variant ${v.name}: ${v.summary} (roles: ${v.roles.join(', ')})`);
      }
      lines.push('', `Scenarios (${relative(cwd, dir) || dir}; protosim run ID or FILE):`);
      const width = Math.max(0, ...scenarios.map((s) => (s.id ?? '').length));
      for (const s of scenarios) {
        if (s.error) lines.push(`  ${s.file}: INVALID: ${s.error}`);
        else lines.push(`  ${s.id!.padEnd(width)}  ${s.title}  [${s.protocol}/${s.variant}]${s.tags.length ? ` {${s.tags.join(', ')}}` : ''}`);
      }
      if (suites.length > 0) {
        lines.push('', 'Conformance suites (protosim run SUITE [--target ADDRESS | --adapter FILE]):');
        for (const s of suites) {
          if (s.error) lines.push(`  ${s.file}: INVALID: ${s.error}`);
          else lines.push(`  ${s.file}  ${s.title}  [${s.protocol}, ${s.cases} cases]`);
        }
      }
      ctx.io.stdout(lines.join('\n') + '\n');
    });
}
