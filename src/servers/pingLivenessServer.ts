/**
 * The ping-liveness chat server (PROTOCOLS.md section 3) over TCP, one JSON message per line:
 * `{"mtype":N,"payload":{...},"version":"1.0.0","sz":N}`. Version negotiation, login, echo chat,
 * PING heartbeats that keep a session alive, and a heartbeat timeout that drops a silent session
 * (ERROR code 2) so its user can log in again.
 *
 * Readings of what the seed leaves open:
 *  - the session belongs to the connection; the `id` a client writes is checked against it and a
 *    mismatch is ERROR code 1 (session not found), never acted upon;
 *  - negotiation is offered, not required: a client may log in straight away; any message whose
 *    `version` field names a version we do not speak gets ERROR code 5;
 *  - a closed connection logs its session out at once (TCP tells us, unlike the seed's QUIC
 *    server); the heartbeat covers connections that go silent without closing;
 *  - a dropped session keeps its connection open: the client may log in again on it;
 *  - PING and LOGOUT get no reply (the seed defines none);
 *  - ERROR code 4 is protosim's own: a message that is not valid JSON of this protocol, or a limit.
 *  - `sz` is the UTF-8 byte length of the serialized payload.
 */
import { LineFramer } from '../wire/lineFramer.js';
import { encodePingMessage, PingErrorCode, PingMtype, pingSupportedVersions } from '../wire/pingLivenessWire.js';
import type { ServerHandle, ServerLimits } from './serverOptions.js';
import { startTcpHost, tcpServerHandle, type TcpConnection } from './tcpHost.js';

export { encodePingMessage, PingErrorCode, PingMtype, pingSupportedVersions } from '../wire/pingLivenessWire.js';

export interface PingServerConfig {
  host: string;
  port: number;
  limits: ServerLimits;
  log: (line: string) => void;
  defect: string | undefined;
  heartbeatTimeoutMs: number;
  accounts: number;
}

interface Session {
  id: number;
  username: string;
  client: Client;
  heartbeat: NodeJS.Timeout | undefined;
}

interface Client {
  connection: TcpConnection;
  session: Session | undefined;
}

