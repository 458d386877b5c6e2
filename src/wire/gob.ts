/**
 * A small Go `encoding/gob` codec for streams of one struct type with string and bool fields (a
 * protocol package names the struct: register-exit's `Message{To, From, Content string; Register,
 * Exit bool}`, docs/protocols.md section 4), written from the gob specification
 * (https://pkg.go.dev/encoding/gob):
 *
 *  - unsigned integers: below 128 one byte; otherwise one byte holding the negated byte count,
 *    then the value big-endian in that many bytes (256 → `FE 01 00`);
 *  - signed integers: an unsigned one whose low bit is the sign: `i >= 0 ? i << 1 : (~i << 1) | 1`;
 *  - strings and byte slices: unsigned length, then the bytes; bools: unsigned 0 or 1;
 *  - a struct: for each non-zero field, the unsigned delta from the previous field number (the
 *    first field is number 0, starting from -1), then its value; a 0 delta ends the struct;
 *  - a stream is a sequence of messages, each an unsigned byte count then a signed type id: a
 *    negative id `-t` is followed by the definition of type `t` (a `wireType`), a positive id by a
 *    value of that type. User types get ids from 65 on, so the struct is 65.
 *
 * The seed makes a new encoder per message, so every message on the wire is its type definition
 * then its value; `encodeGobMessage` does the same, byte for byte. The decoder reads the type
 * definition a stream sends (once, as a real Go client with one encoder does, or before every
 * value, as the seed does), maps fields by name, and skips fields it does not know, as gob does.
 */
import type { GobStruct } from '../models/live-types.js';

export type { GobStruct };

/** A value of the struct: its fields by name (strings and bools). */
export type GobMessage = Record<string, string | boolean>;

/** gob's predefined type ids used here. */
export const GobTypeId = { bool: 1, int: 2, uint: 3, float: 4, bytes: 5, string: 6, complex: 7, message: 65 } as const;

/** A malformed or unsupported gob stream; the stream cannot be resynchronised after it. */
export class GobError extends Error {}

/** The struct's fields in declaration order (their gob field number), with gob's type ids. */
function fieldsOf(struct: GobStruct): { name: string; type: number }[] {
  return struct.fields.map((f) => ({ name: f.name, type: f.type === 'bool' ? GobTypeId.bool : GobTypeId.string }));
}

/** The zero value of the struct. */
export function zeroGobMessage(struct: GobStruct): GobMessage {
  return Object.fromEntries(struct.fields.map((f) => [f.name, f.type === 'bool' ? false : '']));
}

/** Appends gob's unsigned encoding of `value` (a safe non-negative integer). */
export function writeGobUint(out: number[], value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new GobError(`cannot encode ${value} as a gob uint`);
  if (value < 0x80) {
    out.push(value);
    return;
  }
  const bytes: number[] = [];
  for (let v = value; v > 0; v = Math.floor(v / 256)) bytes.unshift(v % 256);
  out.push(256 - bytes.length, ...bytes);
}

/** Appends gob's signed encoding of `value`. */
export function writeGobInt(out: number[], value: number): void {
  writeGobUint(out, value < 0 ? (-value - 1) * 2 + 1 : value * 2);
}

function writeGobString(out: number[], value: string): void {
  const bytes = Buffer.from(value, 'utf8');
  writeGobUint(out, bytes.length);
  for (const b of bytes) out.push(b);
}

const definitions = new WeakMap<GobStruct, Uint8Array>();

/**
 * The body of the type-definition message for the struct (without its length prefix): type id -65,
 * then `wireType{StructT: &structType{CommonType{Name: "Message", Id: 65}, Field: [...]}}`; for
 * register-exit's `Message`, 71 bytes, as docs/protocols.md says (the fixture test spells out every byte).
 */
export function gobTypeDefinition(struct: GobStruct): Uint8Array {
  const known = definitions.get(struct);
  if (known !== undefined) return known;
  const messageFields = fieldsOf(struct);
  const out: number[] = [];
  writeGobInt(out, -GobTypeId.message); // a definition of type 65 follows
  writeGobUint(out, 3); // wireType field 2 (StructT): delta 3 from -1
  writeGobUint(out, 1); // structType field 0 (CommonType, embedded)
  writeGobUint(out, 1); //   CommonType field 0: Name
  writeGobString(out, struct.name);
  writeGobUint(out, 1); //   CommonType field 1: Id
  writeGobInt(out, GobTypeId.message);
  out.push(0); //   end of CommonType
  writeGobUint(out, 1); // structType field 1: Field, a slice of fieldType
  writeGobUint(out, messageFields.length);
  for (const field of messageFields) {
    writeGobUint(out, 1); // fieldType field 0: Name
    writeGobString(out, field.name);
    writeGobUint(out, 1); // fieldType field 1: Id
    writeGobInt(out, field.type);
    out.push(0); // end of fieldType
  }
  out.push(0); // end of structType
  out.push(0); // end of wireType
  const definition = Uint8Array.from(out);
  definitions.set(struct, definition);
  return definition;
}

