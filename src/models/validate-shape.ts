/**
 * A small shape check for protocol messages, shared by the models' `validateMessage`: the `type`
 * must be one the protocol knows, and each field it lists must have the stated kind.
 */
import type { ProtocolMessage } from './types.js';

export type FieldKind = 'string' | 'number' | 'boolean' | 'string[]' | 'string|null';

/** Per message type, the required fields and their kinds. */
export type MessageShapes = Record<string, Record<string, FieldKind>>;

/** Shared shape check: `type` must be known and each listed field must have its kind. */
export function validateShape(
  msg: unknown,
  shapes: MessageShapes,
): string | null {
  if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) return 'a message must be an object';
  const m = msg as ProtocolMessage;
  if (typeof m.type !== 'string') return 'a message needs a string `type`';
  const shape = shapes[m.type];
  if (!shape) return `unknown message type ${JSON.stringify(m.type)}; expected one of ${Object.keys(shapes).join(', ')}`;
  for (const [field, kind] of Object.entries(shape)) {
    const v = m[field];
    const ok =
      kind === 'string[]'
        ? Array.isArray(v) && v.every((x) => typeof x === 'string')
        : kind === 'string|null'
          ? v === null || typeof v === 'string'
          : typeof v === kind;
    if (!ok) return `${m.type} needs \`${field}\` as ${kind}, got ${v === undefined ? 'nothing' : JSON.stringify(v)}`;
  }
  return null;
}
