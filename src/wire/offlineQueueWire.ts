/**
 * The wire format of offline-queue (docs/protocols.md section 5, seed 004): the seed's two proto3
 * messages, built with protobufjs reflection at load time (no codegen step), the opcodes, and the
 * two framings: `raw` (one message per socket read, as the seed) and `length-delimited` (a protobuf
 * varint byte count before each message, protosim's default).
 */
import protobuf from 'protobufjs';

/** The protocol version the seed speaks. */
export const offlineQueueVersion = '0.1';

/** Requests. */
export const ClientOp = { create: 1, login: 2, send: 3, check: 4, delete: 5, list: 6, quit: 7 } as const;

/**
 * Replies, numbered as the seed. `error` (0) is protosim's own: a request that is malformed, over
 * a limit, or of an unsupported version, where the seed has no opcode to say so.
 */
export const ServerOp = {
  error: 0,
  created: 1,
  nameExists: 2,
  sent: 3,
  sendNotLoggedIn: 4,
  noSuchRecipient: 5,
  unread: 6,
  checkNotLoggedIn: 7,
  deleted: 8,
  deleteRefused: 9,
  listResult: 10,
  loggedOut: 11,
  quitNotLoggedIn: 12,
  loggedIn: 13,
  noSuchAccount: 14,
  alreadyLoggedIn: 15,
  switched: 16,
  push: 17,
  listFailed: 18,
} as const;

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

const root = new protobuf.Root();
const client2ServerType = new protobuf.Type('Client2Server')
  .add(new protobuf.Field('version', 1, 'string'))
  .add(new protobuf.Field('opcode', 2, 'int32'))
  .add(new protobuf.Field('sender', 3, 'string'))
  .add(new protobuf.Field('receiver', 4, 'string'))
  .add(new protobuf.Field('msg', 5, 'string'));
const server2ClientType = new protobuf.Type('Server2Client')
  .add(new protobuf.Field('version', 1, 'string'))
  .add(new protobuf.Field('opcode', 2, 'int32'))
  .add(new protobuf.Field('msg', 3, 'string'));
root.define('protosim.offlinequeue').add(client2ServerType).add(server2ClientType);

/** proto3 writes no field that holds its default value; protobufjs writes whatever is set, so drop them. */
function withoutDefaults(message: Record<string, string | number>): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const [key, value] of Object.entries(message)) if (value !== '' && value !== 0) out[key] = value;
  return out;
}

export function encodeServer2Client(message: Partial<Server2Client>): Uint8Array {
  return server2ClientType.encode(withoutDefaults({ version: offlineQueueVersion, ...message })).finish();
}

export function encodeClient2Server(message: Partial<Client2Server>): Uint8Array {
  return client2ServerType.encode(withoutDefaults({ version: offlineQueueVersion, ...message })).finish();
}

function decodeWith<T>(type: protobuf.Type, bytes: Uint8Array, defaults: T): T {
  const decoded = type.toObject(type.decode(bytes), { defaults: true, longs: Number }) as T;
  return { ...defaults, ...decoded };
}

/** Decodes a request; throws on malformed bytes. */
export function decodeClient2Server(bytes: Uint8Array): Client2Server {
  return decodeWith(client2ServerType, bytes, { version: '', opcode: 0, sender: '', receiver: '', msg: '' });
}

/** Decodes a reply; throws on malformed bytes. */
export function decodeServer2Client(bytes: Uint8Array): Server2Client {
  return decodeWith(server2ClientType, bytes, { version: '', opcode: 0, msg: '' });
}

/** Appends a protobuf varint. */
export function varint(value: number): Uint8Array {
  const out: number[] = [];
  let v = value;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return Uint8Array.from(out);
}

/** Prefixes a message with its varint length (protobuf's writeDelimited). */
export function delimit(message: Uint8Array): Buffer {
  return Buffer.concat([varint(message.length), message]);
}

/** What a framer yields: one message's bytes, or a problem (fatal ones end the connection). */
export type FrameEvent = { kind: 'frame'; bytes: Uint8Array } | { kind: 'error'; reason: string; fatal: boolean };

export interface Framer {
  push(chunk: Buffer): FrameEvent[];
  hasPartialFrame(): boolean;
}

