/**
 * The bounds and pauses of a suite run against a live target: how long a case may run, the gaps
 * and quiet periods of its steps, and how results are held between cases (./suite-runner.ts).
 */

/** How long a case may run when it sets no timeoutMs. */
export const defaultCaseTimeoutMs = 30_000;
/** Raw framing: a gap between two writes on one connection so the seed's reads keep them apart. */
export const rawWriteGapMs = 30;
/** After `expect: model`, how long each client must stay quiet (nothing the model did not send). */
export const modelQuietMs = 50;
/**
 * How long `expect: model` gives the server to read requests that get no reply (a registration)
 * before it takes them as read: under load, 50 ms of quiet was not enough, and a message sent next
 * overtook a registration on another connection (a false FAIL of re/route).
 */
export const modelSettleMs = 300;
/**
 * The least time a QUIC connection is given to be made: a TLS handshake costs more than a TCP
 * connect, and a loaded machine took over a second for it (an unreachable ERROR, not the target's).
 */
export const quicConnectTimeoutMsMin = 5000;
/** How long teardown waits for the target to close a connection after the harness's FIN. */
export const teardownCloseMs = 300;
/** A command that failed to start this many times in a row is not tried again in this run. */
export const maxStartAttempts = 2;
/** How long the harness waits after a case before the next, so a target dying of the case's end is charged to it. */
export const afterCaseSettleMs = 50;
/** The longest a case's result waits for the next case to hear from the target (see `held`). */
export const maxHeldResultMs = 500;
