/**
 * The offline-queue reference server (docs/protocols.md section 5, seed 004): the `fixed` rules of
 * src/models/offline-queue/serve.ts (the same functions the live oracle steps) on the generic stream
 * host, over Protocol Buffers with the seed's schema, length-delimited (default) or raw framing.
 *
 * What this file adds to the rules, and only this:
 *  - the wire: Client2Server in, Server2Client out; the rules' "refused" reply (19) is opcode 0 with
 *    the reason, and "logged out because opened elsewhere" (20) is docs/protocols.md's 11. A request of
 *    another version than 0.1 or an opcode outside 1..7 never reaches the rules: it gets opcode 0;
 *  - the delivery confirmation the seed asks for, without an ack opcode on the wire (the same
 *    reading as the oracle's mapping, src/conformance/offlineQueueMapping.ts): a push counts as
 *    confirmed, and the host steps the rules' `ack` for it, once its bytes left us and the recipient
 *    then sends anything, closes cleanly, or `deliveryConfirmMs` passes without a connection error.
 *    A push not confirmed when its connection fails or is closed by the server goes back to the
 *    recipient's queue (the rules' `disconnect`). Within that window a recipient that did read the
 *    push may see it again on check: where the outcome is indefinite a duplicate beats a loss;
 *  - the named defects: all but one are options of the rules (`QueueDefects`); `lose-back-to-back`
 *    is a variation of the host (only the first request of one read is served).
 */
import { fixedServerOptions } from '../../models/offline-queue/index.js';
import type { QueueLimits } from '../../models/offline-queue/limits.js';
import { Op, Reply, request as queueRequest, type QueueReply } from '../../models/offline-queue/messages.js';
import { disconnect, initialQueueContext, serve, type QueueDefects, type QueueServerContext, type QueueServerOptions, type ServeResult } from '../../models/offline-queue/serve.js';
import {
  decodeClient2Server,
  delimit,
  encodeServer2Client,
  LengthDelimitedFramer,
  offlineQueueVersion,
  RawFramer,
  ServerOp,
  type Client2Server,
  type Server2Client,
} from '../../wire/offlineQueueWire.js';
import type { ServerLimits } from '../serverOptions.js';
import type { Decoded, HostApi, RulesRunner, StreamCodec, StreamProtocol } from '../streamHost.js';

/** The seed's sizes: names at most 25 characters, messages at most 100; one read is 1024 bytes. */
export const offlineQueueLimitDefaults: Partial<ServerLimits> = {
  maxNameChars: 25,
  maxMessageChars: 100,
  maxFrameBytes: 1024,
};

export interface OfflineQueueConfig {
  limits: ServerLimits;
  defect: string | undefined;
  framing: 'length-delimited' | 'raw';
  deliveryConfirmMs: number;
}

/** The defects that are variations of the rules. */
const ruleDefects: Record<string, QueueDefects> = {
  'drop-offline-queue': { dropOfflineQueue: true },
  'reorder-queue': { newestFirst: true },
  'trust-sender-field': { authorFromSenderField: true },
  'deliver-to-deleted': { deliverToDeleted: true },
  'regex-pattern': { regexPatterns: true },
  'drop-on-dead-connection': { dropUnconfirmed: true },
};

/** The rules' options for a server with these limits and defect: the model's `fixed` variant. */
export function offlineQueueRuleOptions(limits: QueueLimits, defect: string | undefined): QueueServerOptions {
  return { ...fixedServerOptions, limits, ...(defect !== undefined && ruleDefects[defect] ? { defects: ruleDefects[defect] } : {}) };
}

/** The wire form of a reply of the rules. */
export function toServer2Client(r: QueueReply): Pick<Server2Client, 'opcode' | 'msg'> {
  const opcode = r.opcode === Reply.tooLong ? ServerOp.error : r.opcode === Reply.forcedOut ? ServerOp.loggedOut : r.opcode;
  return { opcode, msg: r.msg };
}

function codec(framing: OfflineQueueConfig['framing']): StreamCodec<Client2Server, Pick<Server2Client, 'opcode' | 'msg'>> {
  return {
    decoder(limits) {
      const framer = framing === 'raw' ? new RawFramer(limits.maxFrameBytes) : new LengthDelimitedFramer(limits.maxFrameBytes);
      return {
        push(chunk) {
          return framer.push(chunk).map((event): Decoded<Client2Server> => {
            if (event.kind === 'error') return event;
            try {
              return { kind: 'request', request: decodeClient2Server(event.bytes) };
            } catch (error) {
              return { kind: 'error', reason: `bad request: not a Client2Server message (${(error as Error).message})`, fatal: false };
            }
          });
        },
        hasPartialFrame: () => framer.hasPartialFrame(),
      };
    },
    encode: framing === 'raw' ? (out) => encodeServer2Client(out) : (out) => delimit(encodeServer2Client(out)),
    errorReply: (text) => ({ opcode: ServerOp.error, msg: text }),
  };
}

