/**
 * The deterministic simulator: one seed and one config give one run, byte for byte.
 *
 * Virtual time is an integer number of milliseconds; events wait in a queue ordered by
 * (time, sequence). Nodes are role machines stepped purely (see RoleRuntime); the simulator carries
 * out their effects: messages go through the network model (delay, loss, duplication, reordering,
 * FIFO connections, partitions), timers go into the queue, prints are checked against the workload.
 * Faults and workload are data (see config.ts). Nothing here reads the clock, draws unseeded random numbers, starts timers,
 * or does I/O: a tidy test enforces it.
 *
 * This module is the simulator's public face; the parts live in src/sim/kernel:
 * - compiled-model.ts, key-cache.ts: a model compiled for running, and the caches its runs share
 *   (each with a named limit);
 * - fault-plan.ts: what a run draws from its seed before it starts (`deriveOptions`);
 * - run-state.ts, run-checks.ts, run-network.ts, timed-run.ts: one timed run (`Simulation`), in
 *   layers: its state, its checks, its network, its event loop with effects and faults;
 * - simulate.ts: `simulate`, one seed in up to three passes (a stall is classified by re-running);
 * - world-rules.ts, choice.ts: the world's rules and choice sources, shared with the explorer.
 */
export { sample } from './kernel/choice.js';
export { CompiledModel } from './kernel/compiled-model.js';
export { defaultCacheLimits, type CacheLimits } from './kernel/key-cache.js';
export { deriveOptions } from './kernel/fault-plan.js';
export type { RunControl, RunOptions, RunResult, RunStats } from './kernel/run-types.js';
export { simulate } from './kernel/simulate.js';