export async function startPingLivenessServer(config: PingServerConfig): Promise<ServerHandle> {
  const { limits, log, defect, heartbeatTimeoutMs } = config;
  const sessionsById = new Map<number, Session>();
  const sessionsByUser = new Map<string, Session>();
  let nextSessionId = 1;
  const passwords = new Map<string, string>();
  for (let i = 1; i <= config.accounts; i++) passwords.set(`user${i}`, `pass${i}`);

  const send = (client: Client, mtype: number, payload: Record<string, unknown>) =>
    client.connection.write(encodePingMessage(mtype, payload));
  const error = (client: Client, code: number, message: string, id: unknown = client.session?.id ?? null) =>
    send(client, PingMtype.error, { id, error_code: code, message });

  function startHeartbeat(session: Session): void {
    if (defect === 'no-heartbeat-timeout') return;
    session.heartbeat = setTimeout(() => {
      log(`ping-liveness: session ${session.id} (${session.username}) silent for heartbeatTimeoutMs=${heartbeatTimeoutMs}, dropped`);
      error(session.client, PingErrorCode.timeout, `no message within heartbeatTimeoutMs=${heartbeatTimeoutMs}; logged out`, session.id);
      endSession(session);
    }, heartbeatTimeoutMs);
    session.heartbeat.unref();
  }

  function endSession(session: Session): void {
    if (session.heartbeat !== undefined) clearTimeout(session.heartbeat);
    sessionsById.delete(session.id);
    if (sessionsByUser.get(session.username) === session) sessionsByUser.delete(session.username);
    if (session.client.session === session) session.client.session = undefined;
  }

  /**
   * The session a CHAT, PING or LOGOUT acts on: the connection's own. A different `id` in the
   * payload is refused (ERROR 1), unless the `trust-session-id` defect lets it pick the session.
   */
  function sessionFor(client: Client, payload: Record<string, unknown>): Session | undefined {
    const claimed = payload['id'];
    if (defect === 'trust-session-id' && typeof claimed === 'number' && sessionsById.has(claimed)) {
      return sessionsById.get(claimed);
    }
    const own = client.session;
    if (own === undefined) {
      error(client, PingErrorCode.sessionNotFound, 'not logged in', claimed ?? null);
      return undefined;
    }
    if (claimed !== undefined && claimed !== null && claimed !== own.id) {
      error(client, PingErrorCode.sessionNotFound, `session ${JSON.stringify(claimed)} not found on this connection`, claimed);
      return undefined;
    }
    return own;
  }

  function handleLine(client: Client, text: string): void {
    if (text.trim() === '') return;
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      error(client, PingErrorCode.badRequest, 'bad request: not JSON');
      return;
    }
    if (typeof message !== 'object' || message === null || Array.isArray(message)) {
      error(client, PingErrorCode.badRequest, 'bad request: expected a JSON object {mtype, payload, version, sz}');
      return;
    }
    const { mtype, payload, version } = message as Record<string, unknown>;
    if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
      error(client, PingErrorCode.badRequest, 'bad request: payload must be an object');
      return;
    }
    const body = payload as Record<string, unknown>;
    if (version !== undefined && !(pingSupportedVersions as readonly unknown[]).includes(version) && mtype !== PingMtype.versionRequest) {
      error(client, PingErrorCode.unsupportedVersion, `unsupported version ${JSON.stringify(version)}; this server speaks ${pingSupportedVersions.join(', ')}`);
      return;
    }
    // Any message from a logged-in connection shows it is alive.
    client.session?.heartbeat?.refresh();

    switch (mtype) {
      case PingMtype.versionRequest:
        return negotiate(client, body);
      case PingMtype.loginRequest:
        return login(client, body);
      case PingMtype.chatMessage: {
        const session = sessionFor(client, body);
        if (session === undefined) return;
        session.heartbeat?.refresh();
        const chat = body['message'];
        if (typeof chat !== 'string') {
          error(client, PingErrorCode.badRequest, 'bad request: CHAT_MESSAGE needs a string message');
          return;
        }
        if ([...chat].length > limits.maxMessageChars) {
          error(client, PingErrorCode.badRequest, `message longer than maxMessageChars=${limits.maxMessageChars}`);
          return;
        }
        send(client, PingMtype.chatMessage, { id: session.id, time: body['time'] ?? null, message: chat });
        return;
      }
      case PingMtype.ping: {
        const session = sessionFor(client, body);
        session?.heartbeat?.refresh();
        return;
      }
      case PingMtype.logout: {
        const session = sessionFor(client, body);
        if (session === undefined) return;
        log(`ping-liveness: session ${session.id} (${session.username}) logged out`);
        endSession(session);
        return;
      }
      default:
        error(client, PingErrorCode.badRequest, `bad request: mtype ${JSON.stringify(mtype)} is not one a client sends (1, 3, 4, 6, 7)`);
    }
  }

  function negotiate(client: Client, body: Record<string, unknown>): void {
    const offered = body['supported_versions'];
    if (!Array.isArray(offered) || offered.length > 64) {
      error(client, PingErrorCode.badRequest, 'bad request: VERSION_REQUEST needs supported_versions, an array of at most 64 versions');
      return;
    }
    const selected = pingSupportedVersions.find((v) => offered.includes(v));
    if (selected === undefined) {
      if (defect === 'silent-version-mismatch') return;
      error(client, PingErrorCode.unsupportedVersion, `no common version: offered ${JSON.stringify(offered)}, this server speaks ${pingSupportedVersions.join(', ')}`);
      return;
    }
    send(client, PingMtype.versionResponse, { selected_version: selected, success: true });
  }

  function login(client: Client, body: Record<string, unknown>): void {
    const { username, password } = body;
    if (typeof username !== 'string' || typeof password !== 'string') {
      error(client, PingErrorCode.badRequest, 'bad request: LOGIN_REQUEST needs string username and password');
      return;
    }
    if (client.session !== undefined) {
      error(client, PingErrorCode.loggedInElsewhere, `this connection is already logged in as ${client.session.username}; log out first`);
      return;
    }
    if (passwords.get(username) !== password) {
      send(client, PingMtype.loginResponse, { auth: 1, id: null });
      return;
    }
    if (sessionsByUser.has(username) && defect !== 'allow-double-login') {
      error(client, PingErrorCode.loggedInElsewhere, `${username} is logged in from another location`, null);
      return;
    }
    const session: Session = { id: nextSessionId++, username, client, heartbeat: undefined };
    sessionsById.set(session.id, session);
    sessionsByUser.set(username, session);
    client.session = session;
    startHeartbeat(session);
    log(`ping-liveness: connection #${client.connection.id} logged in as ${username} (session ${session.id})`);
    send(client, PingMtype.loginResponse, { auth: 0, id: session.id });
  }

  const host = await startTcpHost({
    name: 'ping-liveness',
    host: config.host,
    port: config.port,
    limits,
    log,
    errorFrame: (text) => encodePingMessage(PingMtype.error, { id: null, error_code: PingErrorCode.badRequest, message: text }),
    accept(connection) {
      const client: Client = { connection, session: undefined };
      const framer = new LineFramer(limits.maxFrameBytes);
      return {
        onData(chunk) {
          for (const event of framer.push(chunk)) {
            if (event.kind === 'too-long') {
              error(client, PingErrorCode.badRequest, `message longer than maxFrameBytes=${limits.maxFrameBytes}`);
              connection.end(`frame over maxFrameBytes=${limits.maxFrameBytes}`);
              return;
            }
            if (!connection.isOpen()) return;
            handleLine(client, event.text);
          }
        },
        hasPartialFrame: () => framer.hasPartialFrame(),
        onClose() {
          // The seed's server (and this defect) only learns of a departure through LOGOUT.
          if (client.session !== undefined && defect !== 'no-heartbeat-timeout') endSession(client.session);
        },
      };
    },
    beforeClose() {
      for (const session of sessionsById.values()) if (session.heartbeat !== undefined) clearTimeout(session.heartbeat);
    },
  });
  return tcpServerHandle('ping-liveness', host, defect);
}
