/**
 * The codecs the harness speaks to stream targets: how a case's message (plain JSON data in the
 * suite file) becomes bytes, how the target's bytes become messages again, and how the fault proxy
 * finds message boundaries. Which codecs a protocol speaks, with what schema, and how a case's
 * message is checked and completed for the wire is its package's (`live.codecs`, through the
 * registry); the byte formats themselves live in src/wire, shared with the servers:
 *
 *  - `json-lines`: one JSON object per line;
 *  - `gob`: Go gob values of the package's struct, each after its type definition (as the seeds
 *    send them);
 *  - `protobuf`: the schema's request type out, its reply type back, `length-delimited` or `raw`
 *    framing.
 */
import type { LiveCodecSpec, Outgoing } from '../models/live-types.js';
import { liveProtocolNamed } from '../models/registry.js';
import { encodeGobMessage, GobDecoder, type GobMessage, type GobStruct } from '../wire/gob.js';
import { LineFramer } from '../wire/line-framer.js';
import {
  decodeProtobuf,
  delimit,
  encodeProtobuf,
  LengthDelimitedFramer,
  RawFramer,
  splitConcatenatedMessages,
  type Framer,
  type ProtobufSchema,
} from '../wire/protobuf.js';
import type { CodecName, FramingName } from '../scenario/target-schema.js';
import type { FrameSplitter, ProxyDirection } from './fault-proxy.js';

/** A message the target sent, or bytes that are not one. */
export type Decoded = { kind: 'message'; msg: unknown } | { kind: 'invalid'; reason: string; fatal: boolean };

export interface StreamDecoder {
  push(chunk: Buffer): Decoded[];
}

/** A message in a case cannot be encoded by this codec (a mistake in the suite file). */
export class EncodeError extends Error {}

export interface LiveCodec {
  /** `json-lines`, `gob`, `protobuf/raw`... for reports */
  name: string;
  encode(msg: unknown): Buffer;
  /** reads the server's messages; `side: 'request'` reads a client's instead (codecs whose two directions differ: protobuf) */
  decoder(maxFrameBytes: number, side?: 'request' | 'reply'): StreamDecoder;
  /** for the proxy's codec-aware drop */
  splitter(direction: ProxyDirection, maxFrameBytes: number): FrameSplitter | undefined;
  /** raw framing: one request may be in flight at a time (docs/protocols.md section 5) */
  oneInFlight: boolean;
}

/** The wire message for a case's message, or an EncodeError saying why it cannot be sent. */
function wireOf(outgoing: (msg: unknown) => Outgoing, msg: unknown): Record<string, unknown> {
  const o = outgoing(msg);
  if ('problem' in o) throw new EncodeError(o.problem);
  return o.wire;
}

/** Newline splitter for the proxy; a line over the limit is passed on as it is. */
function lineSplitter(maxFrameBytes: number): FrameSplitter {
  let partial: Buffer = Buffer.alloc(0);
  return {
    push(chunk) {
      const data = partial.length ? Buffer.concat([partial, chunk]) : chunk;
      const frames: Buffer[] = [];
      let start = 0;
      for (let nl = data.indexOf(0x0a); nl !== -1; nl = data.indexOf(0x0a, start)) {
        frames.push(data.subarray(start, nl + 1));
        start = nl + 1;
      }
      partial = Buffer.from(data.subarray(start));
      if (partial.length > maxFrameBytes) {
        frames.push(partial);
        partial = Buffer.alloc(0);
      }
      return frames;
    },
  };
}

function jsonLinesCodec(outgoing: (msg: unknown) => Outgoing): LiveCodec {
  return {
    name: 'json-lines',
    oneInFlight: false,
    encode: (msg) => Buffer.from(`${JSON.stringify(wireOf(outgoing, msg))}\n`),
    decoder: jsonLineDecoder,
    splitter: (_direction, maxFrameBytes) => lineSplitter(maxFrameBytes),
  };
}

