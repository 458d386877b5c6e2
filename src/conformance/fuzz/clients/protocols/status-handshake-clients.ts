/**
 * status-handshake client programs (docs/protocols.md section 2): two programs pair up through the
 * IM server's `status` key and take turns, a `received` flag acknowledging each message; protosim is
 * the IM server. The texts carry what a query string and the store's keys mean.
 */
import type { TurnProtocolFuzz } from '../client-protocol.js';

export const statusHandshakeClientFuzz: TurnProtocolFuzz = {
  protocol: 'status-handshake',
  family: 'turns',
  serverArgs: [],
  adapterVars: { pollMs: 50, leaseMs: 500 },
  maxTextChars: 200,
  // "a message of only white space" is one the receiver must show (docs/protocols.md section 2)
  blankIsMessage: true,
  separators: ['&', '=', '+', '#', '%', '?', ';', '%20', '%41', 'key=', 'value=', 'action=set', 'status', 'received', 'off', 'one', 'two'],
};
