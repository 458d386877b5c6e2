/**
 * The messages of offline-queue (seed 004, docs/protocols.md section 5): the seed's protobuf
 * `Client2Server {version, opcode, sender, receiver, msg}` and `Server2Client {version, opcode, msg}`.
 * The version field ("0.1") is the codec's business and is left out here.
 */
import { validateShape, type MessageShapes } from '../validate-shape.js';

/** Client opcodes (Client2Server.opcode). `ack` is the fixed variant's delivery confirmation. */
export const Op = { create: 1, login: 2, send: 3, check: 4, delete: 5, list: 6, quit: 7, ack: 8 } as const;

/** Server opcodes (Server2Client.opcode). 19 and 20 are the fixed variant's additions. */
export const Reply = {
  created: 1,
  nameExists: 2,
  sent: 3,
  sendNotLoggedIn: 4,
  noSuchRecipient: 5,
  unread: 6,
  checkNotLoggedIn: 7,
  deleted: 8,
  deleteRefused: 9,
  listResult: 10,
  loggedOut: 11,
  quitNotLoggedIn: 12,
  loggedIn: 13,
  noSuchAccount: 14,
  alreadyLoggedIn: 15,
  switched: 16,
  pushed: 17,
  listFailed: 18,
  /** fixed: a name over 25 or a message over 100 characters is refused */
  tooLong: 19,
  /** fixed: this session was logged out because the account was opened elsewhere (or stopped confirming) */
  forcedOut: 20,
} as const;

export const nameLengthMax = 25;
export const messageLengthMax = 100;

export type QueueRequest = { type: 'REQUEST'; opcode: number; sender: string; receiver: string; msg: string };
/** `ref` numbers a push for the fixed variant's confirmation; the seed's pushes have none. */
export type QueueReply = { type: 'REPLY'; opcode: number; msg: string; ref?: number };

export function request(opcode: number, fields: Partial<Omit<QueueRequest, 'type' | 'opcode'>> = {}): QueueRequest {
  return { type: 'REQUEST', opcode, sender: '', receiver: '', msg: '', ...fields };
}

export function reply(opcode: number, msg = '', ref?: number): QueueReply {
  return ref === undefined ? { type: 'REPLY', opcode, msg } : { type: 'REPLY', opcode, msg, ref };
}

/** A queued or pushed message, as the seed writes it: `sender:text\n`. */
export interface Letter {
  sender: string;
  text: string;
}

export const formatLetters = (letters: readonly Letter[]): string => letters.map((l) => `${l.sender}:${l.text}\n`).join('');

/** Parses `sender:text\n` lines back (the text may contain colons; the sender may not). */
export function parseLetters(msg: string): Letter[] {
  return msg
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => {
      const at = line.indexOf(':');
      return at < 0 ? { sender: '', text: line } : { sender: line.slice(0, at), text: line.slice(at + 1) };
    });
}

const shapes: MessageShapes = {
  REQUEST: { opcode: 'number', sender: 'string', receiver: 'string', msg: 'string' },
  REPLY: { opcode: 'number', msg: 'string' },
};

export function validateQueueMessage(msg: unknown): string | null {
  return validateShape(msg, shapes);
}