/** The body of a value message for `message` (without its length prefix): type id 65, then the struct. */
export function encodeGobMessageValue(struct: GobStruct, message: Partial<GobMessage>): Uint8Array {
  const out: number[] = [];
  writeGobInt(out, GobTypeId.message);
  let previous = -1;
  fieldsOf(struct).forEach((field, index) => {
    const value = message[field.name];
    if (value === undefined || value === '' || value === false) return; // zero values are omitted
    writeGobUint(out, index - previous);
    previous = index;
    if (field.type === GobTypeId.bool) writeGobUint(out, 1);
    else writeGobString(out, value as string);
  });
  out.push(0);
  return Uint8Array.from(out);
}

/** Prefixes a message body with its gob byte count. */
export function frameGob(body: Uint8Array): Buffer {
  const prefix: number[] = [];
  writeGobUint(prefix, body.length);
  return Buffer.concat([Uint8Array.from(prefix), body]);
}

/** One message as the seed's sender writes it with a fresh encoder: type definition, then value. */
export function encodeGobMessage(struct: GobStruct, message: Partial<GobMessage>): Buffer {
  return Buffer.concat([frameGob(gobTypeDefinition(struct)), frameGob(encodeGobMessageValue(struct, message))]);
}

/** A struct type a stream defined: its fields by number. */
interface StructDefinition {
  name: string;
  fields: { name: string; type: number }[];
}

/** Reads gob primitives from one message body; every read is bounds-checked. */
class GobReader {
  offset = 0;
  constructor(private readonly bytes: Uint8Array) {}

  get done(): boolean {
    return this.offset >= this.bytes.length;
  }

  byte(): number {
    const b = this.bytes[this.offset];
    if (b === undefined) throw new GobError('truncated gob message');
    this.offset++;
    return b;
  }

  uint(): number {
    const first = this.byte();
    if (first < 0x80) return first;
    const count = 256 - first;
    if (count > 7) throw new GobError(`gob integer of ${count} bytes is too large`);
    let value = 0;
    for (let i = 0; i < count; i++) value = value * 256 + this.byte();
    if (!Number.isSafeInteger(value)) throw new GobError('gob integer is too large');
    return value;
  }

  int(): number {
    const u = this.uint();
    return u % 2 === 1 ? -(u - 1) / 2 - 1 : u / 2;
  }

  bytesOf(): Uint8Array {
    const length = this.uint();
    if (length > this.bytes.length - this.offset) throw new GobError('gob string runs past the end of its message');
    const out = this.bytes.subarray(this.offset, this.offset + length);
    this.offset += length;
    return out;
  }

  string(): string {
    return Buffer.from(this.bytesOf()).toString('utf8');
  }

  /** Calls `field(number)` for each field present; the callback must consume the value. */
  struct(field: (fieldNumber: number) => void, maxFields: number): void {
    let number = -1;
    for (;;) {
      const delta = this.uint();
      if (delta === 0) return;
      number += delta;
      if (number >= maxFields) throw new GobError(`gob field number ${number} out of range`);
      field(number);
    }
  }
}

/** What a decoder produces. */
export type GobEvent = { kind: 'message'; message: GobMessage } | { kind: 'error'; reason: string };

/**
 * Decodes a gob stream of the struct's values incrementally. After an error the stream is unusable
 * (gob has no resynchronisation point) and the caller should close the connection.
 */
export class GobDecoder {
  private buffer: Buffer = Buffer.alloc(0);
  private readonly types = new Map<number, StructDefinition>();
  private failed = false;
  private readonly messageFields: { name: string; type: number }[];

  constructor(
    private readonly struct: GobStruct,
    private readonly maxFrameBytes: number,
  ) {
    this.messageFields = fieldsOf(struct);
  }

