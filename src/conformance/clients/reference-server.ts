/**
 * protosim's own reference server of a protocol, started as a child process (`protosim serve`):
 * what `adapter check` and whole live systems use when no server is named. The conformance layer
 * may not import src/servers, and a child process is what a real deployment looks like anyway.
 */
import { liveProtocolNamed } from '../../models/registry.js';
import { ManagedProcess, protosimLauncher } from '../managed-process.js';

/** The server protocol of each client protocol, from its package (`kv` serves both key-value protocols). */
export function serverProtocolOf(protocol: string): string {
  return liveProtocolNamed(protocol)?.name ?? protocol;
}

/** How a protocol's server is reached: `http` for the IM key-value interface, else `tcp`. */
export function serverSchemeOf(protocol: string): 'http' | 'tcp' {
  return liveProtocolNamed(protocol)?.transport === 'http' ? 'http' : 'tcp';
}

/** Starts `protosim serve <protocol> --port 0 [extra...]` and waits for its ready line. */
export async function startReferenceServer(protocol: string, launcher: readonly string[] = protosimLauncher(), extra: readonly string[] = []): Promise<ManagedProcess> {
  const process = new ManagedProcess({
    command: [...launcher, 'serve', serverProtocolOf(protocol), '--port', '0', ...extra],
    ready: { stdout: 'listening on (\\S+)' },
    startTimeoutMs: 10_000,
    scheme: serverSchemeOf(protocol),
    trusted: true,
  });
  await process.start();
  return process;
}
