/**
 * Protocols from outside the tree. A scenario's `protocol:` is a built-in protocol's name, or the
 * path of an ES module (`./my-protocol/index.js`, relative to the scenario file, or absolute) that
 * exports a protocol package: the same record the built-in packages are (src/models/package.ts).
 * `protosim check ./my-protocol/index.js` names one the same way, relative to the working folder.
 *
 * Loading is the one asynchronous step (a dynamic import): `loadProtocolModule` imports, checks the
 * export's shape (src/models/validate-package.ts) and adds the package to the registry, so the rest
 * of protosim finds it like a built-in one; `resolveProtocolRef` then reads it synchronously. Every
 * problem (no such file, the module throws while loading, an export of the wrong shape, a built-in's
 * name) is an InputError (exit 2) naming the file and what was expected, never a stack trace.
 */
import { existsSync, statSync } from 'node:fs';
import { register } from 'node:module';
import { dirname, isAbsolute, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { InputError } from '../errors.js';
import type { ProtocolPackage } from '../models/package.js';
import { builtinPackages, protocolNamed, protocolOrigin, registerProtocol } from '../models/registry.js';
import { packageProblems } from '../models/validate-package.js';
import { tryReadInputFile } from './input-file.js';

/** Most problems with an export listed in one error. */
const maxProblemsShown = 12;

/** What a protocol module must export, in words. */
export const expectedExport =
  'an ES module exporting a protocol package as its default export (export default defineProtocol({...}) from protosim/model) or as `protocol`';

/** Loaded modules by absolute path. */
const loaded = new Map<string, ProtocolPackage>();

/** The compiled resolve hook; from src/ (tests) and dist/ alike this resolves into dist/. */
const resolveHook = new URL('../../dist/scenario/protosim-resolve-hook.js', import.meta.url);
let hookRegistered = false;

/** Lets protocol modules import `protosim/...` from the protosim that runs them (protosim-resolve-hook.ts). */
function registerResolveHook(): void {
  if (hookRegistered) return;
  hookRegistered = true;
  if (existsSync(fileURLToPath(resolveHook))) register(resolveHook.href);
}

/** True when a protocol reference is a module path rather than a built-in name: `./x.js`, `../x`, `/abs/x.mjs`. */
export function isProtocolPath(ref: string): boolean {
  return ref.startsWith('./') || ref.startsWith('../') || isAbsolute(ref) || /\.(m?js|cjs)$/.test(ref);
}

/** The built-in protocols, for messages. */
export function builtinNames(): string[] {
  return builtinPackages.map((p) => p.name);
}

/** The export of a module that is the package: the default export, else `protocol`, else the only export that looks like one. */
function packageExport(module: Record<string, unknown>): unknown {
  if (module.default !== undefined) return module.default;
  if (module.protocol !== undefined) return module.protocol;
  const candidates = Object.values(module).filter((v) => typeof v === 'object' && v !== null && 'variants' in v);
  return candidates.length === 1 ? candidates[0] : undefined;
}

/** The first line of what a module threw, without its stack. */
function thrown(error: unknown): string {
  const text = error instanceof Error ? `${error.name === 'Error' ? '' : `${error.name}: `}${error.message}` : String(error);
  return text.split('\n')[0]!.slice(0, 300);
}

/**
 * Imports the module at `path` (absolute), checks its export and registers the package. `shownAs`
 * names it in messages (the reference as written, and where it is from).
 */
export async function loadProtocolModule(path: string, shownAs: string): Promise<ProtocolPackage> {
  const known = loaded.get(path);
  if (known !== undefined) return known;
  const where = `protocol module ${shownAs}`;
  if (!existsSync(path)) throw new InputError(`${where}: no such file (${path}); expected ${expectedExport}`, 'protocol-module');
  if (!statSync(path).isFile()) throw new InputError(`${where}: ${path} is not a file; expected ${expectedExport}`, 'protocol-module');
  let module: Record<string, unknown>;
  registerResolveHook();
  try {
    module = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  } catch (error) {
    throw new InputError(`${where}: loading it failed: ${thrown(error)} (${path})`, 'protocol-module');
  }
  const value = packageExport(module);
  if (value === undefined) {
    const names = Object.keys(module);
    throw new InputError(`${where}: expected ${expectedExport}; it exports ${names.length === 0 ? 'nothing' : names.join(', ')} (${path})`, 'protocol-module');
  }
  const problems = packageProblems(value);
  if (problems.length > 0) {
    const shown = problems.slice(0, maxProblemsShown).map((p) => `  ${p}`);
    if (problems.length > maxProblemsShown) shown.push(`  ... and ${problems.length - maxProblemsShown} more`);
    throw new InputError(`${where}: the export is not a protocol package (${path}):\n${shown.join('\n')}`, 'protocol-module');
  }
  const pkg = value as ProtocolPackage;
  const clash = registerProtocol(pkg, path);
  if (clash !== null) throw new InputError(`${where}: ${clash}`, 'protocol-module');
  loaded.set(path, pkg);
  return pkg;
}

/** The package a protocol reference names (synchronous: a module must have been loaded), or why there is none. */
export function resolveProtocolRef(ref: string, baseDir: string): ProtocolPackage | { problem: string } {
  if (isProtocolPath(ref)) {
    const path = resolve(baseDir, ref);
    const pkg = loaded.get(path);
    if (pkg !== undefined) return pkg;
    if (!existsSync(path)) return { problem: `no protocol module at ${JSON.stringify(ref)} (${path}); expected ${expectedExport}` };
    return { problem: `the protocol module ${JSON.stringify(ref)} (${path}) is not loaded; protosim run and check load it (this command reads built-in protocols only)` };
  }
  const pkg = protocolNamed(ref);
  return pkg ?? { problem: `unknown protocol ${JSON.stringify(ref)}; expected one of ${builtinNames().join(', ')}, or the path of a protocol module (./my-protocol/index.js)` };
}

/**
 * Loads the protocol module a scenario file names, if it names one (read from its `protocol:` line,
 * before the file is loaded). A problem is an InputError at the line of `protocol:`; a file that
 * cannot be read is left to the scenario loader to report.
 */
export async function loadScenarioProtocol(file: string, shownAs: string): Promise<void> {
  const text = tryReadInputFile(file);
  if (text === null) return;
  const m = /^protocol:[ \t]*(?:"([^"]+)"|'([^']+)'|([^\s#"'][^#\n]*?))[ \t]*(?:#.*)?$/m.exec(text);
  const ref = m?.[1] ?? m?.[2] ?? m?.[3];
  if (m === null || ref === undefined || !isProtocolPath(ref)) return;
  const line = text.slice(0, m.index).split('\n').length;
  const col = m[0].indexOf(ref) + (m[3] !== undefined ? 1 : 0);
  try {
    await loadProtocolModule(resolve(dirname(file), ref), ref);
  } catch (error) {
    if (error instanceof InputError) throw new InputError(`${shownAs}:${line}:${col}: protocol: ${error.message}`, error.code);
    throw error;
  }
}

/**
 * What an exception thrown while running a package from outside the tree is: a bug in that module
 * (a guard or an action that throws), reported as an input error naming the module and where in it,
 * not as protosim's internal error. Errors of built-in packages, and protosim's own, pass through.
 */
export async function withModuleErrors<T>(protocol: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    const origin = protocolOrigin(protocol);
    if (origin === undefined || error instanceof InputError || !(error instanceof Error)) throw error;
    const url = pathToFileURL(origin).href;
    const stacks = [error.stack ?? '', (error.cause as Error | undefined)?.stack ?? ''].join('\n');
    const where = stacks.split('\n').find((line) => line.includes(url) || line.includes(origin))?.trim().replace(/^at /, '');
    const message = error.message.split('\n').map((l) => l.trim()).filter((l) => l !== '').join(' ');
    throw new InputError(`protocol module ${origin}: the model threw while running (a bug in the module): ${message}${where !== undefined ? ` (at ${where})` : ''}`, 'protocol-module-error');
  }
}
