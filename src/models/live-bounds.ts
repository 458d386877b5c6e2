/**
 * Named bounds a live implementation of a protocol is held to beyond the step-by-step oracle:
 * resources it must give back and rates it must keep to while nothing changes. Each protocol's
 * package states its own (`live.bounds` for servers, `clients.bounds` for client programs); the
 * live engine checks them where it can see them (src/conformance), and a violation is a FAIL that
 * names the bound.
 *
 * They are checked when a run asks for them (`protosim run --bounds`, the suite variable `bounds`
 * set to 1) and always by `protosim fuzz` (unless `--no-bounds`).
 */

/** The suite variable that turns the named bounds on (1), as `--bounds` sets it. */
export const boundsVar = 'bounds';

/** What a server is held to. */
export interface ServerBounds {
  /**
   * `connections-released`: a connection its client closed (or half-closed: the server read its
   * end) is closed by the server within this many milliseconds. A server that never closes it
   * keeps a socket in CLOSE_WAIT and a file descriptor for every client that ever left, until it
   * runs out of them. Checked on TCP targets at each case's end (every socket the target holds
   * on its port in CLOSE_WAIT, beyond those it held when the case began).
   */
  readonly connectionsReleasedMs?: number;
  /**
   * `memory-returned`: work that leaves the protocol's model holding no more than before leaves the
   * server's memory where it was. Checked on a suite's soak cases (`rounds:`, each round net-zero in
   * the model: users registered then gone, a key set then unset): the resident memory (RSS) of the
   * target's process tree after the warm-up rounds and after the last may differ by at most
   * `max(slackBytes, slackFraction × the warm RSS)` (garbage-collected runtimes float). A server
   * that keeps something per request, message, connection or user that left grows without limit.
   */
  readonly memoryReturned?: MemoryReturned;
}

/** The `memory-returned` bound's figures. */
export interface MemoryReturned {
  /** growth always allowed, bytes (allocators, caches and GC heaps settle) */
  readonly slackBytes: number;
  /** growth allowed as a share of the RSS after the warm-up rounds (a GC heap floats with its size) */
  readonly slackFraction: number;
  /** the share of a soak's rounds run before the first sample (the warm-up) */
  readonly warmupFraction: number;
}

/** The bound every server protocol states today: 8 MiB or 25 % of the warm RSS; a fifth of the rounds to warm up. */
export const defaultMemoryReturned: MemoryReturned = { slackBytes: 8 * 1024 * 1024, slackFraction: 0.25, warmupFraction: 0.2 };

/** What a client program is held to. */
export interface ClientBounds {
  /**
   * `idle-requests`: while nothing changes (no write to the store, nobody typing), a program makes
   * at most this many requests per second, measured over its busiest `idleWindowMs` inside each
   * quiet stretch. A program that polls without pausing floods the server and burns a core while
   * it waits.
   */
  readonly idleRequestsPerSecond?: number;
  /** the window the idle rate is measured over (default 250 ms: cases are short, and a busy poller shows within it) */
  readonly idleWindowMs?: number;
}

/** The names bounds go by in verdicts and docs. */
export const boundNames = {
  connectionsReleased: 'connections-released',
  memoryReturned: 'memory-returned',
  idleRequests: 'idle-requests',
} as const;
