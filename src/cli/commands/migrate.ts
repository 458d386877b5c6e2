/**
 * `protosim migrate FILE…`: rewrites files written for protosim 0.x in the current format, in place:
 * `kind:` and `version:` become the first keys of a YAML file (comments and formatting kept), and
 * a trace's header line gets `"protosim":1`. One line per file: migrated, already current,
 * or the error (at its file:line:col). A file is only written once its fields are those of the
 * kind it was given. Exit 0 when every file is fine, 2 when one is bad input; `--check` writes nothing and
 * exits 1 when a file needs migrating (for CI).
 */
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { ExitCode, InputError, ProtosimError } from '../../errors.js';
import type { z } from 'zod';
import { adapterSchema } from '../../conformance/clients/adapter-schema.js';
import { clientSuiteSchema } from '../../conformance/clients/client-suite-schema.js';
import { fileFormats, readTraceHeader, yamlFileKinds, type FileKind, type YamlFileKind } from '../../scenario/file-format.js';
import { readInputFile } from '../../scenario/input-file.js';
import { parseYamlMapping, ScenarioError, zodIssue } from '../../scenario/load.js';
import { migrateYamlText } from '../../scenario/migrate-format.js';
import { scenarioSchema } from '../../scenario/schema.js';
import { suiteSchema } from '../../scenario/suite-schema.js';
import { targetMappingSchema } from '../../scenario/target-schema.js';
import { submissionManifestSchema } from '../../conformance/grading/submission-manifest-schema.js';
import { canonicalJson } from '../../sim/canonical-json.js';
import type { CliContext } from '../context.js';
import { describeWriteError } from '../output-file.js';

interface MigrateFlags {
  check?: boolean;
  kind?: YamlFileKind;
}

/** What happened to one file. */
type Outcome = { status: 'migrated' | 'needs' | 'current'; line: string } | { status: 'error'; line: string };

export function registerMigrateCommand(program: Command, ctx: CliContext): void {
  program
    .command('migrate')
    .description('add kind and version to files written for protosim 0.x (scenarios, suites, adapters, target files, grading manifests, traces), in place, keeping comments and formatting')
    .argument('<files...>', 'files, or folders (every *.yaml, *.yml and *.jsonl in them)')
    .option('--check', 'report without writing; exit 1 when a file needs migrating (for CI)')
    .addOption(new Option('--kind <kind>', 'the kind of a file that does not say and whose fields do not tell').choices([...yamlFileKinds]))
    .action((given: string[], flags: MigrateFlags) => {
      const cwd = ctx.io.cwd ?? process.cwd();
      const files = given.flatMap((g) => expand(resolve(cwd, g), g));
      let errors = 0;
      let needs = 0;
      for (const { path, shown } of files) {
        const outcome = migrateFile(path, shown, flags);
        if (outcome.status === 'error') {
          errors++;
          ctx.io.stderr(`protosim: ${outcome.line}\n`);
        } else {
          if (outcome.status === 'needs') needs++;
          ctx.io.stdout(`${outcome.line}\n`);
        }
      }
      ctx.exitCode = errors > 0 ? ExitCode.invalidInput : needs > 0 ? ExitCode.expectationFailed : ExitCode.ok;
    });
}

/** A folder becomes the files in it protosim reads (sorted, recursively; hidden folders and node_modules left out). */
function expand(path: string, shown: string): { path: string; shown: string }[] {
  let isDir = false;
  try {
    isDir = statSync(path).isDirectory();
  } catch {
    // A missing file is reported by migrateFile, with the others.
  }
  if (!isDir) return [{ path, shown }];
  const out: { path: string; shown: string }[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) {
        if (!name.startsWith('.') && name !== 'node_modules') walk(p);
      } else if (/\.(ya?ml|jsonl)$/.test(name)) out.push({ path: p, shown: join(shown, relative(path, p)) });
    }
  };
  walk(path);
  return out;
}

