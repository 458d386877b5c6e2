/**
 * Protocol Buffers on a stream, for any package's schema (offline-queue's two proto3 messages,
 * docs/protocols.md section 5): the message types built with protobufjs reflection at load time (no
 * codegen step), proto3 encoding that writes no field holding its default value, and the two
 * framings: `raw` (one message per socket read, as the seed) and `length-delimited` (a protobuf
 * varint byte count before each message, protosim's default).
 */
import protobuf from 'protobufjs';
import type { ProtobufMessageType, ProtobufSchema } from '../models/live-types.js';

export type { ProtobufSchema };

/** Which of the schema's messages: what clients send, or what the server sends. */
export type ProtobufSide = 'request' | 'reply';

const built = new WeakMap<ProtobufSchema, { request: protobuf.Type; reply: protobuf.Type }>();

function typeOf(schema: ProtobufSchema, side: ProtobufSide): protobuf.Type {
  let types = built.get(schema);
  if (types === undefined) {
    const make = (m: ProtobufMessageType): protobuf.Type => m.fields.reduce((t, f) => t.add(new protobuf.Field(f.name, f.id, f.type)), new protobuf.Type(m.name));
    types = { request: make(schema.request), reply: make(schema.reply) };
    new protobuf.Root().define(schema.package).add(types.request).add(types.reply);
    built.set(schema, types);
  }
  return types[side];
}

/** proto3 writes no field that holds its default value; protobufjs writes whatever is set, so drop them. */
function withoutDefaults(message: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(message)) if (value !== '' && value !== 0 && value !== false && value !== undefined) out[key] = value;
  return out;
}

/** Encodes a message of the schema (its `fill` fields unless given). */
export function encodeProtobuf(schema: ProtobufSchema, side: ProtobufSide, message: Record<string, unknown>): Uint8Array {
  return typeOf(schema, side).encode(withoutDefaults({ ...schema.fill, ...message })).finish();
}

/** Decodes a message of the schema, every field present (unset ones at their zero value); throws on malformed bytes. */
export function decodeProtobuf(schema: ProtobufSchema, side: ProtobufSide, bytes: Uint8Array): Record<string, unknown> {
  const type = typeOf(schema, side);
  const zero = Object.fromEntries(schema[side].fields.map((f) => [f.name, f.type === 'string' ? '' : f.type === 'bool' ? false : 0]));
  return { ...zero, ...(type.toObject(type.decode(bytes), { defaults: true, longs: Number }) as Record<string, unknown>) };
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