  hasPartialFrame(): boolean {
    return this.buffer.length > 0;
  }

  push(chunk: Buffer): GobEvent[] {
    if (this.failed) return [];
    this.buffer = this.buffer.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.buffer, chunk]);
    const events: GobEvent[] = [];
    try {
      for (;;) {
        const header = new GobReader(this.buffer);
        let length: number;
        try {
          length = header.uint();
        } catch (error) {
          if (this.buffer.length >= 9) throw error; // a complete but invalid length
          break; // the length prefix itself is incomplete
        }
        if (length > this.maxFrameBytes) throw new GobError(`gob message of ${length} bytes exceeds maxFrameBytes=${this.maxFrameBytes}`);
        if (length === 0) throw new GobError('empty gob message');
        if (this.buffer.length < header.offset + length) break;
        const body = this.buffer.subarray(header.offset, header.offset + length);
        this.buffer = this.buffer.subarray(header.offset + length);
        const message = this.decodeMessage(body);
        if (message !== undefined) events.push({ kind: 'message', message });
      }
    } catch (error) {
      this.failed = true;
      this.buffer = Buffer.alloc(0);
      events.push({ kind: 'error', reason: error instanceof Error ? error.message : String(error) });
    }
    if (this.buffer.length > 0) this.buffer = Buffer.from(this.buffer); // do not pin the chunk
    return events;
  }

  private decodeMessage(body: Uint8Array): GobMessage | undefined {
    const reader = new GobReader(body);
    const typeId = reader.int();
    if (typeId < 0) {
      const definition = readWireType(reader);
      const id = -typeId;
      if (id < 65) throw new GobError(`gob type id ${id} is reserved for predefined types`);
      this.types.set(id, definition);
      if (!reader.done) throw new GobError('trailing bytes after a gob type definition');
      return undefined;
    }
    const definition = this.types.get(typeId);
    if (definition === undefined) throw new GobError(`gob value of type ${typeId} before its type definition`);
    const message: GobMessage = zeroGobMessage(this.struct);
    reader.struct((number) => {
      const field = definition.fields[number]!;
      const known = this.messageFields.find((f) => f.name === field.name);
      if (known !== undefined && known.type !== field.type) {
        throw new GobError(`gob field ${field.name} has type ${field.type}, expected ${known.type}`);
      }
      const value = readValue(reader, field.type);
      if (known === undefined) return; // gob ignores fields the receiver does not have
      message[known.name] = known.type === GobTypeId.bool ? value !== 0 : (value as string);
    }, definition.fields.length);
    if (!reader.done) throw new GobError('trailing bytes after a gob value');
    return message;
  }
}

/** Reads one value of a predefined type; anything else is unsupported in this small codec. */
function readValue(reader: GobReader, type: number): string | number {
  switch (type) {
    case GobTypeId.bool:
    case GobTypeId.uint:
    case GobTypeId.float:
      return reader.uint();
    case GobTypeId.int:
      return reader.int();
    case GobTypeId.string:
      return reader.string();
    case GobTypeId.bytes:
      reader.bytesOf();
      return '';
    case GobTypeId.complex:
      reader.uint();
      reader.uint();
      return 0;
    default:
      throw new GobError(`gob field of type ${type} is not supported (only bool, int, uint, float, string, bytes, complex)`);
  }
}

/** Reads a `wireType` holding a `structType`; other kinds of type are not supported. */
function readWireType(reader: GobReader): StructDefinition {
  let definition: StructDefinition | undefined;
  reader.struct((number) => {
    if (number !== 2) throw new GobError('gob type definition is not a struct (only a struct is supported)');
    definition = readStructType(reader);
  }, 7);
  if (definition === undefined) throw new GobError('empty gob type definition');
  return definition;
}

function readStructType(reader: GobReader): StructDefinition {
  const definition: StructDefinition = { name: '', fields: [] };
  reader.struct((number) => {
    if (number === 0) {
      reader.struct((common) => {
        if (common === 0) definition.name = reader.string();
        else reader.int();
      }, 2);
      return;
    }
    const count = reader.uint();
    if (count > 256) throw new GobError(`gob struct with ${count} fields is too large`);
    for (let i = 0; i < count; i++) {
      const field = { name: '', type: 0 };
      reader.struct((f) => {
        if (f === 0) field.name = reader.string();
        else field.type = reader.int();
      }, 2);
      definition.fields.push(field);
    }
  }, 2);
  return definition;
}
