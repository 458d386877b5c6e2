/**
 * Messages between the swarm and its worker threads (structured-clone data only).
 */
import type { SeedSummary } from '../sim/explore/random.js';

/** Run `count` seeds from `seedStart`, `stride` apart. */
export interface ChunkRequest {
  id: number;
  seedStart: number;
  count: number;
  stride: number;
}

export interface ChunkReply {
  id: number;
  summary: SeedSummary;
}
