/**
 * ping-liveness: version negotiation, login, echo chat and a heartbeat ping (seed 002,
 * docs/protocols.md section 3).
 *
 * Variants: `faithful` (the seed's final implementation: ping every 10 s, sessions named by the
 * message's id, silence on a version mismatch), `no-ping` (the seed's first proposal, which it
 * reports locked users out for ever), and `fixed` (identity bound to the connection, ERROR 5 on a
 * version mismatch, sessions ended on disconnect and by the ping timeout, LOGOUT on Ctrl-C).
 */
import type { ProtocolPackage } from '../package.js';
import type { Effect, GlobalView, ModelDefaults, ModelVariant, NodeId, RoleDefinition } from '../types.js';
import { pingLivenessLive } from './live.js';
import { createPingClient, type PingClientOptions } from './client.js';
import { validatePingMessage } from './messages.js';
import { lockoutEndsWithinBound, oneSessionPerUser, sessionBoundToConnection } from './properties.js';
import { createPingServer, type PingServerOptions } from './server.js';

const isEchoShown = (_node: NodeId, effect: Effect): boolean => effect.type === 'print' && effect.params.kind === 'message';

function serverRole(options: PingServerOptions, description: string): RoleDefinition {
  return {
    machine: createPingServer(options),
    description,
    input: ({ params }) => ({
      ...(Array.isArray(params.versions) ? { versions: params.versions } : {}),
      ...(params.accounts && typeof params.accounts === 'object' ? { accounts: params.accounts } : {}),
      ...(typeof params.sweepMs === 'number' ? { sweepMs: params.sweepMs } : {}),
      ...(typeof params.sessionTimeoutMs === 'number' ? { sessionTimeoutMs: params.sessionTimeoutMs } : {}),
    }),
  };
}

function clientRole(options: PingClientOptions, description: string): RoleDefinition {
  return {
    machine: createPingClient(options),
    description,
    input: ({ self, nodesByRole, params }) => ({
      self,
      server: nodesByRole.server?.[0] ?? 'server',
      ...(Array.isArray(params.versions) ? { versions: params.versions } : {}),
      ...(typeof params.pingIntervalMs === 'number' ? { pingIntervalMs: params.pingIntervalMs } : {}),
    }),
  };
}

/** Explains a finding in the seed's terms. */
export function diagnose(view: GlobalView, finding: { kind: string; id: string }): string | null {
  const server = Object.values(view.nodes).find((n) => n.role === 'server');
  if (finding.id === 'invariant:session-bound-to-connection') {
    return 'the server looks the session up by the `id` the client wrote in the message, not by the connection it came on, so anyone who knows (or guesses) a session id can chat or log out as that user';
  }
  if (finding.id === 'invariant:lockout-ends-within-bound') {
    return server && typeof server.context.lockoutBoundMs === 'number' && server.context.sweepMs
      ? 'the killed client never logged out and the server kept its session past the ping timeout: its user is refused as "logged in from another location"'
      : 'without the PING the server cannot tell a killed client from a quiet one: the session of a client killed with Ctrl-C stays for ever, and its user is refused as "logged in from another location" every time';
  }
  const negotiating = Object.values(view.nodes).filter((n) => n.role === 'client' && n.status === 'running' && n.value === 'negotiating');
  if (negotiating.length > 0 && finding.kind !== 'invariant') {
    const offered = negotiating.map((n) => `${n.id} offered ${JSON.stringify(n.context.versions)}`).join('; ');
    const speaks = server ? JSON.stringify(server.context.versions) : 'other versions';
    return `${offered}; the server speaks ${speaks} and, finding nothing in common, answers nothing: the client waits for a VERSION_RESPONSE for ever`;
  }
  return null;
}

/** Accounts `user1`/`pass1`... (the seed's two, more when scaled) and the intruder's own. */
function accounts(clients: number): Record<string, string> {
  const out: Record<string, string> = { mallory: 'secret' };
  for (let i = 1; i <= Math.max(2, clients); i++) out[`user${i}`] = `pass${i}`;
  return out;
}

