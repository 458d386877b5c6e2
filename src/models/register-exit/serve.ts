/**
 * The register-exit server's rules: pure functions from (the registry, a connection, a message or a
 * connection event) to the next registry and the effects. Both the model's server machine
 * (server.ts) and the reference server (src/servers/protocols/register-exit.ts) run exactly these
 * functions: one reading of the protocol. What happens between messages (the faithful decoder's
 * read-ahead window, the fixed keepalive sweep, log.Fatal on a failed write) stays in the machine;
 * framing, codecs and connection identity (`#N`, given by the host) stay in the host.
 *
 * Readings the seed leaves open, taken by the faithful rules (`identityFromConnection: false`):
 *  - Register, Exit and From are taken from the message as the client filled them in: a register
 *    under a name in use replaces the earlier connection, Exit unregisters whatever name `From`
 *    says, then closes the connection it came on, and a forward carries the client's `From`;
 *  - a client that vanishes without Exit stays registered (`detectVanished: false`).
 *
 * Readings decided when the model and the reference server were made one (they disagreed):
 *  - a message with both Exit and Register set is an Exit (the old model registered first, the
 *    server exited first): a connection that asks to leave leaves, and no name stays behind it;
 *  - a message with every field empty is the fixed client's keepalive and gets no reply (the old
 *    server answered "Register first" or "not connected"; it has no recipient to be refused for);
 *  - registering the name a connection already holds changes nothing and gets no reply (the seed:
 *    registering has no reply; the old server answered an error); registering another name on a
 *    connection that has one is refused, as is a name held by another connection;
 *  - the fixed rules refuse names that cannot be a user: empty, with control characters, or the
 *    reserved `Error` and `Server` (a client registered as `Error` could pose as the server's
 *    errors). The old model accepted any name;
 *  - refusals are `{From: "Error", Content}` with the reference server's wording (docs/protocols.md fixes
 *    only the unknown recipient's text, `That user is not connected to this server`);
 *  - the reference server's hardening limits (name and message length, most registered names) are
 *    options of these rules (`RouteServerOptions.limits`); the model's variants leave them
 *    unbounded, since docs/protocols.md has none, so the oracle does not hold implementations to them;
 *  - shutdown tells every connection the server knows of with `{Exit: true}` and an empty `From`
 *    (docs/protocols.md: "a server that exits tells every client"; the old model wrote `From: "server"`
 *    and told only registered connections). The host knows every open connection; the model knows
 *    the ones it has heard from;
 *  - the named defects of the reference server are options of these rules (`RouteDefects`), so a
 *    defective server is a variation of the same rules, not another program.
 *
 * Decisions are logged (`print` kind `status`, `data.event`), which the history properties read.
 */
import type { PrintParams, SendParams } from '../types.js';
import { errorSender, isKeepalive, notConnectedText, routeMessage, type RouteMessage } from './messages.js';

/** What the rules keep: user name -> the connection that registered it. */
export interface RouteRegistry {
  conns: Record<string, string>;
}

export interface RouteLimits {
  /** longest user name, in characters (Unicode code points) */
  maxNameChars: number;
  /** longest Content, in characters */
  maxMessageChars: number;
  /** most registered names */
  maxEntries: number;
}

/** The model's limits: none (docs/protocols.md has none); the reference server passes its own. */
export const modelRouteLimits: Readonly<RouteLimits> = {
  maxNameChars: Number.POSITIVE_INFINITY,
  maxMessageChars: Number.POSITIVE_INFINITY,
  maxEntries: Number.POSITIVE_INFINITY,
};

/** The named defects of src/servers/defect-catalog.ts, all variations of these rules. */
export interface RouteDefects {
  /** trust-sender-field: a forward carries the client's `From` when it filled one in */
  trustSenderField?: boolean;
  /** trust-exit-field: Exit also unregisters the name in `From`, whoever holds it */
  trustExitField?: boolean;
  /** duplicate-name-replaces: registering a name in use takes it over */
  duplicateNameReplaces?: boolean;
  /** crash-on-disconnect: a connection that vanishes without Exit takes the whole server down */
  crashOnDisconnect?: boolean;
  /** keep-vanished-client: a connection that vanishes without Exit stays registered */
  keepVanishedClient?: boolean;
}

