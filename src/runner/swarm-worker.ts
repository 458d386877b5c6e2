/**
 * The swarm's worker thread: compiles the model once, then runs the seed chunks it is sent
 * (untraced) and posts back one mergeable summary per chunk. Loaded from the compiled dist/.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { protocolNamed } from '../models/registry.js';
import { loadProtocolModule } from '../scenario/protocol-module.js';
import type { SimConfig } from '../sim/config.js';
import { summarizeSeeds } from '../sim/explore/random.js';
import { CompiledModel } from '../sim/simulator.js';
import type { ChunkRequest, ChunkReply } from './swarm-protocol.js';

const { protocol, variant, config, module } = workerData as { protocol: string; variant: string; config: SimConfig; module?: string };
// A protocol from outside the tree is imported here too (messages wait in the port meanwhile).
if (module !== undefined) await loadProtocolModule(module, module);
const model = protocolNamed(protocol)?.variants[variant];
if (!model) throw new Error(`swarm worker: no model ${protocol}/${variant}`);
const compiled = new CompiledModel(protocol, model);

parentPort!.on('message', (request: ChunkRequest) => {
  const summary = summarizeSeeds(compiled, config, request.seedStart, request.count, request.stride);
  const reply: ChunkReply = { id: request.id, summary };
  parentPort!.postMessage(reply);
});
