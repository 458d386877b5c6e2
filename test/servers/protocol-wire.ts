/**
 * The generic wire codecs (src/wire) bound to the built-in protocols' schemas, under the names the
 * server tests use: register-exit's gob `Message` and offline-queue's protobuf messages.
 */
import { offlineQueueSchema, type Client2Server, type Server2Client } from '../../src/models/offline-queue/wire.js';
import { messageStruct, type WireMessage } from '../../src/models/register-exit/wire.js';
import * as gob from '../../src/wire/gob.js';
import { decodeProtobuf, encodeProtobuf } from '../../src/wire/protobuf.js';

export { delimit, LengthDelimitedFramer, RawFramer, splitConcatenatedMessages, varint } from '../../src/wire/protobuf.js';
export { frameGob, writeGobInt, writeGobUint } from '../../src/wire/gob.js';
export type { Client2Server, Server2Client };

/** register-exit's struct, as gob carries it. */
export type GobMessage = WireMessage;

export const gobMessageTypeDefinition: Uint8Array = gob.gobTypeDefinition(messageStruct);
export const encodeGobMessage = (m: Partial<GobMessage>): Buffer => gob.encodeGobMessage(messageStruct, m);
export const encodeGobMessageValue = (m: Partial<GobMessage>): Uint8Array => gob.encodeGobMessageValue(messageStruct, m);

/** A gob decoder of register-exit's `Message`. */
export class GobDecoder {
  private readonly decoder: gob.GobDecoder;
  constructor(maxFrameBytes: number) {
    this.decoder = new gob.GobDecoder(messageStruct, maxFrameBytes);
  }
  hasPartialFrame(): boolean {
    return this.decoder.hasPartialFrame();
  }
  push(chunk: Buffer): ({ kind: 'message'; message: GobMessage } | { kind: 'error'; reason: string })[] {
    return this.decoder.push(chunk) as ({ kind: 'message'; message: GobMessage } | { kind: 'error'; reason: string })[];
  }
}

export const encodeClient2Server = (m: Partial<Client2Server>): Uint8Array => encodeProtobuf(offlineQueueSchema, 'request', m);
export const encodeServer2Client = (m: Partial<Server2Client>): Uint8Array => encodeProtobuf(offlineQueueSchema, 'reply', m);
export const decodeClient2Server = (bytes: Uint8Array): Client2Server => decodeProtobuf(offlineQueueSchema, 'request', bytes) as unknown as Client2Server;
export const decodeServer2Client = (bytes: Uint8Array): Server2Client => decodeProtobuf(offlineQueueSchema, 'reply', bytes) as unknown as Server2Client;
