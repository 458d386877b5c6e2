/**
 * What a protocol contributes to fuzzing its client programs. Two families:
 *
 *  - `chat` (register-exit, offline-queue, ping-liveness): the rules that say who must show a typed
 *    message (the user it is sent to, or the one who typed it), what happens to a message for a
 *    user who left, how protosim's reference server is started for it, and the timing the protocol
 *    leaves to the server (how long until a killed user's name is free again, a pause past the
 *    server's timeouts);
 *  - `turns` (lock-alternation, status-handshake): two programs take turns through a key-value
 *    store that protosim plays itself (the IM server, the kv-store model), as the client suites of
 *    those protocols do: no server command.
 *
 * One record per protocol (./protocols/*.ts); nothing else decides on a protocol's name.
 */
import { lockAlternationClientFuzz } from './protocols/lock-alternation-clients.js';
import { offlineQueueClientFuzz } from './protocols/offline-queue-clients.js';
import { pingLivenessClientFuzz } from './protocols/ping-liveness-clients.js';
import { registerExitClientFuzz } from './protocols/register-exit-clients.js';
import { statusHandshakeClientFuzz } from './protocols/status-handshake-clients.js';

/** What every family's record gives. */
interface ClientFuzzBase {
  protocol: string;
  /** the server command's options for this protocol (after `serve <protocol> --port {port}`; none when protosim is the IM server) */
  serverArgs: readonly string[];
  /** adapter variables the cases ask for, used when the adapter has them (a short ping or poll interval) */
  adapterVars?: Record<string, string | number>;
  /**
   * A typed message's longest text, in code points: a limit the protocol fixes, or well under a
   * terminal's line buffer (4095 bytes in canonical mode) and the server's limit.
   */
  maxTextChars: number;
  /** the protocol's own separators and words, put into texts */
  separators: readonly string[];
  /**
   * The protocol counts a line of only spaces as a message to deliver (status-handshake's
   * description does): texts of spaces alone are typed too. Elsewhere a blank line is no message
   * and is never typed (./typed-text.ts).
   */
  blankIsMessage?: boolean;
}

/** Two programs taking turns through the IM server protosim plays (./turn-case.ts, ./turn-render.ts). */
export interface TurnProtocolFuzz extends ClientFuzzBase {
  family: 'turns';
}

/** Chat programs of one server (./client-case.ts, ./client-render.ts). */
export interface ChatProtocolFuzz extends ClientFuzzBase {
  family: 'chat';
  /** client programs a case starts at most */
  maxUsers: number;
  /**
   * Who shows a typed message: `recipient`, the user it is typed to (a chat: `send bob hi`), or
   * `sender`, the one who typed it (an echo service: a message has no recipient).
   */
  shownTo: 'recipient' | 'sender';
  /**
   * A message to a user who left: `refused` (the sender is told so), or `queued` (it waits for the
   * user's next login, and a check then shows the queued messages in order).
   */
  toLeft: 'refused' | 'queued';
  /** after a user was killed: how long until the server has let its name go (its timeouts) */
  freeAfterKillMs: number;
  /** a pause past the server's timeouts, when it has some: a client must keep its session alive */
  idleMs?: number;
  /** after the clients joined (or one left): how long the server may take to have taken it in */
  settleMs: number;
}

export type ClientProtocolFuzz = ChatProtocolFuzz | TurnProtocolFuzz;

export const clientFuzzGenerators: readonly ClientProtocolFuzz[] = [registerExitClientFuzz, offlineQueueClientFuzz, pingLivenessClientFuzz, lockAlternationClientFuzz, statusHandshakeClientFuzz];

export function clientFuzzFor(protocol: string): ClientProtocolFuzz | undefined {
  return clientFuzzGenerators.find((g) => g.protocol === protocol);
}
