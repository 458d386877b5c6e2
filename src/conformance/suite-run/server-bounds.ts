/**
 * The named bounds of a server (src/models/live-bounds.ts) as one case checks them:
 * `connections-released`, every connection its clients closed is closed by the target in time.
 * The target's sockets in CLOSE_WAIT on its port are counted when the case begins (a long-lived
 * target may hold some from before) and again when its clients have all closed: any more, still
 * there after the bound, are connections this case's clients left and the target kept.
 * `memory-returned` is checked by a soak case (./soak.ts).
 */
import { boundNames, boundsVar, type MemoryReturned, type ServerBounds } from '../../models/live-bounds.js';
import { liveProtocolNamed } from '../../models/registry.js';
import { closeWaitCount } from '../proc-net.js';
import { varOn } from '../server-mapping-for.js';
import { sleep } from './case-context.js';

/** True when the suite's variables ask for the named bounds (`--bounds`, fuzz). */
export function boundsOn(vars: Readonly<Record<string, string | number>>): boolean {
  return varOn(vars, boundsVar);
}

/** The `bounds: true` cases (soaks) a run without the bounds leaves out (those not named by id). */
export function boundsOnlyCases<C extends { id: string; bounds?: boolean }>(cases: readonly C[], caseIds: readonly string[] = []): string[] {
  return cases.filter((c) => c.bounds === true && !caseIds.includes(c.id)).map((c) => c.id);
}

/** The server bounds a case checks: its protocol's, when asked for and the target is TCP (QUIC has no CLOSE_WAIT to see). */
export function serverBoundsFor(protocol: string, vars: Readonly<Record<string, string | number>>, transport: string | undefined): ServerBounds | undefined {
  if (!boundsOn(vars) || transport === 'quic') return undefined;
  return liveProtocolNamed(protocol)?.bounds;
}

/** `memory-returned`, when the run checks the named bounds (any transport: memory is read from /proc, not from sockets). */
export function memoryBoundFor(protocol: string, vars: Readonly<Record<string, string | number>>): MemoryReturned | undefined {
  return boundsOn(vars) ? liveProtocolNamed(protocol)?.bounds?.memoryReturned : undefined;
}

/** One case's check of `connections-released` on the target's port. */
export class ConnectionsReleased {
  private readonly baseline: number | undefined;

  constructor(
    private readonly port: number,
    private readonly withinMs: number,
  ) {
    this.baseline = closeWaitCount(port);
  }

  /**
   * Waits, at most the bound, until the target holds no more sockets in CLOSE_WAIT than when the
   * case began; null when it does (or /proc cannot be read), else the violation in words.
   */
  async violation(): Promise<string | null> {
    if (this.baseline === undefined) return null;
    const deadline = performance.now() + this.withinMs;
    let excess = 0;
    for (;;) {
      excess = (closeWaitCount(this.port) ?? this.baseline) - this.baseline;
      if (excess <= 0 || performance.now() >= deadline) break;
      await sleep(25);
    }
    if (excess <= 0) return null;
    const what = excess === 1 ? 'a connection' : `${excess} connections`;
    return `${boundNames.connectionsReleased}: the target kept ${what} open ${this.withinMs} ms after the case's clients closed ${excess === 1 ? 'it' : 'them'} (CLOSE_WAIT on port ${this.port}): a socket and a file descriptor leaked for every client that leaves`;
  }
}
