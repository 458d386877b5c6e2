/**
 * offline-queue client programs (docs/protocols.md section 5): each program creates the account
 * named after it and logs in; a message to a user who is logged in is pushed to its program at
 * once; a message to a user who quit (or whose program was killed) is queued, and its program shows
 * the queued messages, in order, when the person checks after the next login; a message to an
 * account that does not exist is refused. Names and messages are at most 25 and 100 characters (the
 * seed's limits).
 */
import type { ChatProtocolFuzz } from '../client-protocol.js';

export const offlineQueueClientFuzz: ChatProtocolFuzz = {
  family: 'chat',
  protocol: 'offline-queue',
  maxUsers: 3,
  shownTo: 'recipient',
  toLeft: 'queued',
  serverArgs: [],
  maxTextChars: 100,
  // list patterns' wildcards, the menu's numbers, the `<sender>: <text>` display
  separators: [': ', '*', '_', '%', '1', '7', '{', '}'],
  freeAfterKillMs: 300,
  settleMs: 300,
};
