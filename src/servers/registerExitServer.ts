/**
 * The register-exit routing server (PROTOCOLS.md section 4, seed 003): clients register a name,
 * `send` messages are routed by `To`, an unknown recipient gets the seed's error message back, a
 * client's Exit closes its connection and forgets its name, and the server's shutdown sends Exit to
 * every client first.
 *
 * Identity is bound to the connection: a forwarded message's `From` is the name this connection
 * registered and Exit forgets only this connection's name, whatever the fields say. Readings of what
 * the seed leaves open:
 *  - registering gets no reply (as in the seed); a refused registration (name in use, invalid,
 *    already registered on this connection) gets an error message `{From: "Error", Content}`;
 *  - the names `Error` and `Server` are reserved, so no client can pose as the server;
 *  - sending before registering is refused with an error message;
 *  - a client that vanishes (closes or resets without Exit) is forgotten at once.
 */
import { gobCodec, jsonCodec, type RegisterExitCodec, type RegisterExitMessage } from '../wire/registerExitCodec.js';
import type { ServerHandle, ServerLimits } from './serverOptions.js';
import { startTcpHost, tcpServerHandle, type TcpConnection, type TcpHost } from './tcpHost.js';

/** The seed's reply to a message for a name nobody registered. */
export const notConnectedText = 'That user is not connected to this server';

const reservedNames = new Set(['Error', 'Server']);

export interface RegisterExitServerConfig {
  host: string;
  port: number;
  limits: ServerLimits;
  log: (line: string) => void;
  defect: string | undefined;
  codec: 'json' | 'gob';
}

interface Client {
  connection: TcpConnection;
  name: string | undefined;
  exited: boolean;
}

export async function startRegisterExitServer(config: RegisterExitServerConfig): Promise<ServerHandle> {
  const { limits, log, defect } = config;
  const codec: RegisterExitCodec = config.codec === 'gob' ? gobCodec : jsonCodec;
  const registry = new Map<string, Client>();
  const clients = new Set<Client>();
  let host: TcpHost | undefined;

  const send = (client: Client, message: Partial<RegisterExitMessage>) => client.connection.write(codec.encode(message));
  const error = (client: Client, content: string) => send(client, { From: 'Error', Content: content });

  function register(client: Client, name: string): void {
    if (client.name !== undefined) {
      error(client, `Already registered as ${client.name}`);
      return;
    }
    if (name === '' || reservedNames.has(name) || /[\u0000-\u001f]/.test(name)) {
      error(client, `Invalid name ${JSON.stringify(name)}: names are non-empty, without control characters, and not Error or Server`);
      return;
    }
    if ([...name].length > limits.maxNameChars) {
      error(client, `Name longer than maxNameChars=${limits.maxNameChars}`);
      return;
    }
    const holder = registry.get(name);
    if (holder !== undefined && defect !== 'duplicate-name-replaces') {
      error(client, `The name ${name} is already registered`);
      return;
    }
    if (holder === undefined && registry.size >= limits.maxEntries) {
      error(client, `Server full: limit maxEntries=${limits.maxEntries} reached`);
      return;
    }
    if (holder !== undefined) holder.name = undefined; // the defect: the earlier client loses its name
    client.name = name;
    registry.set(name, client);
    log(`register-exit: connection #${client.connection.id} registered as ${name}`);
  }

  function forget(client: Client): void {
    if (client.name !== undefined && registry.get(client.name) === client) registry.delete(client.name);
    client.name = undefined;
  }

  function exit(client: Client, message: RegisterExitMessage): void {
    if (defect === 'trust-exit-field' && message.From !== '' && message.From !== client.name) {
      // The seed's flaw: Exit acts on the name the message carries.
      const victim = registry.get(message.From);
      if (victim !== undefined) {
        registry.delete(message.From);
        victim.name = undefined;
      }
    }
    client.exited = true;
    forget(client);
    client.connection.end('client sent Exit');
  }

  function route(client: Client, message: RegisterExitMessage): void {
    if (client.name === undefined) {
      error(client, 'Register first: send {From: <your name>, Register: true}');
      return;
    }
    if ([...message.Content].length > limits.maxMessageChars) {
      error(client, `Message longer than maxMessageChars=${limits.maxMessageChars}`);
      return;
    }
    const recipient = registry.get(message.To);
    if (recipient === undefined || (!recipient.connection.isOpen() && defect !== 'keep-vanished-client')) {
      error(client, notConnectedText);
      return;
    }
    const from = defect === 'trust-sender-field' && message.From !== '' ? message.From : client.name;
    // A vanished client kept by the defect swallows the message: the write fails silently.
    send(recipient, { To: message.To, From: from, Content: message.Content });
  }

  function handle(client: Client, message: RegisterExitMessage): void {
    if (message.Exit) exit(client, message);
    else if (message.Register) register(client, message.From);
    else route(client, message);
  }

  host = await startTcpHost({
    name: 'register-exit',
    host: config.host,
    port: config.port,
    limits,
    log,
    errorFrame: (text) => codec.encode({ From: 'Error', Content: text }),
    accept(connection) {
      const client: Client = { connection, name: undefined, exited: false };
      clients.add(client);
      const decoder = codec.decoder(limits.maxFrameBytes);
      return {
        onData(chunk) {
          for (const event of decoder.push(chunk)) {
            if (!connection.isOpen()) return;
            if (event.kind === 'message') {
              handle(client, event.message);
              continue;
            }
            error(client, event.reason);
            if (event.fatal) {
              log(`register-exit: connection #${connection.id}: ${event.reason}`);
              connection.end(event.reason);
              return;
            }
          }
        },
        hasPartialFrame: () => decoder.hasPartialFrame(),
        onClose(info) {
          clients.delete(client);
          if (client.exited || info.byServer) {
            forget(client);
            return;
          }
          if (defect === 'crash-on-disconnect') {
            host?.crash(new Error(`connection #${connection.id}${client.name === undefined ? '' : ` (${client.name})`} vanished without Exit`));
            return;
          }
          if (defect === 'keep-vanished-client') return;
          forget(client);
        },
      };
    },
    beforeClose() {
      // The seed's server tells every client it is going away; they print "Server has shut down".
      for (const client of clients) send(client, { Exit: true });
    },
  });
  return tcpServerHandle('register-exit', host, defect);
}
