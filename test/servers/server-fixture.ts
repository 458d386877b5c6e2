/** Starts servers in-process for a test and closes them after it, whatever happened. */
import { afterEach } from 'vitest';
import { startServer, type ServerHandle, type ServerOptions } from '../../src/servers/index.js';

const running: ServerHandle[] = [];

afterEach(async () => {
  const handles = running.splice(0);
  await Promise.all(handles.map((h) => h.close()));
});

/** Starts `protocol` on 127.0.0.1 port 0; the server is closed after the current test. */
export async function serve(protocol: string, options: ServerOptions = {}): Promise<ServerHandle> {
  const handle = await startServer(protocol, { port: 0, ...options });
  running.push(handle);
  return handle;
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
