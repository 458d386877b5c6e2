/**
 * The offline-queue server (PROTOCOLS.md section 5, seed 004): accounts, log in, direct delivery
 * to online recipients (opcode 17), offline queues, check, delete, wildcard list and quit, over
 * Protocol Buffers with the seed's schema.
 *
 * Guarantees and the readings behind them:
 *  - identity comes from the login on this connection, never from the `sender` field;
 *  - logging in to an account online elsewhere moves it here; the other connection is told with
 *    opcode 11 (logged out) and stays open, not logged in (the seed's "forced to logout");
 *  - per sender and recipient, messages arrive in send order: a message is pushed at once only when
 *    nothing from the same sender still waits in the recipient's queue, otherwise it is queued
 *    behind; check returns the queue oldest first;
 *  - no accepted message is lost: a push counts as delivered only once confirmed (the seed's
 *    delivery-confirmation rule, without an ack opcode): the recipient sends anything afterwards,
 *    closes its connection cleanly, or `deliveryConfirmMs` passes after the bytes left us with no
 *    connection error. A push not confirmed when its connection fails, is closed by the server
 *    (timeout, limit) or is taken over by a login elsewhere goes back to the recipient's queue, in
 *    order. Within that window a recipient that did read the push may see it again on check: where
 *    the outcome is indefinite we prefer a duplicate to a loss;
 *  - deleting an account returns what was unread (opcode 8), logs the session out and frees the
 *    name; nothing reaches it afterwards (a queued or unconfirmed message for it is discarded);
 *  - account names: 1..maxNameChars (25) characters, no `:` (it separates sender and text) and no
 *    control characters; messages at most maxMessageChars (100); patterns at most maxPatternChars;
 *  - a request that is malformed, over a limit or of another version gets opcode 0 with the reason.
 */
import {
  ClientOp,
  decodeClient2Server,
  delimit,
  encodeServer2Client,
  LengthDelimitedFramer,
  offlineQueueVersion,
  RawFramer,
  ServerOp,
  type Client2Server,
  type Framer,
} from '../wire/offlineQueueWire.js';
import type { ServerHandle, ServerLimits } from './serverOptions.js';
import { startTcpHost, tcpServerHandle, type TcpConnection } from './tcpHost.js';
import { matchWildcard } from './wildcardPattern.js';

/** The seed's sizes: names at most 25 characters, messages at most 100; one read is 1024 bytes. */
export const offlineQueueLimitDefaults: Partial<ServerLimits> = {
  maxNameChars: 25,
  maxMessageChars: 100,
  maxFrameBytes: 1024,
};

/** The `regex-pattern` defect only tries names this short, so a hostile pattern stays bounded. */
const regexDefectMaxNameChars = 16;

export interface OfflineQueueServerConfig {
  host: string;
  port: number;
  limits: ServerLimits;
  log: (line: string) => void;
  defect: string | undefined;
  framing: 'length-delimited' | 'raw';
  deliveryConfirmMs: number;
}

/** A message accepted for delivery. `seq` orders messages globally in acceptance order. */
interface Letter {
  seq: number;
  sender: string;
  text: string;
}

interface Account {
  name: string;
  queue: Letter[];
  /** The connection logged in to it, if any. */
  client: Client | undefined;
  deleted: boolean;
}

/** A push written (or being written) to a connection and not yet confirmed. */
interface Pending {
  letter: Letter;
  account: Account;
  /** When the bytes reached the kernel; undefined while still buffered. */
  flushedAtMs: number | undefined;
}

interface Client {
  connection: TcpConnection;
  account: Account | undefined;
  pending: Pending[];
}