/** A push written to a connection and not yet confirmed: when its bytes left us, if they did. */
interface Unconfirmed {
  flushedAtMs: number | undefined;
}

function runner(config: OfflineQueueConfig, host: HostApi<Pick<Server2Client, 'opcode' | 'msg'>>): RulesRunner<Client2Server> {
  const { limits, deliveryConfirmMs } = config;
  const options = offlineQueueRuleOptions(limits, config.defect);
  let ctx: QueueServerContext = initialQueueContext();
  /** per connection, per push ref */
  const unconfirmed = new Map<string, Map<number, Unconfirmed>>();

  function apply(r: ServeResult): void {
    ctx = { ...ctx, ...r.patch };
    for (const e of r.effects) {
      if (e.type === 'cancelAckTimer') {
        for (const refs of unconfirmed.values()) refs.delete(e.ref);
      } else if (e.type === 'send') {
        const { to, msg } = e.params as { to: string; msg: QueueReply };
        const tracked: Unconfirmed | undefined = msg.ref === undefined ? undefined : { flushedAtMs: undefined };
        if (tracked !== undefined) {
          const refs = unconfirmed.get(to) ?? new Map<number, Unconfirmed>();
          refs.set(msg.ref!, tracked);
          unconfirmed.set(to, refs);
        }
        host.send(to, toServer2Client(msg), (error) => {
          if (error === undefined && tracked !== undefined) tracked.flushedAtMs = Date.now();
        });
      } else if (e.type === 'print' && e.params.data?.event === 'requeue') {
        host.log(`offline-queue: ${e.params.text}`);
      }
    }
  }

  /** Confirms the pushes to `conn` whose bytes left us before `beforeMs` (the rules' ack). */
  function confirm(conn: string, beforeMs = Number.POSITIVE_INFINITY): void {
    const refs = unconfirmed.get(conn);
    if (refs === undefined) return;
    for (const [ref, u] of [...refs]) {
      if (u.flushedAtMs !== undefined && u.flushedAtMs <= beforeMs) apply(serve(ctx, conn, queueRequest(Op.ack, { msg: String(ref) }), options));
    }
  }

  const sweeper = setInterval(() => {
    for (const conn of [...unconfirmed.keys()]) confirm(conn, Date.now() - deliveryConfirmMs);
  }, Math.max(10, Math.min(deliveryConfirmMs, 1000) / 2));
  sweeper.unref();

  return {
    heard: (conn) => confirm(conn),
    request(conn, req) {
      if (req.version !== offlineQueueVersion) {
        host.send(conn, { opcode: ServerOp.error, msg: `unsupported version ${JSON.stringify(req.version)}; this server speaks ${offlineQueueVersion}` });
        return;
      }
      if (!Number.isInteger(req.opcode) || req.opcode < Op.create || req.opcode > Op.quit) {
        host.send(conn, { opcode: ServerOp.error, msg: `unknown opcode ${req.opcode}; requests are 1..7` });
        return;
      }
      apply(serve(ctx, conn, queueRequest(req.opcode, { sender: req.sender, receiver: req.receiver, msg: req.msg }), options));
    },
    closed(conn, info) {
      // A clean close: what reached the kernel before it was read (an unread push makes the peer's
      // close a reset, not a clean close) counts as delivered; the rest goes back to the queue.
      if (!info.hadError && !info.byServer) confirm(conn);
      apply(disconnect(ctx, conn, info.reason, options));
      unconfirmed.delete(conn);
    },
    shutdown: () => clearInterval(sweeper),
  };
}

/** The offline-queue server as a plug-in of the stream host. */
export function offlineQueueProtocol(config: OfflineQueueConfig): StreamProtocol<Client2Server, Pick<Server2Client, 'opcode' | 'msg'>> {
  return {
    name: 'offline-queue',
    codec: codec(config.framing),
    ...(config.defect === 'lose-back-to-back' ? { perRead: (decoded: Decoded<Client2Server>[]) => decoded.slice(0, 1) } : {}),
    rules: (host) => runner(config, host),
  };
}
