/**
 * How a reference server is put under load (`npm run bench:servers`, src/bench/servers.ts): a
 * package's script of what its clients send, as wire messages, and what the answers mean. The load
 * driver is generic: it opens the connections, runs the script's exchanges in closed loops for a
 * bounded time, and counts what was lost, duplicated or reordered. Pure data and functions.
 */

/** One request of a client, and what its answer means. */
export interface BenchExchange {
  /** the client that sends it (default: the one the script is run for) */
  client?: number;
  /** a wire message (a stream protocol's codec encodes it), or a request target (`/?action=get&key=k`) on the IM interface */
  send: unknown;
  /** no reply comes (a registration, a message routed to another client) */
  noReply?: boolean;
  /** the reply's outcome: `ok`, `lost` (an answer that should not be), `refused` (not accepted: not counted lost) */
  outcome?(reply: unknown, data: Readonly<Record<string, unknown>>): 'ok' | 'lost' | 'refused';
  /** data the reply binds for the client's later exchanges (a session id) */
  bind?(reply: unknown): Record<string, unknown>;
  /** messages the reply itself delivers (an echo, a queue's contents) */
  delivers?(reply: unknown): BenchDelivery[];
  /** when accepted, this sends a message (`from`, `seq`) that must arrive exactly once: the operation lasts until it does, unless it has a reply */
  expects?: BenchDelivery;
}

/** A message that arrived: its sender (any stable key) and its sequence number from that sender. */
export interface BenchDelivery {
  from: string;
  seq: number;
}

/** A phase after the timed one: for each of `clients`, its exchanges in turn (all clients at once). */
export interface BenchPhase {
  name: string;
  clients(n: number): number[];
  /** `nextSeq(client)` numbers the messages a client sends, continuing the timed phase's */
  exchanges(i: number, n: number, nextSeq: (client: number) => number): BenchExchange[];
}

export interface BenchScript {
  /** `protosim serve` flags for a run with `n` clients */
  serveArgs?(n: number): string[];
  /** exchanges each client makes before the timed phase, in turn */
  setup?(i: number, n: number): BenchExchange[];
  /** wait this long after the setup (registrations that have no reply) */
  settleMs?: number;
  /** the timed phase: client i's operation `seq`, in a closed loop */
  operation(i: number, n: number, seq: number, data: Readonly<Record<string, unknown>>): BenchExchange[];
  /** whether an arrival answers a request (default: every arrival does); the others are deliveries */
  isReply?(wire: unknown): boolean;
  /** the messages an arrival that is not a reply delivers */
  deliveries?(wire: unknown): BenchDelivery[];
  /** operations in flight per client (pipelining), if the protocol allows it */
  pipelined?: boolean;
  /** phases after the timed one */
  phases?: readonly BenchPhase[];
  /** a last request, checked against the run: how many messages it shows lost, and a note */
  finish?: { send: unknown; lost(reply: unknown, n: number): { lost: number; note?: string } };
}