export interface RouteServerOptions {
  /** fixed: the name is the one this connection registered; From, Register and Exit cannot name others */
  identityFromConnection: boolean;
  /** fixed: one decoder per connection, so nothing is lost between messages (the machine's concern) */
  decoderPerConnection: boolean;
  /** fixed: a reset, closed, failed or silent (keepalive timeout) connection is unregistered */
  detectVanished: boolean;
  /** fixed: empty names, control characters and the reserved names are refused */
  validNamesOnly?: boolean;
  /** default `modelRouteLimits` */
  limits?: RouteLimits;
  /** defects of the reference server, all off by default */
  defects?: RouteDefects;
}

export type RouteEffect =
  | { type: 'send'; params: SendParams }
  | { type: 'print'; params: PrintParams }
  | { type: 'close'; params: { peer: string } }
  /** the whole server dies at once (a defect) */
  | { type: 'crash'; reason: string };

export interface RouteResult {
  patch: Partial<RouteRegistry>;
  effects: RouteEffect[];
}

/** Names no client may take: the senders of the server's own messages. */
export const reservedNames: readonly string[] = [errorSender, 'Server'];

const log = (text: string, data: Record<string, unknown>): PrintParams => ({ kind: 'status', text, data });

function without<T>(record: Record<string, T>, key: string): Record<string, T> {
  const { [key]: _gone, ...rest } = record;
  return rest;
}

/** The name registered by connection `conn`, if any. */
export function nameOf(reg: RouteRegistry, conn: string): string | null {
  for (const [name, c] of Object.entries(reg.conns)) if (c === conn) return name;
  return null;
}

const chars = (text: string): number => [...text].length;

/** Why `name` cannot be registered (whoever holds it), or null. */
export function nameProblem(name: string, o: RouteServerOptions): string | null {
  // eslint-disable-next-line no-control-regex
  if (o.validNamesOnly && (name === '' || reservedNames.includes(name) || /[\u0000-\u001f\u007f]/.test(name))) {
    return `Invalid name ${JSON.stringify(name)}: names are non-empty, without control characters, and not ${reservedNames.join(' or ')}`;
  }
  const limits = o.limits ?? modelRouteLimits;
  if (chars(name) > limits.maxNameChars) return `Name longer than maxNameChars=${limits.maxNameChars}`;
  return null;
}

/** One message being handled. */
interface Turn {
  reg: RouteRegistry;
  conn: string;
  msg: RouteMessage;
  o: RouteServerOptions;
  /** the name this connection registered */
  own: string | null;
  effects: RouteEffect[];
}

function error(t: Turn, content: string): void {
  t.effects.push({ type: 'send', params: { to: t.conn, msg: routeMessage({ sender: errorSender, content }) } });
}

function refuseRegister(t: Turn, content: string, owner: string): RouteResult {
  const name = t.msg.sender;
  t.effects.push({ type: 'print', params: log(`${t.conn} refused: ${name} (${content})`, { event: 'refuse-register', name, by: t.conn, owner }) });
  error(t, content);
  return { patch: {}, effects: t.effects };
}

function register(t: Turn): RouteResult {
  const { reg, conn, o, own } = t;
  const name = t.msg.sender;
  const prev = reg.conns[name];
  if (o.identityFromConnection) {
    if (own === name) return { patch: {}, effects: t.effects };
    if (own !== null) return refuseRegister(t, `Already registered as ${own}`, conn);
    const problem = nameProblem(name, o);
    if (problem !== null) return refuseRegister(t, problem, conn);
    if (prev !== undefined && !o.defects?.duplicateNameReplaces) return refuseRegister(t, `The name ${name} is already registered`, prev);
    const limits = o.limits ?? modelRouteLimits;
    if (prev === undefined && Object.keys(reg.conns).length >= limits.maxEntries) {
      return refuseRegister(t, `Server full: limit maxEntries=${limits.maxEntries} reached`, conn);
    }
  }
  const replaced = prev !== undefined && prev !== conn ? prev : null;
  t.effects.push({
    type: 'print',
    params: log(`${name} registered on ${conn}${replaced !== null ? ` (replacing ${replaced})` : ''}`, { event: 'register', name, by: conn, replaced }),
  });
  return { patch: { conns: { ...reg.conns, [name]: conn } }, effects: t.effects };
}