function jsonLineDecoder(maxFrameBytes: number): StreamDecoder {
  const framer = new LineFramer(maxFrameBytes);
  let failed = false;
  return {
    push(chunk) {
      if (failed) return [];
      const out: Decoded[] = [];
      for (const event of framer.push(chunk)) {
        if (event.kind === 'too-long') {
          failed = true;
          out.push({ kind: 'invalid', reason: `a line longer than maxFrameBytes=${maxFrameBytes} (${event.bytes} bytes without a newline)`, fatal: true });
          break;
        }
        if (event.text.trim() === '') continue;
        try {
          out.push({ kind: 'message', msg: JSON.parse(event.text) as unknown });
        } catch {
          out.push({ kind: 'invalid', reason: `a line that is not JSON: ${preview(event.text)}`, fatal: false });
        }
      }
      return out;
    },
  };
}

/** gob messages by their length prefix; type definitions are not messages for drop. */
function gobSplitter(maxFrameBytes: number): FrameSplitter {
  let partial: Buffer = Buffer.alloc(0);
  return {
    push(chunk) {
      let data = partial.length ? Buffer.concat([partial, chunk]) : chunk;
      const frames: Buffer[] = [];
      for (;;) {
        if (data.length === 0) break;
        const first = data[0]!;
        let length: number;
        let header: number;
        if (first < 0x80) {
          length = first;
          header = 1;
        } else {
          const count = 256 - first;
          if (count <= 8 && data.length < 1 + count) break;
          length = count > 8 ? Infinity : 0;
          for (let i = 0; i < count && count <= 8; i++) length = length * 256 + data[1 + i]!;
          header = 1 + count;
        }
        if (length > maxFrameBytes) {
          frames.push(data); // not gob: pass it on and stop framing this read
          data = Buffer.alloc(0);
          break;
        }
        if (data.length < header + length) break;
        frames.push(data.subarray(0, header + length));
        data = data.subarray(header + length);
      }
      partial = Buffer.from(data);
      return frames;
    },
    isMessage(frame) {
      // After the length comes the signed type id; its low bit is the sign, set for a definition.
      const readUint = (at: number): { value: number; next: number } | undefined => {
        const b = frame[at];
        if (b === undefined) return undefined;
        if (b < 0x80) return { value: b, next: at + 1 };
        let value = 0;
        for (let i = 1; i <= 256 - b; i++) value = value * 256 + (frame[at + i] ?? 0);
        return { value, next: at + 1 + (256 - b) };
      };
      const length = readUint(0);
      const id = length === undefined ? undefined : readUint(length.next);
      return id !== undefined && id.value % 2 === 0;
    },
  };
}

function gobLiveCodec(struct: GobStruct, outgoing: (msg: unknown) => Outgoing): LiveCodec {
  return {
    name: 'gob',
    oneInFlight: false,
    encode: (msg) => encodeGobMessage(struct, wireOf(outgoing, msg) as GobMessage),
    decoder(maxFrameBytes) {
      const decoder = new GobDecoder(struct, maxFrameBytes);
      return {
        push: (chunk) =>
          decoder.push(chunk).map((e): Decoded => (e.kind === 'message' ? { kind: 'message', msg: e.message } : { kind: 'invalid', reason: `bad gob stream: ${e.reason}`, fatal: true })),
      };
    },
    splitter: (_direction, maxFrameBytes) => gobSplitter(maxFrameBytes),
  };
}

