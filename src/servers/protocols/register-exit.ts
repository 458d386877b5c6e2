/**
 * The register-exit reference server (docs/protocols.md section 4, seed 003): the `fixed` rules of
 * src/models/register-exit/serve.ts (the same functions the live oracle steps) on the generic stream
 * host, over JSON lines (default) or Go gob, byte-compatible with the seed.
 *
 * What this file adds to the rules, and only this:
 *  - the wire: `Message{To, From, Content, Register, Exit}` in both directions (the model's `sender`
 *    is the wire's `From`); a bad frame gets `{From: "Error", Content}` from the host (a malformed
 *    gob stream is fatal and closes the connection, a bad JSON line is not);
 *  - the host's knowledge the rules cannot have: which connections are open (shutdown tells each
 *    of them, registered or not) and whether a connection ended by the server's choice (Exit, a
 *    limit, shutdown) or vanished (which is when the defects `crash-on-disconnect` and
 *    `keep-vanished-client` act);
 *  - the named defects, all options of the rules (`RouteDefects`).
 */
import { fixedServerOptions } from '../../models/register-exit/index.js';
import { routeMessage, type RouteMessage } from '../../models/register-exit/messages.js';
import { disconnect, handleMessage, shutdown, type RouteDefects, type RouteEffect, type RouteLimits, type RouteRegistry, type RouteServerOptions } from '../../models/register-exit/serve.js';
import { gobCodec, jsonCodec, type RegisterExitMessage } from '../../wire/registerExitCodec.js';
import type { ServerLimits } from '../serverOptions.js';
import type { Decoded, HostApi, RulesRunner, StreamCodec, StreamProtocol } from '../streamHost.js';

export interface RegisterExitConfig {
  limits: ServerLimits;
  defect: string | undefined;
  codec: 'json' | 'gob';
}

const ruleDefects: Record<string, RouteDefects> = {
  'trust-sender-field': { trustSenderField: true },
  'trust-exit-field': { trustExitField: true },
  'duplicate-name-replaces': { duplicateNameReplaces: true },
  'crash-on-disconnect': { crashOnDisconnect: true },
  'keep-vanished-client': { keepVanishedClient: true },
};

/** The rules' options for a server with these limits and defect: the model's `fixed` variant. */
export function registerExitRuleOptions(limits: RouteLimits, defect?: string): RouteServerOptions {
  return { ...fixedServerOptions, limits, ...(defect !== undefined && ruleDefects[defect] ? { defects: ruleDefects[defect] } : {}) };
}

/** The rules' limits out of the server's. */
export const routeLimits = (limits: ServerLimits): RouteLimits => ({ maxNameChars: limits.maxNameChars, maxMessageChars: limits.maxMessageChars, maxEntries: limits.maxEntries });

/** A wire message as the rules' `MESSAGE`. */
export const fromWire = (m: RegisterExitMessage): RouteMessage =>
  routeMessage({ to: m.To, sender: m.From, content: m.Content, register: m.Register, exit: m.Exit });

/** The wire form of a message of the rules. */
export const toWire = (m: RouteMessage): RegisterExitMessage => ({ To: m.to, From: m.sender, Content: m.content, Register: m.register, Exit: m.exit });

function codec(name: RegisterExitConfig['codec']): StreamCodec<RouteMessage, RouteMessage> {
  const wire = name === 'gob' ? gobCodec : jsonCodec;
  return {
    decoder(limits) {
      const decoder = wire.decoder(limits.maxFrameBytes);
      return {
        push: (chunk) => decoder.push(chunk).map((e): Decoded<RouteMessage> => (e.kind === 'message' ? { kind: 'request', request: fromWire(e.message) } : e)),
        hasPartialFrame: () => decoder.hasPartialFrame(),
      };
    },
    encode: (out) => wire.encode(toWire(out)),
    errorReply: (text) => routeMessage({ sender: 'Error', content: text }),
  };
}

/** Console lines worth a log line (forwards are not: one per message would drown the log). */
const logged = new Set(['register', 'refuse-register', 'unregister']);

function runner(config: RegisterExitConfig, host: HostApi<RouteMessage>): RulesRunner<RouteMessage> {
  const options = registerExitRuleOptions(routeLimits(config.limits), config.defect);
  let reg: RouteRegistry = { conns: {} };
  const open = new Set<string>();

  function apply(patch: Partial<RouteRegistry>, effects: readonly RouteEffect[]): void {
    reg = { ...reg, ...patch };
    for (const e of effects) {
      if (e.type === 'send') host.send(e.params.to, e.params.msg as RouteMessage);
      else if (e.type === 'close') host.close(e.params.peer, 'client sent Exit');
      else if (e.type === 'crash') host.crash(new Error(e.reason));
      else if (logged.has(String(e.params.data?.event))) host.log(`register-exit: ${e.params.text}`);
    }
  }

  return {
    opened: (conn) => open.add(conn),
    request(conn, msg) {
      const r = handleMessage(reg, conn, msg, options);
      apply(r.patch, r.effects);
    },
    closed(conn, info) {
      open.delete(conn);
      const r = disconnect(reg, conn, { reason: info.hadError ? 'connection reset' : 'connection closed', byServer: info.byServer }, options);
      apply(r.patch, r.effects);
    },
    // The seed's server tells every client it is going away; they print "Server has shut down".
    shutdown: () => apply({}, shutdown(open)),
  };
}

/** The register-exit server as a plug-in of the stream host. */
export function registerExitProtocol(config: RegisterExitConfig): StreamProtocol<RouteMessage, RouteMessage> {
  return { name: 'register-exit', codec: codec(config.codec), rules: (host) => runner(config, host) };
}
