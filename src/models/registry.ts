/**
 * The one registry of protocols: every layer finds a protocol's package here, by name, and reads
 * what it needs from the record (its model, codecs, oracle mapping, client wire, server, suite and
 * adapter facts). Nothing else in protosim lists the protocols or switches on their names.
 *
 * The built-in packages are listed below; packages loaded from outside the tree (a scenario's
 * `protocol: ./my-protocol/index.js`, src/scenario/protocol-module.ts) are added with
 * `registerProtocol` and found the same way for the rest of the process.
 */
import { lockAlternation } from './lock-alternation/index.js';
import { offlineQueue } from './offline-queue/index.js';
import type { LiveProtocol, ProtocolPackage } from './package.js';
import { pingLiveness } from './ping-liveness/index.js';
import { registerExit } from './register-exit/index.js';
import { statusHandshake } from './status-handshake/index.js';

/** The built-in packages, in the order of docs/protocols.md. */
export const builtinPackages: readonly ProtocolPackage[] = [lockAlternation, statusHandshake, pingLiveness, registerExit, offlineQueue];

/** The built-in packages by name. */
export const models: Readonly<Record<string, ProtocolPackage>> = Object.fromEntries(builtinPackages.map((p) => [p.name, p]));

/** Packages from outside the tree, by name, with the module each came from. */
const external = new Map<string, { pkg: ProtocolPackage; origin: string | undefined }>();

/**
 * Adds a package loaded from `origin` (a module path; none for a package built in memory). A name
 * of a built-in protocol is refused (it would be ambiguous in traces and reports): the error text
 * says so. The same name again replaces the earlier package.
 */
export function registerProtocol(pkg: ProtocolPackage, origin?: string): string | null {
  if (Object.hasOwn(models, pkg.name)) return `the name ${JSON.stringify(pkg.name)} is a built-in protocol's; give yours another name`;
  external.set(pkg.name, { pkg, origin });
  return null;
}

/** The package of that name: built in, or registered from outside the tree. */
export function protocolNamed(name: string): ProtocolPackage | undefined {
  return Object.hasOwn(models, name) ? models[name] : external.get(name)?.pkg;
}

/** The module an external package came from; undefined for a built-in, in-memory or unknown name. */
export function protocolOrigin(name: string): string | undefined {
  return external.get(name)?.origin;
}

/** The live protocols of the built-in packages, each once, in registry order (kv, ping-liveness...). */
export const builtinLiveProtocols: readonly LiveProtocol[] = [...new Map(builtinPackages.filter((p) => p.live !== undefined).map((p) => [p.live!.name, p.live!])).values()];

/** Every live protocol known: the built-in ones, then those of external packages. */
export function liveProtocols(): LiveProtocol[] {
  const all = new Map(builtinLiveProtocols.map((l) => [l.name, l]));
  for (const { pkg } of external.values()) if (pkg.live !== undefined && !all.has(pkg.live.name)) all.set(pkg.live.name, pkg.live);
  return [...all.values()];
}

/**
 * The live protocol `name` stands for: a live protocol's own name (`kv`), or a package's whose live
 * side it is (`lock-alternation` is served by `kv`).
 */
export function liveProtocolNamed(name: string): LiveProtocol | undefined {
  return liveProtocols().find((l) => l.name === name) ?? protocolNamed(name)?.live;
}

/** The packages a live protocol serves, by name (`kv` serves lock-alternation and status-handshake). */
export function packagesServedBy(live: LiveProtocol): string[] {
  return [...builtinPackages, ...[...external.values()].map((e) => e.pkg)].filter((p) => p.live === live).map((p) => p.name);
}

/** The names of the packages with client programs (adapters), built in and registered. */
export function adapterProtocolNames(): string[] {
  return [...builtinPackages, ...[...external.values()].map((e) => e.pkg)].filter((p) => p.clients !== undefined).map((p) => p.name);
}

/** `a, b or c` */
export function orList(names: readonly string[]): string {
  return names.length <= 1 ? (names[0] ?? '') : `${names.slice(0, -1).join(', ')} or ${names[names.length - 1]}`;
}