function exit(t: Turn): RouteResult {
  const { reg, conn, o, own } = t;
  let conns = reg.conns;
  const unregister = (name: string, reason: string): void => {
    const owner = conns[name];
    if (owner === undefined) return;
    conns = without(conns, name);
    t.effects.push({ type: 'print', params: log(`${name} unregistered by ${conn}`, { event: 'unregister', name, by: conn, owner, reason }) });
  };
  if (!o.identityFromConnection) unregister(t.msg.sender, 'exit');
  else {
    // The defect: the name in From goes too, whoever holds it.
    if (o.defects?.trustExitField && t.msg.sender !== '' && t.msg.sender !== own) unregister(t.msg.sender, 'exit');
    if (own !== null) unregister(own, 'exit');
  }
  t.effects.push({ type: 'close', params: { peer: conn } });
  return { patch: conns === reg.conns ? {} : { conns }, effects: t.effects };
}

function forward(t: Turn): RouteResult {
  const { reg, conn, msg, o, own } = t;
  const sender = o.identityFromConnection ? own : msg.sender;
  const reject = (text: string, data: Record<string, unknown>, reply: string): RouteResult => {
    t.effects.push({ type: 'print', params: log(text, { event: 'reject', by: conn, ...data, to: msg.to, content: msg.content }) });
    error(t, reply);
    return { patch: {}, effects: t.effects };
  };
  if (sender === null) return reject(`message from unregistered ${conn} refused`, {}, 'Register first: send {From: <your name>, Register: true}');
  const limits = o.limits ?? modelRouteLimits;
  if (chars(msg.content) > limits.maxMessageChars) {
    return reject(`${sender} -> ${msg.to}: too long`, { sender }, `Message longer than maxMessageChars=${limits.maxMessageChars}`);
  }
  const target = reg.conns[msg.to];
  if (target === undefined) return reject(`${sender} -> ${msg.to}: not connected`, { sender }, notConnectedText);
  const from = o.defects?.trustSenderField && msg.sender !== '' ? msg.sender : sender;
  t.effects.push({
    type: 'print',
    params: log(`${from} -> ${msg.to} (${target}): ${JSON.stringify(msg.content)}`, { event: 'forward', by: conn, sender: from, to: msg.to, toConn: target, content: msg.content }),
  });
  t.effects.push({ type: 'send', params: { to: target, msg: routeMessage({ to: msg.to, sender: from, content: msg.content }) } });
  return { patch: {}, effects: t.effects };
}

/** The server's answer to one message from connection `conn`. */
export function handleMessage(reg: RouteRegistry, conn: string, msg: RouteMessage, o: RouteServerOptions): RouteResult {
  const t: Turn = { reg, conn, msg, o, own: nameOf(reg, conn), effects: [] };
  if (isKeepalive(msg)) return { patch: {}, effects: [] };
  if (msg.exit) return exit(t);
  if (msg.register) return register(t);
  return forward(t);
}

/** How a connection ended, as the host saw it. */
export interface Disconnect {
  reason: string;
  /** the server closed it (after Exit, a limit, shutdown): not a client vanishing */
  byServer: boolean;
}

/** Connection `conn` is gone. */
export function disconnect(reg: RouteRegistry, conn: string, how: Disconnect, o: RouteServerOptions): RouteResult {
  const name = nameOf(reg, conn);
  const effects: RouteEffect[] = [];
  if (!how.byServer) {
    if (o.defects?.crashOnDisconnect) return { patch: {}, effects: [{ type: 'crash', reason: `connection ${conn}${name === null ? '' : ` (${name})`} vanished without Exit` }] };
    if (o.defects?.keepVanishedClient) return { patch: {}, effects };
  }
  if (!o.detectVanished || name === null) return { patch: {}, effects };
  effects.push({ type: 'print', params: log(`${name} unregistered (${how.reason})`, { event: 'unregister', name, by: conn, owner: conn, reason: how.reason }) });
  return { patch: { conns: without(reg.conns, name) }, effects };
}

/** The server shuts down: every connection in `open` is told, with `{Exit: true}`. */
export function shutdown(open: Iterable<string>): RouteEffect[] {
  const effects: RouteEffect[] = [{ type: 'print', params: log('shutting down', { event: 'shutdown' }) }];
  for (const conn of [...new Set(open)].sort()) effects.push({ type: 'send', params: { to: conn, msg: routeMessage({ exit: true }) } });
  return effects;
}
