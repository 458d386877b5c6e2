/**
 * lock-alternation client programs (docs/protocols.md section 1): two programs pair up through the
 * IM server's keys and take turns; protosim is the IM server. The texts carry what a query string
 * and the store's keys mean (a value put in a query as it is typed is cut or changed by them).
 */
import type { TurnProtocolFuzz } from '../client-protocol.js';

export const lockAlternationClientFuzz: TurnProtocolFuzz = {
  protocol: 'lock-alternation',
  family: 'turns',
  serverArgs: [],
  // as the shipped client suite: short polls and a short lease where the adapter has them
  adapterVars: { pollMs: 50, leaseMs: 500 },
  maxTextChars: 200,
  separators: ['&', '=', '+', '#', '%', '?', ';', '%20', '%41', 'key=', 'value=', 'action=set', 'lock', 'connected', 'message'],
};
