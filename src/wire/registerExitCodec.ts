/**
 * The two wire encodings of register-exit's `Message`: JSON lines (protosim's default) and Go gob,
 * byte-compatible with the seed. Both turn bytes into messages and messages into bytes.
 */
import { encodeGobMessage, GobDecoder, type GobMessage } from './gob.js';
import { LineFramer } from './lineFramer.js';

export type { GobMessage as RegisterExitMessage } from './gob.js';

/** A decoded message, or a problem; `fatal` problems leave the stream unreadable. */
export type CodecEvent = { kind: 'message'; message: GobMessage } | { kind: 'error'; reason: string; fatal: boolean };

export interface MessageDecoder {
  push(chunk: Buffer): CodecEvent[];
  hasPartialFrame(): boolean;
}

export interface RegisterExitCodec {
  name: 'json' | 'gob';
  decoder(maxFrameBytes: number): MessageDecoder;
  encode(message: Partial<GobMessage>): Buffer | string;
}

const fieldTypes = { To: 'string', From: 'string', Content: 'string', Register: 'boolean', Exit: 'boolean' } as const;

/** Encodes all five fields, as Go's encoding/json would. */
export function encodeJsonMessage(message: Partial<GobMessage>): string {
  const full: GobMessage = { To: '', From: '', Content: '', Register: false, Exit: false, ...message };
  return `${JSON.stringify({ To: full.To, From: full.From, Content: full.Content, Register: full.Register, Exit: full.Exit })}\n`;
}

/** Parses one JSON line; missing fields are zero, unknown fields are ignored, wrong types refused. */
export function parseJsonMessage(text: string): GobMessage | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return 'not JSON';
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'expected a JSON object {To, From, Content, Register, Exit}';
  const record = value as Record<string, unknown>;
  const message: GobMessage = { To: '', From: '', Content: '', Register: false, Exit: false };
  for (const [name, type] of Object.entries(fieldTypes) as [keyof GobMessage, string][]) {
    const field = record[name];
    if (field === undefined || field === null) continue;
    if (typeof field !== type) return `field ${name} must be a ${type}`;
    (message as unknown as Record<string, unknown>)[name] = field;
  }
  return message;
}

export const jsonCodec: RegisterExitCodec = {
  name: 'json',
  decoder(maxFrameBytes) {
    const framer = new LineFramer(maxFrameBytes);
    return {
      hasPartialFrame: () => framer.hasPartialFrame(),
      push(chunk) {
        const events: CodecEvent[] = [];
        for (const event of framer.push(chunk)) {
          if (event.kind === 'too-long') {
            events.push({ kind: 'error', reason: `message longer than maxFrameBytes=${maxFrameBytes}`, fatal: true });
            break;
          }
          if (event.text.trim() === '') continue;
          const parsed = parseJsonMessage(event.text);
          events.push(typeof parsed === 'string' ? { kind: 'error', reason: `bad message: ${parsed}`, fatal: false } : { kind: 'message', message: parsed });
        }
        return events;
      },
    };
  },
  encode: encodeJsonMessage,
};

export const gobCodec: RegisterExitCodec = {
  name: 'gob',
  decoder(maxFrameBytes) {
    const decoder = new GobDecoder(maxFrameBytes);
    return {
      hasPartialFrame: () => decoder.hasPartialFrame(),
      push: (chunk) =>
        decoder.push(chunk).map((event) => (event.kind === 'message' ? event : { kind: 'error', reason: `bad gob stream: ${event.reason}`, fatal: true })),
    };
  },
  encode: encodeGobMessage,
};
