/**
 * register-exit on the wire (docs/protocols.md section 4): the seed's Go struct
 * `Message{To, From, Content string; Register, Exit bool}` in both directions, as JSON lines
 * (protosim's default) or Go gob (byte-compatible with the seed; the gob byte work is src/wire's).
 * The model's `sender` is the wire's `From` (hosts add `from`, the sending node, to every event).
 */
import type { GobStruct, Outgoing } from '../live-types.js';
import { checkWireFields } from '../wire-fields.js';
import { routeMessage, type RouteMessage } from './messages.js';

/** The seed's struct, as gob sends it (field order is the gob field number). */
export const messageStruct: GobStruct = {
  name: 'Message',
  fields: [
    { name: 'To', type: 'string' },
    { name: 'From', type: 'string' },
    { name: 'Content', type: 'string' },
    { name: 'Register', type: 'bool' },
    { name: 'Exit', type: 'bool' },
  ],
};

/** The struct as JSON data. */
export interface WireMessage {
  To: string;
  From: string;
  Content: string;
  Register: boolean;
  Exit: boolean;
}

const fieldTypes = { To: 'string', From: 'string', Content: 'string', Register: 'boolean', Exit: 'boolean' } as const;

/** All five fields, zero ones included, in order, as Go's encoding/json writes them. */
export function fullMessage(message: Partial<WireMessage>): WireMessage {
  const full: WireMessage = { To: '', From: '', Content: '', Register: false, Exit: false, ...message };
  return { To: full.To, From: full.From, Content: full.Content, Register: full.Register, Exit: full.Exit };
}

/** Encodes all five fields as one JSON line, as Go's encoding/json would. */
export function encodeJsonMessage(message: Partial<WireMessage>): string {
  return `${JSON.stringify(fullMessage(message))}\n`;
}

/** Parses one JSON line; missing fields are zero, unknown fields are ignored, wrong types refused. */
export function parseJsonMessage(text: string): WireMessage | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return 'not JSON';
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'expected a JSON object {To, From, Content, Register, Exit}';
  const record = value as Record<string, unknown>;
  const message: WireMessage = { To: '', From: '', Content: '', Register: false, Exit: false };
  for (const [name, type] of Object.entries(fieldTypes) as [keyof WireMessage, string][]) {
    const field = record[name];
    if (field === undefined || field === null) continue;
    if (typeof field !== type) return `field ${name} must be a ${type}`;
    (message as unknown as Record<string, unknown>)[name] = field;
  }
  return message;
}

/** A suite case's message checked against the struct's fields (the harness sends what it says, zero fields filled). */
export function outgoingMessage(msg: unknown): Outgoing {
  const checked = checkWireFields(msg, fieldTypes, { one: 'a register-exit message', many: 'register-exit messages', field: 'register-exit field' });
  return 'wire' in checked ? { wire: { ...fullMessage(checked.wire as Partial<WireMessage>) } } : checked;
}

/** A wire message as the model's `MESSAGE` (anything not a string or `true` is zero). */
export function routeMessageOfWire(wire: unknown): RouteMessage {
  const m = (wire ?? {}) as Record<string, unknown>;
  return routeMessage({
    to: typeof m.To === 'string' ? m.To : '',
    sender: typeof m.From === 'string' ? m.From : '',
    content: typeof m.Content === 'string' ? m.Content : '',
    register: m.Register === true,
    exit: m.Exit === true,
  });
}

/** The wire form of a message of the model. */
export const toWire = (m: RouteMessage): WireMessage => ({ To: m.to, From: m.sender, Content: m.content, Register: m.register, Exit: m.exit });
