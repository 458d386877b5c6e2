/**
 * register-exit's live side: JSON lines or gob on a TCP stream, the oracle mapping (mapping.ts),
 * model clients on the wire, and the reference server (server-program.ts).
 */
import type { ClientWire } from '../live-types.js';
import { defaultMemoryReturned } from '../live-bounds.js';
import type { LiveProtocol } from '../package.js';
import type { ModelVariant, ProtocolMessage } from '../types.js';
import { registerExitClientReplay } from './client-replay.js';
import { registerExitMapping } from './mapping.js';
import type { RouteServerOptions } from './serve.js';
import { registerExitDefects, registerExitServer } from './server-program.js';
import { messageStruct, outgoingMessage, routeMessageOfWire } from './wire.js';

/** A model client's messages as the wire's struct, and back (`sender` is `From`). */
export const registerExitClientWire: ClientWire = {
  requestToWire: (msg) => ({ To: msg.to, From: msg.sender, Content: msg.content, Register: msg.register === true, Exit: msg.exit === true }),
  replyFromWire: (wire) => routeMessageOfWire(wire) as unknown as ProtocolMessage,
};

/** The live protocol, with the `fixed` variant as the oracle's and the server's rules. */
export function registerExitLive(fixed: ModelVariant, fixedServerOptions: RouteServerOptions): LiveProtocol {
  return {
    name: 'register-exit',
    summary: 'the routing server of seed 003, JSON lines or the seed\'s gob',
    transport: 'tcp',
    exampleAddress: 'tcp://127.0.0.1:PORT',
    codecs: [
      { name: 'json-lines', format: 'json-lines', outgoing: outgoingMessage },
      { name: 'gob', format: 'gob', struct: messageStruct, outgoing: outgoingMessage },
    ],
    mapping: (options) => registerExitMapping(fixed, options),
    clientWire: registerExitClientWire,
    clientReplay: registerExitClientReplay,
    // a connection its client left is closed within 2 s (a socket left in CLOSE_WAIT is a leaked descriptor)
    // and a soak's rounds that leave the model as they found it leave the server's memory where it was
    bounds: { connectionsReleasedMs: 2000, memoryReturned: defaultMemoryReturned },
    server: {
      defects: registerExitDefects,
      options: [{ key: 'codec', flag: '--codec <codec>', description: 'json-lines (default; json also accepted) or gob', kind: 'codec', choices: ['json-lines', 'gob'] }],
      program: { transport: 'stream', configure: (setup) => registerExitServer(fixedServerOptions, setup) },
      // Client i sends to client i+1; its next send waits for the delivery. Registration has no reply.
      bench: {
        setup: (i) => [{ send: { From: `c${i}`, Register: true }, noReply: true }],
        settleMs: 500,
        isReply: () => false,
        deliveries(wire) {
          const m = (wire ?? {}) as { From?: unknown; Content?: unknown };
          return typeof m.From === 'string' && m.From !== 'Error' ? [{ from: m.From, seq: Number(m.Content) }] : [];
        },
        operation: (i, n, seq) => [{ send: { To: `c${(i + 1) % n}`, Content: String(seq) }, noReply: true, expects: { from: `c${i}`, seq } }],
      },
    },
  };
}
