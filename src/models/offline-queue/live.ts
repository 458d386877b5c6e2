/**
 * offline-queue's live side: the seed's protobuf messages on a TCP stream, the oracle mapping
 * (mapping.ts), model clients on the wire (wire.ts), and the reference server (server-program.ts).
 */
import { defaultMemoryReturned } from '../live-bounds.js';
import type { LiveProtocol } from '../package.js';
import type { ModelVariant } from '../types.js';
import { offlineQueueClientReplay } from './client-replay.js';
import { offlineQueueMapping } from './mapping.js';
import type { QueueServerOptions } from './serve.js';
import { offlineQueueDefects, offlineQueueServer } from './server-program.js';
import type { BenchDelivery, BenchExchange, BenchScript } from '../bench-script.js';
import { parseLetters } from './messages.js';
import { ClientOp, offlineQueueClientWire, offlineQueueSchema, outgoingRequest, ServerOp } from './wire.js';

const opcodeOf = (wire: unknown): unknown => (wire as { opcode?: unknown } | null)?.opcode;
const letters = (wire: unknown): BenchDelivery[] => parseLetters(String((wire as { msg?: unknown } | null)?.msg ?? '')).map((l) => ({ from: l.sender, seq: Number(l.text) }));
const send = (from: number, to: number, seq: number): BenchExchange => ({
  client: from,
  send: { opcode: ClientOp.send, receiver: `u${to}`, msg: String(seq) },
  outcome: (reply) => (opcodeOf(reply) === ServerOp.sent ? 'ok' : 'refused'),
  expects: { from: `u${from}`, seq },
});
const odd = (n: number): number[] => Array.from({ length: n }, (_, i) => i).filter((i) => i % 2 === 1);

/**
 * N logged-in accounts; account i sends to account i+1 (requests may be pipelined with
 * length-delimited framing). Online recipients get pushes; then the odd accounts go offline, the
 * even ones send to them, and the queues are checked: every accepted message arrives once, in order.
 */
const offlineQueueBench: BenchScript = {
  setup: (i) => [
    { send: { opcode: ClientOp.create, msg: `u${i}` } },
    { send: { opcode: ClientOp.login, msg: `u${i}` }, outcome: (reply) => (opcodeOf(reply) === ServerOp.loggedIn ? 'ok' : 'lost') },
  ],
  pipelined: true,
  isReply: (wire) => opcodeOf(wire) !== ServerOp.push,
  deliveries: (wire) => (opcodeOf(wire) === ServerOp.push ? letters(wire) : []),
  operation: (i, n, seq) => [send(i, (i + 1) % n, seq)],
  phases: [
    { name: 'the odd accounts go offline', clients: odd, exchanges: () => [{ send: { opcode: ClientOp.quit } }] },
    { name: 'the even ones send to them (offline queues)', clients: odd, exchanges: (i, _n, nextSeq) => Array.from({ length: 20 }, () => send(i - 1, i, nextSeq(i - 1))) },
    {
      name: 'the odd ones log in and check',
      clients: odd,
      exchanges: (i) => [{ send: { opcode: ClientOp.login, msg: `u${i}` } }, { send: { opcode: ClientOp.check }, delivers: letters }],
    },
  ],
};

/** The live protocol, with the `fixed` variant as the oracle's and the server's rules. */
export function offlineQueueLive(fixed: ModelVariant, fixedServerOptions: QueueServerOptions): LiveProtocol {
  return {
    name: 'offline-queue',
    summary: 'the chat server with offline queues of seed 004, the seed\'s protobuf messages',
    transport: 'tcp',
    exampleAddress: 'tcp://127.0.0.1:PORT',
    codecs: [{ name: 'protobuf', format: 'protobuf', schema: offlineQueueSchema, outgoing: outgoingRequest }],
    framings: ['length-delimited', 'raw'],
    mapping: (options) => offlineQueueMapping(fixed, options),
    clientWire: offlineQueueClientWire,
    clientReplay: offlineQueueClientReplay,
    // a connection its client left is closed within 2 s (a socket left in CLOSE_WAIT is a leaked descriptor)
    // and a soak's rounds that leave the model as they found it leave the server's memory where it was
    bounds: { connectionsReleasedMs: 2000, memoryReturned: defaultMemoryReturned },
    server: {
      defects: offlineQueueDefects,
      options: [
        { key: 'framing', flag: '--framing <framing>', description: 'length-delimited (default) or raw', kind: 'text', choices: ['length-delimited', 'raw'] },
        { key: 'deliveryConfirmMs', flag: '--delivery-confirm-ms <ms>', description: 'how long a push stays unconfirmed (default 2000)', kind: 'integer', min: 0 },
      ],
      // The seed's sizes: names at most 25 characters, messages at most 100; one read is 1024 bytes.
      limitDefaults: { maxNameChars: 25, maxMessageChars: 100, maxFrameBytes: 1024 },
      program: { transport: 'stream', configure: (setup) => offlineQueueServer(fixedServerOptions, setup) },
      bench: offlineQueueBench,
    },
  };
}