function protobufCodec(schema: ProtobufSchema, outgoing: (msg: unknown) => Outgoing, framing: FramingName): LiveCodec {
  const raw = framing === 'raw';
  return {
    name: `protobuf/${framing}`,
    oneInFlight: raw,
    encode(msg) {
      const bytes = encodeProtobuf(schema, 'request', wireOf(outgoing, msg));
      return raw ? Buffer.from(bytes) : delimit(bytes);
    },
    decoder(maxFrameBytes, side = 'reply') {
      const framer: Framer = raw ? new RawFramer(maxFrameBytes) : new LengthDelimitedFramer(maxFrameBytes);
      return {
        push(chunk) {
          const out: Decoded[] = [];
          for (const event of framer.push(chunk)) {
            if (event.kind === 'error') {
              out.push({ kind: 'invalid', reason: event.reason, fatal: event.fatal });
              continue;
            }
            try {
              const reply = decodeProtobuf(schema, side, event.bytes);
              out.push({ kind: 'message', msg: reply });
            } catch (error) {
              out.push({ kind: 'invalid', reason: `not a ${schema.reply.name} message (${(error as Error).message}): ${Buffer.from(event.bytes).toString('hex').slice(0, 80)}`, fatal: false });
            }
          }
          return out;
        },
      };
    },
    splitter(_direction, maxFrameBytes) {
      if (raw) return { push: (chunk) => splitConcatenatedMessages(chunk).map((b) => Buffer.from(b)) };
      let partial: Buffer = Buffer.alloc(0);
      return {
        push(chunk) {
          let data = partial.length ? Buffer.concat([partial, chunk]) : chunk;
          const frames: Buffer[] = [];
          for (;;) {
            let length = 0;
            let shift = 1;
            let i = 0;
            let complete = false;
            while (i < data.length && i < 5) {
              const b = data[i++]!;
              length += (b & 0x7f) * shift;
              shift *= 0x80;
              if (b < 0x80) {
                complete = true;
                break;
              }
            }
            if (!complete || length > maxFrameBytes) {
              if (i >= 5 || length > maxFrameBytes) {
                frames.push(data);
                data = Buffer.alloc(0);
              }
              break;
            }
            if (data.length < i + length) break;
            frames.push(data.subarray(0, i + length));
            data = data.subarray(i + length);
          }
          partial = Buffer.from(data);
          return frames;
        },
      };
    },
  };
}

/** The live codec of a package's codec spec; null for the IM HTTP interface (its own client, im-http-client.ts). */
export function liveCodecOf(spec: LiveCodecSpec, framing: FramingName): LiveCodec | null {
  switch (spec.format) {
    case 'json-lines':
      return jsonLinesCodec(spec.outgoing);
    case 'gob':
      return gobLiveCodec(spec.struct, spec.outgoing);
    case 'protobuf':
      return protobufCodec(spec.schema, spec.outgoing, framing);
    case 'im-http':
      return null;
  }
}

/**
 * The codec for a protocol (a live protocol, or a protocol it serves), a codec name and a framing;
 * null when the combination does not exist, and for the IM HTTP interface (im-http-client.ts).
 */
export function liveCodecFor(protocol: string, codec: CodecName | string, framing: FramingName): LiveCodec | null {
  const spec = liveProtocolNamed(protocol)?.codecs.find((c) => c.name === codec);
  return spec === undefined ? null : liveCodecOf(spec, framing);
}

/** At most 120 characters of text, printable. */
export function preview(text: string, max = 120): string {
  const clean = text.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return clean.length > max ? `${JSON.stringify(clean.slice(0, max))}... (${text.length} characters)` : JSON.stringify(clean);
}

/**
 * The JSON-lines codec's messages as QUIC carries them (the seed's ping-liveness framing): one JSON
 * object per stream write, no newline. Reading is the QUIC connection's (a JSON object splitter per
 * stream, src/transports/quic-transport.ts); the UDP proxy sees datagrams, not messages (no splitter).
 */
export function quicObjectCodec(lines: LiveCodec): LiveCodec {
  return {
    name: 'quic-json',
    oneInFlight: false,
    encode(msg) {
      const bytes = lines.encode(msg);
      return bytes[bytes.length - 1] === 0x0a ? bytes.subarray(0, bytes.length - 1) : bytes;
    },
    decoder: (maxFrameBytes) => lines.decoder(maxFrameBytes),
    splitter: () => undefined,
  };
}
