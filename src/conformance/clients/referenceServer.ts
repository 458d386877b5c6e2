/**
 * protosim's own reference server of a protocol, started as a child process (`protosim serve`):
 * what `adapter check` and whole live systems use when no server is named. The conformance layer
 * may not import src/servers, and a child process is what a real deployment looks like anyway.
 */
import { ManagedProcess, protosimLauncher } from '../managedProcess.js';

/** The server protocol of each client protocol (`kv` serves both key-value protocols). */
export function serverProtocolOf(protocol: string): string {
  return protocol === 'lock-alternation' || protocol === 'status-handshake' ? 'kv' : protocol;
}

/** Starts `protosim serve <protocol> --port 0 [extra...]` and waits for its ready line. */
export async function startReferenceServer(protocol: string, launcher: readonly string[] = protosimLauncher(), extra: readonly string[] = []): Promise<ManagedProcess> {
  const serverProtocol = serverProtocolOf(protocol);
  const process = new ManagedProcess({
    command: [...launcher, 'serve', serverProtocol, '--port', '0', ...extra],
    ready: { stdout: 'listening on (\\S+)' },
    startTimeoutMs: 10_000,
    scheme: serverProtocol === 'kv' ? 'http' : 'tcp',
  });
  await process.start();
  return process;
}
