/**
 * ping-liveness's live side: JSON lines on a TCP stream, the oracle mapping (mapping.ts), model
 * clients on the wire (wire.ts), counterexamples replayed on client programs (client-replay.ts), and
 * the reference server (server-program.ts).
 */
import { defaultMemoryReturned } from '../live-bounds.js';
import type { LiveProtocol } from '../package.js';
import type { ModelVariant } from '../types.js';
import { pingLivenessClientReplay } from './client-replay.js';
import { pingMappingOf } from './mapping.js';
import type { PingServerOptions } from './serve.js';
import { pingDefects, pingServer } from './server-program.js';
import { outgoingPing, pingClientWire, PingMtype, pingSupportedVersions } from './wire.js';

const payloadOf = (wire: unknown): Record<string, unknown> => ((wire as { payload?: Record<string, unknown> } | null)?.payload ?? {});

/** The live protocol, with the `fixed` variant as the oracle's and the server's rules. */
export function pingLivenessLive(fixed: ModelVariant, fixedServerOptions: PingServerOptions): LiveProtocol {
  return {
    name: 'ping-liveness',
    summary: 'the echo chat server of seed 002 with its heartbeat, JSON lines',
    transport: 'tcp',
    exampleAddress: 'tcp://127.0.0.1:PORT',
    codecs: [{ name: 'json-lines', format: 'json-lines', outgoing: outgoingPing }],
    mapping: (options) => pingMappingOf(fixed, options),
    clientWire: pingClientWire,
    clientReplay: pingLivenessClientReplay,
    // a connection its client left is closed within 2 s (a socket left in CLOSE_WAIT is a leaked descriptor)
    // and a soak's rounds that leave the model as they found it leave the server's memory where it was
    bounds: { connectionsReleasedMs: 2000, memoryReturned: defaultMemoryReturned },
    server: {
      defects: pingDefects,
      options: [
        { key: 'heartbeatTimeoutMs', flag: '--heartbeat-timeout-ms <ms>', description: 'drop a session silent this long (default 30000)', kind: 'integer', min: 1 },
        { key: 'accounts', flag: '--accounts <n>', description: 'accounts user1..userN / pass1..passN (default 2)', kind: 'integer', min: 1, max: 100_000 },
        { key: 'extraAccounts', flag: '--account <name:password>', description: 'one more account (repeatable), e.g. mallory:secret', kind: 'entries' },
      ],
      program: { transport: 'stream', configure: (setup) => pingServer(fixedServerOptions, setup) },
      // N sessions (accounts user1..userN), each a loop of CHAT, answered by its echo.
      bench: {
        serveArgs: (n) => ['--accounts', String(n)],
        setup: (i) => [
          { send: { mtype: PingMtype.versionRequest, payload: { supported_versions: [...pingSupportedVersions] } } },
          {
            send: { mtype: PingMtype.loginRequest, payload: { username: `user${i + 1}`, password: `pass${i + 1}` } },
            outcome: (reply) => (payloadOf(reply).auth === 0 ? 'ok' : 'lost'),
            bind: (reply) => ({ id: payloadOf(reply).id }),
          },
        ],
        operation: (i, _n, seq, data) => [
          {
            send: { mtype: PingMtype.chatMessage, payload: { id: data.id, message: String(seq) } },
            outcome: (reply) => ((reply as { mtype?: unknown }).mtype === PingMtype.chatMessage ? 'ok' : 'lost'),
            delivers: (reply) => ((reply as { mtype?: unknown }).mtype === PingMtype.chatMessage ? [{ from: String(i), seq: Number(payloadOf(reply).message) }] : []),
          },
        ],
      },
    },
  };
}
