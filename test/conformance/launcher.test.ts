/**
 * Process lifecycle (src/conformance/launcher.ts): nothing a started target or client program
 * starts — double forks and setsid included — outlives it, in a PID namespace and in the fallback
 * (process group plus a sweep); signals reach the real program; stdin stays open; the ready probe
 * does not connect unless asked.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { isolation, overrideIsolation, type IsolationKind } from '../../src/conformance/launcher.js';
import { ManagedProcess } from '../../src/conformance/managed-process.js';
import { leftAfter, markedPids } from './process-fixture.js';

const spawner = fileURLToPath(new URL('../fixtures/lifecycle/spawner.sh', import.meta.url));

function spawnerTarget(marker: string, mode = 'silent', extra: Partial<ConstructorParameters<typeof ManagedProcess>[0]> = {}): ManagedProcess {
  return new ManagedProcess({
    command: ['/bin/sh', spawner, '{port}', mode],
    env: { LIFECYCLE_MARKER: marker, NODE: process.execPath },
    port: 'auto',
    ready: { stdout: 'listening on (\\S+)' },
    startTimeoutMs: 5000,
    scheme: 'tcp',
    ...extra,
  });
}

const linux = process.platform === 'linux';
const kinds: IsolationKind[] = [];
if (linux) {
  const detected = isolation().kind;
  if (detected !== 'process-group') kinds.push(detected);
  kinds.push('process-group');
}

afterAll(() => {
  overrideIsolation(undefined);
});

describe.runIf(linux).each(kinds)('launcher (%s)', (kind) => {
  it('a target that double-forks, setsids and wraps its server in a script leaves nothing after stop, kill and a failed start', async () => {
    overrideIsolation(kind);
    const marker = randomBytes(6).toString('hex');
    const target = spawnerTarget(marker);
    await target.start();
    expect(target.isolation).toBe(isolation().description);
    // the double fork, the setsid daemon, the background child, the script and the server
    await expect.poll(() => markedPids(marker).length, { timeout: 3000 }).toBeGreaterThanOrEqual(5);
    await target.stop();
    expect(await leftAfter(marker)).toEqual([]);
    await target.start();
    await target.kill();
    expect(target.exit?.signal).toBe('SIGKILL');
    expect(await leftAfter(marker)).toEqual([]);
    const never = spawnerTarget(marker, 'never-ready', { startTimeoutMs: 400 });
    await expect(never.start()).rejects.toThrow(/not ready within startTimeoutMs=400/);
    expect(await leftAfter(marker)).toEqual([]);
  });

  it('pause stops the real program (not the init or a wrapper only), resume continues it; its pid is the program', async () => {
    overrideIsolation(kind);
    const marker = randomBytes(6).toString('hex');
    const target = spawnerTarget(marker);
    await target.start();
    const pid = target.pid!;
    expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8')).toContain('spawner.sh');
    const state = (p: number): string => readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1]![0]!;
    target.pause();
    const server = markedPids(marker).find((p) => readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('hostile-server'))!;
    await expect.poll(() => state(server), { timeout: 2000 }).toBe('T');
    expect(state(pid)).toBe('T');
    target.resume();
    await expect.poll(() => state(server), { timeout: 2000 }).not.toBe('T');
    await target.stop();
    expect(await leftAfter(marker)).toEqual([]);
  });
});
