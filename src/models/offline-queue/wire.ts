/**
 * offline-queue on the wire (docs/protocols.md section 5, seed 004): the seed's two proto3 messages
 * (the protobuf byte work is src/wire's), the opcodes as the seed numbers them, how the rules'
 * replies are written, and how a model client's messages look on the wire.
 */
import type { ClientWire, Outgoing, ProtobufSchema } from '../live-types.js';
import { checkWireFields } from '../wire-fields.js';
import { Reply, type QueueReply } from './messages.js';

/** The protocol version the seed speaks. */
export const offlineQueueVersion = '0.1';

/** Requests. */
export const ClientOp = { create: 1, login: 2, send: 3, check: 4, delete: 5, list: 6, quit: 7 } as const;

/**
 * Replies, numbered as the seed. `error` (0) is protosim's own: a request that is malformed, over
 * a limit, or of an unsupported version, where the seed has no opcode to say so. The others are
 * `Reply` (messages.ts) without the fixed variant's own 19 and 20.
 */
export const ServerOp = (({ pushed, tooLong: _tooLong, forcedOut: _forcedOut, ...seed }) => ({ error: 0, ...seed, push: pushed }) as const)(Reply);

export interface Client2Server {
  version: string;
  opcode: number;
  sender: string;
  receiver: string;
  msg: string;
}

export interface Server2Client {
  version: string;
  opcode: number;
  msg: string;
}

/** The seed's schema; every message carries the version unless it says another. */
export const offlineQueueSchema: ProtobufSchema = {
  package: 'protosim.offlinequeue',
  request: {
    name: 'Client2Server',
    fields: [
      { name: 'version', id: 1, type: 'string' },
      { name: 'opcode', id: 2, type: 'int32' },
      { name: 'sender', id: 3, type: 'string' },
      { name: 'receiver', id: 4, type: 'string' },
      { name: 'msg', id: 5, type: 'string' },
    ],
  },
  reply: {
    name: 'Server2Client',
    fields: [
      { name: 'version', id: 1, type: 'string' },
      { name: 'opcode', id: 2, type: 'int32' },
      { name: 'msg', id: 3, type: 'string' },
    ],
  },
  fill: { version: offlineQueueVersion },
};

/** The wire form of a reply of the rules: "too long" (19) is protosim's 0, "logged out elsewhere" (20) the seed's 11. */
export function toServer2Client(r: QueueReply): Pick<Server2Client, 'opcode' | 'msg'> {
  const opcode = r.opcode === Reply.tooLong ? ServerOp.error : r.opcode === Reply.forcedOut ? ServerOp.loggedOut : r.opcode;
  return { opcode, msg: r.msg };
}

const requestFields = { version: 'string', opcode: 'number', sender: 'string', receiver: 'string', msg: 'string' } as const;

/** A suite case's request checked against Client2Server's fields. */
export function outgoingRequest(msg: unknown): Outgoing {
  return checkWireFields(msg, requestFields, { one: 'an offline-queue request', many: 'offline-queue requests', field: 'offline-queue field' });
}

/** A model client's requests on the wire, and replies back. */
export const offlineQueueClientWire: ClientWire = {
  requestToWire(msg) {
    // The fixed model's delivery confirmation (opcode 8) is not on docs/protocols.md's wire.
    if (msg.opcode === 8) return null;
    return { opcode: msg.opcode, sender: msg.sender ?? '', receiver: msg.receiver ?? '', msg: msg.msg ?? '' };
  },
  replyFromWire(wire) {
    const w = (wire ?? {}) as Record<string, unknown>;
    return typeof w.opcode === 'number' ? { type: 'REPLY', opcode: w.opcode, msg: typeof w.msg === 'string' ? w.msg : '' } : null;
  },
};
