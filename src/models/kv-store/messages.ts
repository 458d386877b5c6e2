/**
 * The messages of the course's IM key-value server (docs/protocols.md section 1), shared by the
 * key-value protocols (lock-alternation, status-handshake). One HTTP GET per operation becomes one
 * request message; its response is one reply message.
 */
import type { ProtocolMessage } from '../types.js';

export type KvRequest =
  | { type: 'GET'; key: string }
  | { type: 'SET'; key: string; value: string }
  | { type: 'UNSET'; key: string }
  | { type: 'CLEAR' }
  | { type: 'KEYS' }
  /** Not in the course server: the compare-and-set a `fixed` variant's store offers. */
  | { type: 'CAS'; key: string; expected: string | null; value: string };

export type KvReply =
  /** `value` is null when the key is absent (the wire says `\n` for both '' and absent). */
  | { type: 'VALUE'; key: string; value: string | null }
  | { type: 'OK'; op: 'SET' | 'UNSET' | 'CLEAR' }
  | { type: 'KEY_LIST'; keys: string[] }
  | { type: 'CAS_RESULT'; key: string; ok: boolean; value: string | null };

export type KvMessage = KvRequest | KvReply;

const requestTypes = new Set(['GET', 'SET', 'UNSET', 'CLEAR', 'KEYS', 'CAS']);
const replyTypes = new Set(['VALUE', 'OK', 'KEY_LIST', 'CAS_RESULT']);

/** Validates a key-value message shape; returns an error text or null. */
export function validateKvMessage(msg: unknown): string | null {
  if (typeof msg !== 'object' || msg === null) return 'a message must be an object';
  const m = msg as ProtocolMessage;
  if (typeof m.type !== 'string') return 'a message needs a string `type`';
  if (!requestTypes.has(m.type) && !replyTypes.has(m.type)) {
    return `unknown message type ${JSON.stringify(m.type)}; expected one of ${[...requestTypes, ...replyTypes].join(', ')}`;
  }
  if (['GET', 'SET', 'UNSET', 'CAS', 'VALUE', 'CAS_RESULT'].includes(m.type) && typeof m.key !== 'string') {
    return `${m.type} needs a string \`key\``;
  }
  if ((m.type === 'SET' || m.type === 'CAS') && typeof m.value !== 'string') return `${m.type} needs a string \`value\``;
  return null;
}