function migrateFile(path: string, shown: string, flags: MigrateFlags): Outcome {
  try {
    const result = /\.jsonl$/.test(path) ? migrateTrace(path, shown) : migrateYaml(path, shown, flags.kind);
    if (result.status === 'current') return { status: 'current', line: `${shown}: already current (${result.what})` };
    if (flags.check) return { status: 'needs', line: `${shown}: needs migrating: would add ${result.what}` };
    try {
      writeFileSync(path, result.text);
    } catch (error) {
      return { status: 'error', line: `${shown}: cannot write the file: ${describeWriteError(error)}` };
    }
    return { status: 'migrated', line: `${shown}: migrated: added ${result.what}` };
  } catch (error) {
    if (error instanceof ScenarioError) {
      const [first, ...more] = error.message.split('\n');
      return { status: 'error', line: `${first}${more.length > 0 ? ` (and ${more.length} more problem${more.length === 1 ? '' : 's'})` : ''}` };
    }
    if (error instanceof ProtosimError) return { status: 'error', line: error.message };
    throw error;
  }
}

type FileResult = { status: 'current'; what: string } | { status: 'migrated'; what: string; text: string };

function migrateYaml(path: string, shown: string, kindIfUnsaid: YamlFileKind | undefined): FileResult {
  const text = readInputFile(path, shown, 'file');
  const m = migrateYamlText(text, shown, kindIfUnsaid);
  if (m.status === 'current') return { status: 'current', what: `kind: ${m.kind}, version: ${m.version}` };
  // Written only when it has the fields of that kind: a wrong guess, or a misspelt field, is reported instead.
  fitsKind(m.kind, m.text, shown);
  return { status: 'migrated', what: m.added.map((k) => (k === 'kind' ? `kind: ${m.kind}` : `version: ${m.version}`)).join(', '), text: m.text };
}

/** The schema of each kind's fields (what a loader checks first, before the names in it). */
const schemaOf: Record<YamlFileKind, z.ZodType> = {
  scenario: scenarioSchema,
  suite: suiteSchema,
  'client-suite': clientSuiteSchema,
  adapter: adapterSchema,
  target: targetMappingSchema,
  manifest: submissionManifestSchema,
};

/**
 * Checks that `text` has the fields of a `kind` file; throws its ScenarioError. Only the fields:
 * what they name (a protocol module, an adapter's program) is for the commands that use the file.
 */
function fitsKind(kind: YamlFileKind, text: string, shown: string): void {
  const { data, locate } = parseYamlMapping(text, shown, `expected a ${kind} mapping`, kind);
  const schema = schemaOf[kind];
  const parsed = schema.safeParse(data, { reportInput: true });
  if (!parsed.success) throw new ScenarioError(parsed.error.issues.map((issue) => zodIssue(issue, shown, locate, schema)));
}

/** A trace: its header line says `"k":"header"` (a trace) and `"protosim":N` (the version). */
function migrateTrace(path: string, shown: string): FileResult {
  const text = readInputFile(path, shown, 'trace', 'maxTraceFileBytes');
  const newline = text.indexOf('\n');
  const firstLine = newline < 0 ? text : text.slice(0, newline);
  let header: unknown;
  try {
    header = JSON.parse(firstLine);
  } catch {
    header = null;
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header) || (header as { k?: unknown }).k !== 'header') {
    throw new InputError(`${shown}:1:1: the first line is not a protosim trace header (expected {"k":"header","protosim":${fileFormats.trace.version},...})`);
  }
  const kind: FileKind = 'trace';
  const format = readTraceHeader(header as Record<string, unknown>, firstLine, shown);
  if (format.declared) return { status: 'current', what: `${kind}, protosim: ${format.version}` };
  const migrated = canonicalJson({ ...(header as Record<string, unknown>), protosim: fileFormats.trace.version });
  return { status: 'migrated', what: `"protosim":${fileFormats.trace.version} to the header line`, text: migrated + text.slice(firstLine.length) };
}