export async function startOfflineQueueServer(config: OfflineQueueServerConfig): Promise<ServerHandle> {
  const { limits, log, defect, deliveryConfirmMs } = config;
  const accounts = new Map<string, Account>();
  /** deliver-to-deleted defect: deleted accounts whose connection still receives for them. */
  const deletedButOnline = new Map<string, Account>();
  const clientsWithPending = new Set<Client>();
  let nextSeq = 1;

  const encode =
    config.framing === 'raw'
      ? (opcode: number, msg = '') => encodeServer2Client({ opcode, msg })
      : (opcode: number, msg = '') => delimit(encodeServer2Client({ opcode, msg }));
  const reply = (client: Client, opcode: number, msg = '') => client.connection.write(encode(opcode, msg));

  // Pushes whose bytes left us long enough ago without a connection error count as delivered.
  const sweeper = setInterval(() => {
    const cutoff = Date.now() - deliveryConfirmMs;
    for (const client of clientsWithPending) {
      client.pending = client.pending.filter((p) => p.flushedAtMs === undefined || p.flushedAtMs > cutoff);
      if (client.pending.length === 0) clientsWithPending.delete(client);
    }
  }, Math.max(10, Math.min(deliveryConfirmMs, 1000) / 2));
  sweeper.unref();

  function confirmFlushed(client: Client): void {
    if (client.pending.length === 0) return;
    client.pending = client.pending.filter((p) => p.flushedAtMs === undefined);
    if (client.pending.length === 0) clientsWithPending.delete(client);
  }

  /** Puts every unconfirmed push of `client` (optionally only for `account`) back in its queue, in order. */
  function requeuePending(client: Client, account?: Account): void {
    if (client.pending.length === 0) return;
    const back = client.pending.filter((p) => account === undefined || p.account === account);
    client.pending = client.pending.filter((p) => !(account === undefined || p.account === account));
    if (client.pending.length === 0) clientsWithPending.delete(client);
    if (defect === 'drop-on-dead-connection') return;
    for (const { letter, account: target } of back) {
      if (target.deleted) continue; // nothing reaches a deleted account
      target.queue.push(letter);
    }
    for (const target of new Set(back.map((p) => p.account))) target.queue.sort((a, b) => a.seq - b.seq);
    if (back.length > 0) log(`offline-queue: ${back.length} unconfirmed message(s) put back in queue`);
  }

  function deliver(account: Account, letter: Letter): void {
    const recipient = account.client;
    const online = recipient !== undefined && recipient.connection.isOpen();
    const waitingFromSender = account.queue.some((l) => l.sender === letter.sender);
    if (online && !waitingFromSender) {
      const pending: Pending = { letter, account, flushedAtMs: undefined };
      recipient.pending.push(pending);
      clientsWithPending.add(recipient);
      recipient.connection.write(encode(ServerOp.push, `${letter.sender}:${letter.text}\n`), (error) => {
        if (error === undefined) pending.flushedAtMs = Date.now();
        // A failed write is handled when the connection's close requeues everything pending.
      });
      return;
    }
    if (recipient !== undefined && !online && defect === 'drop-on-dead-connection') return;
    if (defect === 'drop-offline-queue') return;
    account.queue.push(letter);
  }

  function logout(client: Client): void {
    const account = client.account;
    if (account === undefined) return;
    if (account.client === client) account.client = undefined;
    client.account = undefined;
  }

  function login(client: Client, name: string): void {
    const account = accounts.get(name);
    if (account === undefined) {
      reply(client, ServerOp.noSuchAccount, `no account ${name}`);
      return;
    }
    if (client.account === account) {
      reply(client, ServerOp.alreadyLoggedIn, `already logged in as ${name}`);
      return;
    }
    const previous = account.client;
    if (previous !== undefined && previous !== client) {
      // Moves here; the other session is told. Its unconfirmed pushes may never have arrived.
      requeuePending(previous, account);
      logout(previous);
      reply(previous, ServerOp.loggedOut, `${name} logged in from another connection`);
      log(`offline-queue: ${name} moved from connection #${previous.connection.id} to #${client.connection.id}`);
    }
    const switching = client.account !== undefined;
    logout(client);
    client.account = account;
    account.client = client;
    reply(client, switching ? ServerOp.switched : ServerOp.loggedIn, name);
  }

  function validName(name: string): string | undefined {
    if (name === '') return 'an account name cannot be empty';
    if ([...name].length > limits.maxNameChars) return `account name longer than maxNameChars=${limits.maxNameChars}`;
    if (/[:\u0000-\u001f\u007f]/.test(name)) return 'an account name cannot contain ":" or control characters';
    return undefined;
  }

  function list(client: Client, pattern: string): void {
    if ([...pattern].length > limits.maxPatternChars) {
      reply(client, ServerOp.listFailed, `pattern longer than maxPatternChars=${limits.maxPatternChars}`);
      return;
    }
    let matches: (name: string) => boolean;
    if (defect === 'regex-pattern') {
      let regex: RegExp;
      try {
        regex = new RegExp(`^(?:${pattern})$`);
      } catch (error) {
        reply(client, ServerOp.listFailed, `bad pattern: ${(error as Error).message}`);
        return;
      }
      matches = (name) => [...name].length <= regexDefectMaxNameChars && regex.test(name);
    } else {
      const effective = pattern === '' ? '*' : pattern;
      matches = (name) => matchWildcard(effective, name);
    }
    const names = [...accounts.keys()].filter(matches).sort();
    reply(client, ServerOp.listResult, names.map((n) => `${n}\n`).join(''));
  }

  function send(client: Client, request: Client2Server): void {
    const from = client.account;
    if (from === undefined) {
      reply(client, ServerOp.sendNotLoggedIn, 'log in before sending');
      return;
    }
    if ([...request.msg].length > limits.maxMessageChars) {
      reply(client, ServerOp.error, `message longer than maxMessageChars=${limits.maxMessageChars}`);
      return;
    }
    const target = accounts.get(request.receiver) ?? (defect === 'deliver-to-deleted' ? deletedButOnline.get(request.receiver) : undefined);
    if (target === undefined) {
      reply(client, ServerOp.noSuchRecipient, `no account ${request.receiver}`);
      return;
    }
    if (target.queue.length >= limits.maxQueuedMessages) {
      reply(client, ServerOp.error, `queue of ${target.name} is full: limit maxQueuedMessages=${limits.maxQueuedMessages} reached`);
      return;
    }
    const sender = defect === 'trust-sender-field' && request.sender !== '' ? request.sender : from.name;
    deliver(target, { seq: nextSeq++, sender, text: request.msg });
    reply(client, ServerOp.sent, `sent to ${target.name}`);
  }

  function takeQueue(account: Account): string {
    const letters = defect === 'reorder-queue' ? [...account.queue].reverse() : account.queue;
    account.queue = [];
    return letters.map((l) => `${l.sender}:${l.text}\n`).join('');
  }

  function handle(client: Client, request: Client2Server): void {
    if (request.version !== offlineQueueVersion) {
      reply(client, ServerOp.error, `unsupported version ${JSON.stringify(request.version)}; this server speaks ${offlineQueueVersion}`);
      return;
    }
    switch (request.opcode) {
      case ClientOp.create: {
        const problem = validName(request.msg);
        if (problem !== undefined) return void reply(client, ServerOp.error, problem);
        if (accounts.has(request.msg)) return void reply(client, ServerOp.nameExists, `${request.msg} exists`);
        if (accounts.size >= limits.maxEntries) return void reply(client, ServerOp.error, `too many accounts: limit maxEntries=${limits.maxEntries} reached`);
        accounts.set(request.msg, { name: request.msg, queue: [], client: undefined, deleted: false });
        deletedButOnline.delete(request.msg);
        return void reply(client, ServerOp.created, request.msg);
      }
      case ClientOp.login:
        return login(client, request.msg);
      case ClientOp.send:
        return send(client, request);
      case ClientOp.check: {
        if (client.account === undefined) return void reply(client, ServerOp.checkNotLoggedIn, 'log in before checking');
        return void reply(client, ServerOp.unread, takeQueue(client.account));
      }
      case ClientOp.delete: {
        const account = client.account;
        if (account === undefined) return void reply(client, ServerOp.deleteRefused, 'log in to the account to delete');
        const unread = takeQueue(account);
        accounts.delete(account.name);
        if (defect === 'deliver-to-deleted') {
          deletedButOnline.set(account.name, account); // the flaw: its connection still receives
        } else {
          account.deleted = true;
          logout(client);
        }
        log(`offline-queue: account ${account.name} deleted`);
        return void reply(client, ServerOp.deleted, unread);
      }
      case ClientOp.list:
        return list(client, request.msg);
      case ClientOp.quit: {
        if (client.account === undefined) return void reply(client, ServerOp.quitNotLoggedIn, 'not logged in');
        const name = client.account.name;
        logout(client);
        return void reply(client, ServerOp.loggedOut, name);
      }
      default:
        reply(client, ServerOp.error, `unknown opcode ${request.opcode}; requests are 1..7`);
    }
  }

  const host = await startTcpHost({
    name: 'offline-queue',
    host: config.host,
    port: config.port,
    limits,
    log,
    errorFrame: (text) => encode(ServerOp.error, text),
    accept(connection) {
      const client: Client = { connection, account: undefined, pending: [] };
      const framer: Framer = config.framing === 'raw' ? new RawFramer(limits.maxFrameBytes) : new LengthDelimitedFramer(limits.maxFrameBytes);
      return {
        onData(chunk) {
          // Anything the recipient sends shows it was alive after the pushes already flushed.
          confirmFlushed(client);
          let events = framer.push(chunk);
          if (defect === 'lose-back-to-back') events = events.slice(0, 1);
          for (const event of events) {
            if (!connection.isOpen()) return;
            if (event.kind === 'error') {
              reply(client, ServerOp.error, event.reason);
              if (event.fatal) {
                log(`offline-queue: connection #${connection.id}: ${event.reason}`);
                connection.end(event.reason);
                return;
              }
              continue;
            }
            let request: Client2Server;
            try {
              request = decodeClient2Server(event.bytes);
            } catch (error) {
              reply(client, ServerOp.error, `bad request: not a Client2Server message (${(error as Error).message})`);
              continue;
            }
            handle(client, request);
          }
        },
        hasPartialFrame: () => framer.hasPartialFrame(),
        onClose(info) {
          if (info.hadError || info.byServer) requeuePending(client);
          else {
            // A clean close: what reached the kernel before it was read (an unread push makes the
            // peer's close a reset, not a clean close); what never left us goes back.
            client.pending = client.pending.filter((p) => p.flushedAtMs === undefined);
            requeuePending(client);
          }
          clientsWithPending.delete(client);
          logout(client);
        },
      };
    },
    beforeClose() {
      clearInterval(sweeper);
    },
  });
  return tcpServerHandle('offline-queue', host, defect);
}
