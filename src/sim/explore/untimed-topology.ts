/**
 * The fixed shape of a scenario's world for the untimed system: its links (every ordered pair of
 * distinct nodes) with their configuration, its node pairs (one channel each), and the start order
 * the nodes' start times force.
 */
import type { NodeId } from '../../models/types.js';
import type { Distribution, LinkConfig, SimConfig } from '../config.js';

const PAIR_NONE = -1;

export interface Topology {
  /** link index of (from, to) at from * n + to, or -1 */
  linkOf: Int32Array;
  linkFrom: Int32Array;
  linkTo: Int32Array;
  /** pair index of (a, b) at a * n + b (both orders), or -1 */
  pairOf: Int32Array;
  /** per link: its pair, and its direction in the pair's channel (0 when from < to) */
  linkPair: Int32Array;
  linkDir: Int32Array;
  linkFifo: boolean[];
  linkLoss: boolean[];
  linkDup: boolean[];
  /** some link loses or duplicates on its own */
  anyLossy: boolean;
  links: number;
  pairs: number;
  /** nodes that must have started before node i may start (their latest start precedes its earliest) */
  startAfter: Int32Array[];
}

export function buildTopology(config: SimConfig, nodeIds: readonly NodeId[]): Topology {
  const n = nodeIds.length;
  // links: every ordered pair of distinct nodes
  const linkOf = new Int32Array(n * n).fill(-1);
  const from: number[] = [];
  const to: number[] = [];
  const linkFifo: boolean[] = [];
  const linkLoss: boolean[] = [];
  const linkDup: boolean[] = [];
  for (let a = 0; a < n; a++) {
    for (let b = 0; b < n; b++) {
      if (a === b) continue;
      linkOf[a * n + b] = from.length;
      from.push(a);
      to.push(b);
      const link = linkConfig(config, nodeIds[a]!, nodeIds[b]!);
      linkFifo.push(link.fifo);
      linkLoss.push(link.lossRatio > 0);
      linkDup.push(link.duplicateRatio > 0);
    }
  }
  const pairOf = new Int32Array(n * n).fill(PAIR_NONE);
  let pairs = 0;
  for (let a = 0; a < n; a++) {
    for (let b = a + 1; b < n; b++) {
      pairOf[a * n + b] = pairs;
      pairOf[b * n + a] = pairs;
      pairs++;
    }
  }
  const links = from.length;
  const linkPair = new Int32Array(links);
  const linkDir = new Int32Array(links);
  for (let l = 0; l < links; l++) {
    linkPair[l] = pairOf[from[l]! * n + to[l]!]!;
    linkDir[l] = from[l]! < to[l]! ? 0 : 1;
  }
  return {
    linkOf,
    linkFrom: Int32Array.from(from),
    linkTo: Int32Array.from(to),
    pairOf,
    linkPair,
    linkDir,
    linkFifo,
    linkLoss,
    linkDup,
    anyLossy: linkLoss.some((x) => x) || linkDup.some((x) => x),
    links,
    pairs,
    startAfter: startOrder(config),
  };
}

/** Start order: node i waits for j when j's latest start is before i's earliest. */
function startOrder(config: SimConfig): Int32Array[] {
  const range = config.nodes.map((x) => startRange(x.startAt));
  // (equal times start in node order, as the simulator's queue breaks ties by insertion)
  return range.map(([minI], i) => Int32Array.from(range.flatMap(([, maxJ], j) => (j !== i && (maxJ < minI || (maxJ === minI && j < i)) ? [j] : []))));
}

/** The configuration of the link from `from` to `to`: the default, then every matching override. */
export function linkConfig(config: SimConfig, from: NodeId, to: NodeId): LinkConfig {
  let link: LinkConfig = { ...config.network.default };
  for (const o of config.network.links) {
    if ((o.from === from || o.from === '*') && (o.to === to || o.to === '*')) {
      const { from: _f, to: _t, ...rest } = o;
      link = { ...link, ...rest };
    }
  }
  return link;
}

function startRange(d: Distribution): [number, number] {
  switch (d.kind) {
    case 'fixed':
      return [d.ms, d.ms];
    case 'uniform':
      return [d.minMs, d.maxMs];
    case 'exponential':
      return [0, d.maxMs];
  }
}
