/**
 * register-exit: a routing server with Register and Exit flags in every message (seed 003,
 * docs/protocols.md section 4).
 */
import type { ProtocolPackage } from '../package.js';
import type { Effect, GlobalView, ModelDefaults, ModelVariant, NodeId } from '../types.js';
import { createRouteClient } from './client.js';
import { registerExitLive } from './live.js';
import { validateRouteMessage } from './messages.js';
import { allMessagesHandled, exitOnlySelf, noForwardToVanished, senderIsAuthentic, serverSurvivesClients, uniqueNames } from './properties.js';
import { createRouteServer, type RouteServerOptions } from './server.js';

const isMessageShown = (_node: NodeId, effect: Effect): boolean => effect.type === 'print' && effect.params.kind === 'message';

const explanations: Record<string, string> = {
  'invariant:sender-is-authentic':
    'the server forwards the From field as the client wrote it (the seed: "If a user was somehow able to set the Exit or Register fields..."): any client can write someone else\'s name there',
  'invariant:exit-only-self':
    'Exit removes the name in From, not the name of the connection that sent it: a client can unregister someone else, who silently stops getting messages',
  'invariant:unique-names':
    'registering a name already in use overwrites the map entry: the first client is still connected but its messages now go to the newcomer',
  'invariant:no-forward-to-vanished':
    'a client that dies without sending Exit stays in the map (its handler goroutine just returns); the server keeps writing its messages into a dead connection',
  'invariant:all-messages-handled':
    'the server reads each message with a fresh gob decoder, which reads ahead through a buffer: a message that arrives right behind another is thrown away with the old decoder',
  'invariant:server-survives-clients':
    'writing to a vanished client\'s connection fails and the handler calls log.Fatal, which ends the whole server and every other client\'s session',
};

/** Explains a finding in the seed's terms. */
export function diagnose(_view: GlobalView, finding: { kind: string; id: string }): string | null {
  return explanations[finding.id] ?? null;
}

const names = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank'];
const nameOf = (i: number): string => names[i] ?? `user${i + 1}`;

export const defaults: ModelDefaults = {
  clients: 3,
  rounds: 2,
  topology: ({ clients, rounds }) => {
    const ids = Array.from({ length: clients }, (_, i) => `c${i + 1}`);
    const last = ids.length - 1;
    return {
      nodes: [
        { id: 'server', role: 'server' },
        ...ids.map((id, i) => ({ id, role: 'client', params: { user: nameOf(i) }, startAtMs: { uniform: [0, 50] as [number, number] } })),
        // A tampered client: registers as mallory, writes the first user's name into From.
        { id: 'mallory', role: 'client', params: { user: 'mallory', spoofAs: nameOf(0) }, startAtMs: 6000 },
        // Someone who writes to the last user long after that user's terminal was killed.
        { id: 'late', role: 'client', params: { user: 'late' }, startAtMs: 45_000 },
      ],
      workload: [
        ...ids.map((id, i) => ({
          node: id,
          messages: [
            ...Array.from({ length: rounds }, (_, r) => `send ${nameOf((i + 1) % ids.length)} ${id} message ${r + 1}`),
            `flood ${nameOf((i + 1) % ids.length)} 3 ${id} burst`,
          ],
        })),
        { node: 'mallory', messages: [`send ${nameOf(1)} this is ${nameOf(0)}, honest`] },
        { node: 'late', messages: [`send ${nameOf(last)} are you there?`] },
      ],
    };
  },
  scenario: {
    faults: [{ kind: 'crash', atMs: 4000, node: 'c3', mode: 'silent' }],
  },
};

function variant(name: string, summary: string, server: RouteServerOptions, keepalive: boolean): ModelVariant {
  return {
    name,
    summary,
    roles: {
      server: {
        machine: createRouteServer(server),
        description: name === 'fixed' ? 'the routing server, names bound to connections' : "the seed's routing server",
        input: ({ params }) => ({
          ...(typeof params.readAheadMs === 'number' ? { readAheadMs: params.readAheadMs } : {}),
          ...(typeof params.sweepMs === 'number' ? { sweepMs: params.sweepMs } : {}),
          ...(typeof params.timeoutMs === 'number' ? { timeoutMs: params.timeoutMs } : {}),
        }),
      },
      client: {
        machine: createRouteClient({ keepalive }),
        description: 'a person at the client: send <user> <text>, flood <user> <n> <text>, EXIT',
        input: ({ self, nodesByRole, params }) => ({
          self,
          server: nodesByRole.server?.[0] ?? 'server',
          ...(typeof params.user === 'string' ? { user: params.user } : {}),
          ...(typeof params.spoofAs === 'string' ? { spoofAs: params.spoofAs } : {}),
          ...(typeof params.keepaliveMs === 'number' ? { keepaliveMs: params.keepaliveMs } : {}),
        }),
      },
    },
    invariants: [serverSurvivesClients],
    properties: [senderIsAuthentic, exitOnlySelf, uniqueNames, noForwardToVanished, allMessagesHandled],
    isProgress: isMessageShown,
    defaults,
    transport: 'tcp',
    diagnose,
  };
}

/** The seed's server rules (serve.ts options). */
export const faithfulServerOptions: RouteServerOptions = { identityFromConnection: false, decoderPerConnection: false, detectVanished: false };

/** The fixed server rules: what the oracle steps and the reference server (src/servers) runs. */
export const fixedServerOptions: RouteServerOptions = { identityFromConnection: true, decoderPerConnection: true, detectVanished: true, validNamesOnly: true };

export const faithful = variant(
  'faithful',
  'the seed as written: From, Register and Exit trusted from the message, a decoder per message, log.Fatal on a failed write',
  faithfulServerOptions,
  false,
);

export const fixed = variant(
  'fixed',
  'names bound to connections, Exit only for self, duplicate and reserved names refused, vanished clients detected (reset or keepalive timeout)',
  fixedServerOptions,
  true,
);

/** The package: the model, and its live side (codecs, oracle mapping, client wire, reference server). */
export const registerExit: ProtocolPackage = {
  name: 'register-exit',
  summary: 'a routing server; every message carries To, From, Content and the Register and Exit flags',
  source: 'seed 003 (course design document: register/exit routing), described in docs/protocols.md#register-exit',
  variants: { faithful, fixed },
  validateMessage: validateRouteMessage,
  live: registerExitLive(fixed, fixedServerOptions),
  clients: { exercised: ['prompt', 'message', 'joined'] },
};