export const defaults: ModelDefaults = {
  clients: 2,
  rounds: 2,
  topology: ({ clients, rounds }) => {
    const ids = Array.from({ length: clients }, (_, i) => `c${i + 1}`);
    return {
      nodes: [
        { id: 'server', role: 'server', params: { accounts: accounts(clients) } },
        ...ids.map((id) => ({ id, role: 'client', startAtMs: { uniform: [0, 50] as [number, number] } })),
        // A tampered client that logs in as itself, then chats and logs out naming session s1.
        { id: 'intruder', role: 'client', startAtMs: 8000 },
        // The person whose first client was killed tries again from a new terminal, after the timeout.
        { id: 'c1b', role: 'client', startAtMs: 50_000 },
      ],
      workload: [
        ...ids.map((id, i) => ({
          node: id,
          messages: [`user${i + 1}`, `pass${i + 1}`, ...Array.from({ length: rounds }, (_, r) => `${id} message ${r + 1}`)],
          quitAfter: true,
        })),
        { node: 'intruder', messages: ['mallory', 'secret', '!as s1 intruder speaking as s1', '!logout s1'], quitAfter: true },
        { node: 'c1b', messages: ['user1', 'pass1', 'c1b back again'], quitAfter: true },
      ],
    };
  },
  scenario: {
    // c1 is killed mid-session (its host vanishes: nothing tells the server).
    faults: [{ kind: 'crash', atMs: 3000, node: 'c1', mode: 'silent' }],
  },
};

function variant(name: string, summary: string, server: PingServerOptions, client: PingClientOptions): ModelVariant {
  return {
    name,
    summary,
    roles: {
      server: serverRole(server, name === 'fixed' ? 'the echo server, identity bound to the connection' : "the seed's echo server"),
      client: clientRole(client, 'a person at the chat client: version offer, login, chat lines'),
    },
    invariants: [oneSessionPerUser],
    properties: [sessionBoundToConnection, lockoutEndsWithinBound],
    isProgress: isEchoShown,
    defaults,
    transport: 'tcp',
    diagnose,
  };
}

/** The fixed server rules: what the oracle steps and the reference server (src/servers) runs. */
export const fixedServerOptions: PingServerOptions = { expireSilentSessions: true, identityFromConnection: true, explicitVersionError: true, endSessionOnDisconnect: true };

export const faithful = variant(
  'faithful',
  "the seed's implementation: ping every 10 s, 30 s timeout, sessions named by the message's id, silence on a version mismatch",
  { expireSilentSessions: true, identityFromConnection: false, explicitVersionError: false, endSessionOnDisconnect: false },
  { pings: true, logoutOnQuit: false },
);

export const noPing = variant(
  'no-ping',
  "the seed's first proposal, before its PING_MESSAGE: a killed client's session is never dropped",
  { expireSilentSessions: false, identityFromConnection: false, explicitVersionError: false, endSessionOnDisconnect: false },
  { pings: false, logoutOnQuit: false },
);

export const fixed = variant(
  'fixed',
  'identity bound to the connection, ERROR 5 on a version mismatch, sessions end on disconnect or after the ping timeout',
  fixedServerOptions,
  { pings: true, logoutOnQuit: true },
);

/** The package: the model, and its live side (codec, oracle mapping, client wire, reference server). */
export const pingLiveness: ProtocolPackage = {
  name: 'ping-liveness',
  summary: 'version negotiation, login, echo chat and a 10 s heartbeat ping over one connection per client',
  source: 'seed 002 (course design document: ping liveness), described in docs/protocols.md#ping-liveness',
  variants: { faithful, 'no-ping': noPing, fixed },
  validateMessage: validatePingMessage,
  live: pingLivenessLive(fixed, fixedServerOptions),
  // The sender's own program shows the echo; turns do not alternate.
  clients: { exercised: ['prompt', 'message', 'joined'], echo: true },
};
