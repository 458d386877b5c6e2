/**
 * The named flaws a reference server can be started with (`--defect NAME`), so conformance suites
 * can prove they catch each one. Each defect matches a flaw class of its protocol (docs/protocols.md)
 * and is listed in its package (src/models/<protocol>/), read here through the registry.
 */
import { InputError } from '../errors.js';
import type { LiveProtocol } from '../models/package.js';
import { liveProtocolNamed, liveProtocols, packagesServedBy } from '../models/registry.js';

/** One named flaw. */
export interface DefectInfo {
  name: string;
  /** the server (live protocol) it belongs to */
  protocol: string;
  /** One line: what the flawed server does differently. */
  description: string;
}

/** Every defect, or those of one server, in catalogue order. */
export function defectsFor(protocol?: string): readonly DefectInfo[] {
  const servers = protocol === undefined ? liveProtocols() : [liveProtocolNamed(protocol)].filter((l): l is LiveProtocol => l !== undefined);
  return servers.flatMap((l) => l.server.defects.map((d) => ({ name: d.name, protocol: l.name, description: d.description })));
}

/** `name - description` lines, as `protosim serve --list-defects` prints them. */
export function formatDefectList(protocol?: string): string {
  return defectsFor(protocol)
    .map((d) => (protocol === undefined ? `${d.name} - [${d.protocol}] ${d.description}` : `${d.name} - ${d.description}`))
    .join('\n');
}

/** The servers that serve protocols of other names: `(kv serves lock-alternation and status-handshake)`. */
export function servedNote(): string {
  const notes = liveProtocols()
    .map((l) => ({ l, served: packagesServedBy(l).filter((n) => n !== l.name) }))
    .filter(({ served }) => served.length > 0)
    .map(({ l, served }) => `${l.name} serves ${served.length === 1 ? served[0] : `${served.slice(0, -1).join(', ')} and ${served[served.length - 1]}`}`);
  return notes.length === 0 ? '' : ` (${notes.join('; ')})`;
}

/** The server of `name` (a server's name, or a protocol it serves); an InputError listing the valid ones otherwise. */
export function parseServerProtocol(name: string): LiveProtocol {
  const live = liveProtocolNamed(name);
  if (live !== undefined) return live;
  throw new InputError(`unknown protocol ${JSON.stringify(name)}; servers exist for: ${liveProtocols().map((l) => l.name).join(', ')}${servedNote()}`, 'unknown-protocol');
}

/** Throws an InputError listing the server's defects unless `defect` is one of them. */
export function assertDefect(protocol: string, defect: string | undefined): void {
  if (defect === undefined) return;
  if (defectsFor(protocol).some((d) => d.name === defect)) return;
  const valid = defectsFor(protocol).map((d) => d.name).join(', ');
  throw new InputError(`unknown defect ${JSON.stringify(defect)} for ${protocol}; valid defects: ${valid}`, 'unknown-defect');
}
