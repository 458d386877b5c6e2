/**
 * The register-exit reference server as the generic host runs it (src/servers/rules-host.ts): the
 * `fixed` rules of serve.ts (the same functions the live oracle steps) over JSON lines (default) or
 * Go gob, byte-compatible with the seed.
 *
 * What this adds to the rules, and only this:
 *  - the wire: `Message{To, From, Content, Register, Exit}` in both directions (the model's `sender`
 *    is the wire's `From`); a bad frame gets `{From: "Error", Content}` from the host (a malformed
 *    gob stream is fatal and closes the connection, a bad JSON line is not);
 *  - what the rules cannot know: which connections are open (shutdown tells each of them,
 *    registered or not) and whether a connection ended by the server's choice (Exit, a limit,
 *    shutdown) or vanished (which is when the defects `crash-on-disconnect` and
 *    `keep-vanished-client` act);
 *  - the named defects, all options of the rules (`RouteDefects`).
 */
import { keepClosedConnectionsDefect, keepConnectionBuffersDefect, readIsMessageDefect, type ServerEffect, type ServerSetup, type ServerStep, type StreamServer, type StreamWire } from '../server-program.js';
import { routeMessage, type RouteMessage } from './messages.js';
import { disconnect, handleMessage, shutdown, type RouteDefects, type RouteEffect, type RouteLimits, type RouteRegistry, type RouteServerOptions } from './serve.js';
import { encodeJsonMessage, messageStruct, parseJsonMessage, toWire, type WireMessage } from './wire.js';

/** The named flaws of the reference server. */
export const registerExitDefects = [
  { name: 'trust-sender-field', description: 'a forwarded message keeps the From the client filled in (sending as someone else)' },
  { name: 'trust-exit-field', description: 'a message with Exit set unregisters the name in its From field, whoever sent it' },
  { name: 'duplicate-name-replaces', description: 'registering a name in use takes it over from the earlier client' },
  { name: 'crash-on-disconnect', description: 'the whole server dies when a client vanishes without sending Exit' },
  { name: 'keep-vanished-client', description: 'a client that vanishes without Exit stays registered (messages to it vanish, its name stays taken)' },
  readIsMessageDefect,
  keepClosedConnectionsDefect,
  keepConnectionBuffersDefect,
] as const;

const ruleDefects: Record<string, RouteDefects> = {
  'trust-sender-field': { trustSenderField: true },
  'trust-exit-field': { trustExitField: true },
  'duplicate-name-replaces': { duplicateNameReplaces: true },
  'crash-on-disconnect': { crashOnDisconnect: true },
  'keep-vanished-client': { keepVanishedClient: true },
};

/** The rules' options for a server with these limits and defect: the model's `fixed` variant. */
export function registerExitRuleOptions(fixed: RouteServerOptions, limits: RouteLimits, defect?: string): RouteServerOptions {
  return { ...fixed, limits, ...(defect !== undefined && ruleDefects[defect] ? { defects: ruleDefects[defect] } : {}) };
}

/** A wire message as the rules' `MESSAGE`. */
export const fromWire = (m: WireMessage): RouteMessage => routeMessage({ to: m.To, sender: m.From, content: m.Content, register: m.Register, exit: m.Exit });

function wire(codec: 'json' | 'gob'): StreamWire<RouteMessage, RouteMessage> {
  const errorReply = (text: string): RouteMessage => routeMessage({ sender: 'Error', content: text });
  if (codec === 'gob') {
    return { format: 'gob', struct: messageStruct, decode: (m) => ({ request: fromWire(m as unknown as WireMessage) }), encode: (out) => ({ ...toWire(out) }), errorReply };
  }
  return {
    format: 'json-lines',
    decode(line) {
      const parsed = parseJsonMessage(line);
      return typeof parsed === 'string' ? { problem: `bad message: ${parsed}`, fatal: false } : { request: fromWire(parsed) };
    },
    encode: (out) => encodeJsonMessage(toWire(out)),
    errorReply,
  };
}

/** Console lines worth a log line (forwards are not: one per message would drown the log). */
const logged = new Set(['register', 'refuse-register', 'unregister']);

interface State {
  reg: RouteRegistry;
  open: string[];
}

function effectsOf(effects: readonly RouteEffect[]): ServerEffect<RouteMessage>[] {
  const out: ServerEffect<RouteMessage>[] = [];
  for (const e of effects) {
    if (e.type === 'send') out.push({ type: 'send', conn: e.params.to, out: e.params.msg as RouteMessage });
    else if (e.type === 'close') out.push({ type: 'close', conn: e.params.peer, reason: 'client sent Exit' });
    else if (e.type === 'crash') out.push({ type: 'crash', reason: e.reason });
    else if (logged.has(String(e.params.data?.event))) out.push({ type: 'log', text: `register-exit: ${e.params.text}` });
  }
  return out;
}

const step = (state: State, patch: Partial<RouteRegistry>, effects: readonly RouteEffect[]): ServerStep<State, RouteMessage> => ({ state: { ...state, reg: { ...state.reg, ...patch } }, effects: effectsOf(effects) });

/** The server for one run: `codec` is `json` (the default; `json-lines` and its aliases too) or `gob`. */
export function registerExitServer(fixed: RouteServerOptions, setup: ServerSetup): StreamServer<State, RouteMessage, RouteMessage> | { problem: string } {
  const given = setup.options.codec ?? 'json';
  const codec = given === 'json-lines' ? 'json' : given;
  if (codec !== 'json' && codec !== 'gob') return { problem: `codec must be json or gob, got ${JSON.stringify(given)}` };
  const { maxNameChars, maxMessageChars, maxEntries } = setup.limits;
  const options = registerExitRuleOptions(fixed, { maxNameChars, maxMessageChars, maxEntries }, setup.defect);
  return {
    wire: wire(codec),
    ...(setup.defect === readIsMessageDefect.name ? { readIsMessage: true } : {}),
    ...(setup.defect === keepClosedConnectionsDefect.name ? { keepClosedConnections: true } : {}),
    ...(setup.defect === keepConnectionBuffersDefect.name ? { keepConnectionBuffers: true } : {}),
    rules: {
      init: () => ({ reg: { conns: {} }, open: [] }),
      opened: (state, conn) => ({ state: { ...state, open: [...state.open, conn] }, effects: [] }),
      request(state, conn, msg) {
        const r = handleMessage(state.reg, conn, msg, options);
        return step(state, r.patch, r.effects);
      },
      closed(state, conn, end) {
        const r = disconnect(state.reg, conn, { reason: end.hadError ? 'connection reset' : 'connection closed', byServer: end.byServer }, options);
        return step({ ...state, open: state.open.filter((c) => c !== conn) }, r.patch, r.effects);
      },
      // The seed's server tells every client it is going away; they print "Server has shut down".
      shutdown: (state) => ({ state, effects: effectsOf(shutdown(state.open)) }),
    },
  };
}
