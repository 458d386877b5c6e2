/**
 * ping-liveness client programs (docs/protocols.md section 3): each program logs in as
 * user{index}/pass{index}; every chat line a person types is echoed back by the server and shown by
 * the program that typed it, in order; the program pings, so a session stays alive past the
 * server's heartbeat timeout however long the person is silent. The reference server runs with a
 * 600 ms heartbeat timeout (as the shipped client suite; adapters ping every 150 ms) and an account
 * for each of three users. A killed program's user is locked out until the timeout drops its
 * session (and the server's sweep notices).
 */
import type { ChatProtocolFuzz } from '../client-protocol.js';

export const pingLivenessClientFuzz: ChatProtocolFuzz = {
  family: 'chat',
  protocol: 'ping-liveness',
  maxUsers: 3,
  shownTo: 'sender',
  toLeft: 'refused',
  serverArgs: ['--heartbeat-timeout-ms', '600', '--accounts', '3'],
  adapterVars: { pingMs: 150 },
  maxTextChars: 400,
  // JSON's own characters and the seed client's command
  separators: ['{', '}', '"', '\\"', '\\n', ',', ':', 'quit'],
  freeAfterKillMs: 1500,
  idleMs: 1500,
  settleMs: 100,
};
