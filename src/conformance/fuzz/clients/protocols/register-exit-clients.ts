/**
 * register-exit client programs (docs/protocols.md section 4): a person types `send <user> <text>`
 * (as the adapter spells it); the named user's program shows the text, from the sender; a message
 * to a name nobody has registered, or to a user who left (EXIT, or a program killed), is refused and
 * the sender's program says so. The server has no timeouts: a user who left is forgotten as soon as
 * its connection ends.
 */
import type { ChatProtocolFuzz } from '../client-protocol.js';

export const registerExitClientFuzz: ChatProtocolFuzz = {
  family: 'chat',
  protocol: 'register-exit',
  maxUsers: 3,
  shownTo: 'recipient',
  toLeft: 'refused',
  serverArgs: [],
  maxTextChars: 400,
  // the text client's own words and separators (`send <user> <text>`, `<From>: <Content>`, EXIT)
  separators: [': ', 'send ', 'EXIT', 'Error', '{', '}', '"'],
  freeAfterKillMs: 300,
  settleMs: 300,
};