/** Varint length-prefixed frames, each at most `maxFrameBytes`. */
export class LengthDelimitedFramer implements Framer {
  private buffer: Buffer = Buffer.alloc(0);
  private failed = false;

  constructor(private readonly maxFrameBytes: number) {}

  hasPartialFrame(): boolean {
    return this.buffer.length > 0;
  }

  push(chunk: Buffer): FrameEvent[] {
    if (this.failed) return [];
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    const events: FrameEvent[] = [];
    let offset = 0;
    for (;;) {
      let length = 0;
      let shift = 1;
      let i = offset;
      let complete = false;
      while (i < this.buffer.length && i - offset < 5) {
        const b = this.buffer[i++]!;
        length += (b & 0x7f) * shift;
        shift *= 0x80;
        if (b < 0x80) {
          complete = true;
          break;
        }
      }
      if (!complete) {
        if (i - offset >= 5) return this.fail(events, 'malformed length prefix');
        break;
      }
      if (length > this.maxFrameBytes) {
        return this.fail(events, `frame of ${length} bytes exceeds maxFrameBytes=${this.maxFrameBytes}`);
      }
      if (this.buffer.length - i < length) break;
      events.push({ kind: 'frame', bytes: this.buffer.subarray(i, i + length) });
      offset = i + length;
    }
    // Copy the remainder so a half frame does not pin the socket's whole chunk.
    this.buffer = offset === this.buffer.length ? Buffer.alloc(0) : Buffer.from(this.buffer.subarray(offset));
    return events;
  }

  private fail(events: FrameEvent[], reason: string): FrameEvent[] {
    this.failed = true;
    this.buffer = Buffer.alloc(0);
    events.push({ kind: 'error', reason, fatal: true });
    return events;
  }
}

/**
 * The seed's framing: whatever one read returns is one message. Requests written back to back
 * arrive in one read and the seed parses them as one merged message; this framer splits them again
 * where the field numbers start over, since every protobuf encoder writes fields in ascending
 * order (so a field number not above the previous one begins the next message).
 */
export class RawFramer implements Framer {
  constructor(private readonly maxFrameBytes: number) {}

  hasPartialFrame(): boolean {
    return false;
  }

  push(chunk: Buffer): FrameEvent[] {
    const pieces = splitConcatenatedMessages(chunk);
    return pieces.map((bytes) =>
      bytes.length > this.maxFrameBytes
        ? { kind: 'error', reason: `message of ${bytes.length} bytes exceeds maxFrameBytes=${this.maxFrameBytes}`, fatal: false }
        : { kind: 'frame', bytes },
    );
  }
}

/** Splits back-to-back protobuf messages at each field-number restart; malformed input stays whole. */
export function splitConcatenatedMessages(bytes: Uint8Array): Uint8Array[] {
  const pieces: Uint8Array[] = [];
  let start = 0;
  let previousField = 0;
  let offset = 0;
  const readVarint = (): number | undefined => {
    let value = 0;
    let shift = 1;
    for (let n = 0; n < 10; n++) {
      const b = bytes[offset++];
      if (b === undefined) return undefined;
      value += (b & 0x7f) * shift;
      shift *= 0x80;
      if (b < 0x80) return value;
    }
    return undefined;
  };
  while (offset < bytes.length) {
    const fieldStart = offset;
    const tag = readVarint();
    if (tag === undefined) return [bytes];
    const field = Math.floor(tag / 8);
    const wireType = tag % 8;
    if (field <= previousField && fieldStart > start) {
      pieces.push(bytes.subarray(start, fieldStart));
      start = fieldStart;
    }
    previousField = field;
    if (wireType === 0) {
      if (readVarint() === undefined) return [bytes];
    } else if (wireType === 2) {
      const length = readVarint();
      if (length === undefined || offset + length > bytes.length) return [bytes];
      offset += length;
    } else if (wireType === 1) {
      offset += 8;
    } else if (wireType === 5) {
      offset += 4;
    } else {
      return [bytes]; // groups and invalid wire types: let the decoder report it
    }
  }
  if (offset > bytes.length) return [bytes];
  pieces.push(bytes.subarray(start));
  return pieces;
}
