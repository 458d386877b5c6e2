/**
 * The named flaws a reference server can be started with (`--defect NAME`), so conformance suites
 * can prove they catch each one. Each defect matches a flaw class of its protocol (docs/protocols.md).
 */
import { InputError } from '../errors.js';
import { serverProtocols, type ServerProtocol } from './serverOptions.js';

/** One named flaw. */
export interface DefectInfo {
  name: string;
  protocol: ServerProtocol;
  /** One line: what the flawed server does differently. */
  description: string;
}

const catalog: readonly DefectInfo[] = [
  { protocol: 'kv', name: 'nonatomic-kv', description: 'set copies the store, yields, then writes the copy back (concurrent sets are lost) and writes values in two halves (a get can see a torn value)' },
  { protocol: 'kv', name: 'no-trailing-newline', description: 'response bodies lack the extra trailing newline the course server sends' },
  { protocol: 'kv', name: 'shared-stores', description: 'the store option is ignored: every client shares the default store' },
  { protocol: 'ping-liveness', name: 'no-heartbeat-timeout', description: 'a silent session is never dropped, so a killed client locks its user out for ever' },
  { protocol: 'ping-liveness', name: 'trust-session-id', description: 'CHAT, PING and LOGOUT act on the session named by the id field, not the connection' },
  { protocol: 'ping-liveness', name: 'silent-version-mismatch', description: 'a version offer with nothing in common gets no answer at all' },
  { protocol: 'ping-liveness', name: 'allow-double-login', description: 'a user logged in elsewhere can log in again (no error code 3)' },
  { protocol: 'register-exit', name: 'trust-sender-field', description: 'a forwarded message keeps the From the client filled in (sending as someone else)' },
  { protocol: 'register-exit', name: 'trust-exit-field', description: 'a message with Exit set unregisters the name in its From field, whoever sent it' },
  { protocol: 'register-exit', name: 'duplicate-name-replaces', description: 'registering a name in use takes it over from the earlier client' },
  { protocol: 'register-exit', name: 'crash-on-disconnect', description: 'the whole server dies when a client vanishes without sending Exit' },
  { protocol: 'register-exit', name: 'keep-vanished-client', description: 'a client that vanishes without Exit stays registered (messages to it vanish, its name stays taken)' },
  { protocol: 'offline-queue', name: 'drop-offline-queue', description: 'messages to an offline recipient are acknowledged but never queued' },
  { protocol: 'offline-queue', name: 'reorder-queue', description: 'check returns queued messages newest first' },
  { protocol: 'offline-queue', name: 'trust-sender-field', description: 'the sender of a message is the sender field the client filled in, not its login' },
  { protocol: 'offline-queue', name: 'lose-back-to-back', description: 'only the first of several requests arriving in one read is handled' },
  { protocol: 'offline-queue', name: 'deliver-to-deleted', description: 'a deleted account that was online still receives messages sent to its name' },
  { protocol: 'offline-queue', name: 'regex-pattern', description: 'list runs the pattern as a regular expression (bounded: only names up to 16 characters are tried)' },
  { protocol: 'offline-queue', name: 'drop-on-dead-connection', description: 'a message pushed to a recipient whose connection died is dropped instead of queued' },
];

/** Every defect, or those of one protocol, in catalogue order. */
export function defectsFor(protocol?: ServerProtocol): readonly DefectInfo[] {
  return protocol === undefined ? catalog : catalog.filter((d) => d.protocol === protocol);
}

/** `name - description` lines, as `protosim serve --list-defects` prints them. */
export function formatDefectList(protocol?: ServerProtocol): string {
  return defectsFor(protocol)
    .map((d) => (protocol === undefined ? `${d.name} - [${d.protocol}] ${d.description}` : `${d.name} - ${d.description}`))
    .join('\n');
}

/** Throws an InputError listing the valid protocols unless `name` is one. */
export function parseServerProtocol(name: string): ServerProtocol {
  // The two key-value protocols of docs/protocols.md share the course's IM server.
  if (name === 'lock-alternation' || name === 'status-handshake') return 'kv';
  if ((serverProtocols as readonly string[]).includes(name)) return name as ServerProtocol;
  throw new InputError(
    `unknown protocol ${JSON.stringify(name)}; servers exist for: ${serverProtocols.join(', ')} (kv serves lock-alternation and status-handshake)`,
    'unknown-protocol',
  );
}

/** Throws an InputError listing the protocol's defects unless `defect` is one of them. */
export function assertDefect(protocol: ServerProtocol, defect: string | undefined): void {
  if (defect === undefined) return;
  if (defectsFor(protocol).some((d) => d.name === defect)) return;
  const valid = defectsFor(protocol).map((d) => d.name).join(', ');
  throw new InputError(`unknown defect ${JSON.stringify(defect)} for ${protocol}; valid defects: ${valid}`, 'unknown-defect');
}
