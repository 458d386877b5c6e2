/**
 * The messages of ping-liveness (seed 002, docs/protocols.md section 3), one per `mtype` of the seed's
 * PDU. Field names are the seed's where it names them; `code` is the seed's `error_code`.
 */
import { validateShape, type MessageShapes } from '../validate-shape.js';

/** The seed's error codes (ERROR `error_code`). */
export const ErrorCode = {
  sessionNotFound: 1,
  timeout: 2,
  loggedInElsewhere: 3,
  /** protosim's own: a limit of the reference server (and, on the wire, a message that is not one of the protocol) */
  refused: 4,
  unsupportedVersion: 5,
} as const;

export type PingRequest =
  /** mtype 7 */
  | { type: 'VERSION_REQUEST'; versions: string[] }
  /** mtype 1 */
  | { type: 'LOGIN_REQUEST'; username: string; password: string }
  /** mtype 3, client to server */
  | { type: 'CHAT'; id: string; message: string }
  /** mtype 4 */
  | { type: 'LOGOUT'; id: string }
  /** mtype 6 */
  | { type: 'PING'; id: string };

export type PingReply =
  /** mtype 8: `selected` is null when `success` is false */
  | { type: 'VERSION_RESPONSE'; selected: string | null; success: boolean }
  /** mtype 2: auth 0 ok, 1 bad credentials */
  | { type: 'LOGIN_RESPONSE'; auth: 0 | 1; id: string }
  /** mtype 3, the echo */
  | { type: 'CHAT'; id: string; message: string }
  /** mtype 5 */
  | { type: 'ERROR'; id: string; code: number; message: string };

export type PingMessage = PingRequest | PingReply;

const fields: MessageShapes = {
  VERSION_REQUEST: { versions: 'string[]' },
  LOGIN_REQUEST: { username: 'string', password: 'string' },
  CHAT: { id: 'string', message: 'string' },
  LOGOUT: { id: 'string' },
  PING: { id: 'string' },
  VERSION_RESPONSE: { selected: 'string|null', success: 'boolean' },
  LOGIN_RESPONSE: { auth: 'number', id: 'string' },
  ERROR: { id: 'string', code: 'number', message: 'string' },
};

/** Validates a message against the shapes above; returns an error text or null. */
export function validatePingMessage(msg: unknown): string | null {
  return validateShape(msg, fields);
}
