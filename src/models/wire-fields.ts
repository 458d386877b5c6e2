/**
 * Small pure helpers the packages' wire pieces share: the UTF-8 length of a text (a wire's size
 * fields and headers count bytes) and the check of a suite case's message against a wire message's
 * fields, with the texts the harness shows for a mistake in a suite file.
 */
import type { Outgoing } from './live-types.js';

const encoder = new TextEncoder();

/** The number of bytes `text` takes in UTF-8. */
export function utf8Length(text: string): number {
  return encoder.encode(text).length;
}

/** How a wire message and its fields are called in error texts. */
export interface WireNames {
  /** `a register-exit message` */
  one: string;
  /** `register-exit messages` */
  many: string;
  /** `register-exit field` */
  field: string;
}

/**
 * A case's message checked against the wire message's fields (each optional, of its JSON type):
 * the message as a record, or the problem (`register-exit field To must be a string, got 3`).
 */
export function checkWireFields(msg: unknown, fields: Readonly<Record<string, 'string' | 'number' | 'boolean'>>, names: WireNames): Outgoing {
  if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) return { problem: `${names.one} must be a mapping, got ${JSON.stringify(msg)}` };
  for (const [key, value] of Object.entries(msg)) {
    const type = fields[key];
    if (type === undefined) return { problem: `${names.many} have ${Object.keys(fields).join(', ')}; not ${key}` };
    if (typeof value !== type) return { problem: `${names.field} ${key} must be a ${type}, got ${JSON.stringify(value)}` };
  }
  return { wire: msg as Record<string, unknown> };
}
