/**
 * offline-queue: accounts, direct delivery to online users and queues for offline ones (seed 004,
 * docs/protocols.md section 5).
 */
import type { ProtocolPackage } from '../package.js';
import type { Effect, GlobalView, ModelDefaults, ModelVariant, NodeId } from '../types.js';
import { createQueueClient } from './client.js';
import { offlineQueueLive } from './live.js';
import { validateQueueMessage } from './messages.js';
import { identityFromLogin, limitsEnforced, noMessageLost, oneLocationPerAccount, patternCannotSpin, perSenderOrder } from './properties.js';
import type { QueueServerOptions } from './serve.js';
import { createQueueServer } from './server.js';

const isMessageShown = (_node: NodeId, effect: Effect): boolean => effect.type === 'print' && effect.params.kind === 'message';

const explanations: Record<string, string> = {
  'invariant:no-message-lost':
    "the server's only delivery \"confirmation\" is that writing to the socket did not fail; a write into a connection whose host silently died does not fail, so the message leaves the server and is gone",
  'invariant:per-sender-order':
    'a message queued while the recipient was offline waits for `check`, but one sent after the recipient logs in is pushed at once and overtakes it; and a push whose write fails goes to the back of the queue',
  'invariant:identity-from-login':
    'the server takes the account from the `sender` field the client fills in, so a logged-in client can send (or read, or delete) as anyone',
  'invariant:one-location-per-account':
    'logging in elsewhere moves the account\'s socket but leaves the old connection\'s session in place (and deleting an account leaves other sessions of it): the old location still acts for the account',
  'invariant:pattern-cannot-spin':
    'list turns the wildcard into a regular expression matched by backtracking; a pattern like *a*a*a*a*b against a long name tries exponentially many splits',
  'invariant:limits-enforced':
    'the 25- and 100-character limits are only the seed\'s "assumptions": nothing on the server enforces them',
};

/** Explains a finding in the seed's terms. */
export function diagnose(view: GlobalView, finding: { kind: string; id: string }): string | null {
  const known = explanations[finding.id];
  if (known) return known;
  const server = Object.values(view.nodes).find((n) => n.role === 'server');
  if (server && server.value === 'spinning') {
    return 'the server is stuck backtracking on a list pattern (catastrophic regular expression) and answers no one';
  }
  const dead = server ? Object.keys((server.context.deadThreads ?? {}) as Record<string, true>) : [];
  if (dead.length > 0) {
    return `the handler thread for ${dead.join(', ')} died on a KeyError (a check or delete for an account that no longer exists): that client waits for a reply that never comes`;
  }
  return null;
}

const names = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank'];
const nameOf = (i: number): string => names[i] ?? `user${i + 1}`;

export const defaults: ModelDefaults = {
  clients: 3,
  rounds: 2,
  topology: ({ clients, rounds }) => {
    const ids = Array.from({ length: clients }, (_, i) => `c${i + 1}`);
    return {
      nodes: [
        { id: 'server', role: 'server' },
        ...ids.map((id) => ({ id, role: 'client', startAtMs: { uniform: [0, 50] as [number, number] } })),
        // bob's host vanishes at 4 s (see the faults); at 6 s he starts the program again elsewhere.
        { id: 'c2b', role: 'client', startAtMs: 6000 },
        // A tampered client: its sender field says alice; it also tries a pathological pattern.
        { id: 'mallory', role: 'client', params: { spoofAs: nameOf(0) }, startAtMs: 8000 },
      ],
      workload: [
        ...ids.map((id, i) => ({
          node: id,
          messages: [
            `create ${nameOf(i)}`,
            `login ${nameOf(i)}`,
            ...Array.from({ length: rounds }, (_, r) => `send ${nameOf((i + 1) % ids.length)} ${id} message ${r + 1}`),
            'check',
          ],
        })),
        { node: 'c2b', messages: [`login ${nameOf(1)}`, 'check'] },
        {
          node: 'mallory',
          messages: ['create mallory', 'login mallory', `send ${nameOf(1)} this is ${nameOf(0)}, honestly`, 'create aaaaaaaaaaaaaaaaaaaaaaaa', 'list *a*a*a*a*a*a*a*a*a*a*b'],
        },
      ],
    };
  },
  scenario: {
    // bob's host vanishes mid-session (a restarted node keeps its node id, so a server could not
    // tell its new connection from the old one: the person starts over on a new node, c2b).
    faults: [{ kind: 'crash', atMs: 4000, node: 'c2', mode: 'silent' }],
  },
};

function variant(name: string, summary: string, server: QueueServerOptions, confirm: boolean): ModelVariant {
  return {
    name,
    summary,
    roles: {
      server: {
        machine: createQueueServer(server),
        description: name === 'fixed' ? 'the chat server with confirmed delivery and login-bound identity' : "the seed's chat server",
        input: ({ params }) => ({
          ...(typeof params.ackTimeoutMs === 'number' ? { ackTimeoutMs: params.ackTimeoutMs } : {}),
          ...(typeof params.maxMatchSteps === 'number' ? { maxMatchSteps: params.maxMatchSteps } : {}),
        }),
      },
      client: {
        machine: createQueueClient({ confirm }),
        description: 'a person at the menu client: create, login, send, check, delete, list, quit',
        input: ({ self, nodesByRole, params }) => ({
          self,
          server: nodesByRole.server?.[0] ?? 'server',
          ...(typeof params.spoofAs === 'string' ? { spoofAs: params.spoofAs } : {}),
        }),
      },
    },
    invariants: [],
    properties: [identityFromLogin, oneLocationPerAccount, noMessageLost, perSenderOrder, patternCannotSpin, limitsEnforced],
    isProgress: isMessageShown,
    defaults,
    transport: 'tcp',
    diagnose,
  };
}

/** The seed's server rules (serve.ts options). */
export const faithfulServerOptions: QueueServerOptions = { identityFromLogin: false, confirmDelivery: false, linearPatterns: false, enforceLimits: false, logoutOtherLocation: false, detectDisconnect: false, keepSenderOrder: false };

/** The fixed server rules: what the oracle steps and the reference server (src/servers) runs. */
export const fixedServerOptions: QueueServerOptions = { identityFromLogin: true, confirmDelivery: true, linearPatterns: true, enforceLimits: true, logoutOtherLocation: true, detectDisconnect: true, keepSenderOrder: true };

export const faithful = variant(
  'faithful',
  'the seed as written: sender field trusted, a failed write is the only delivery check, backtracking patterns, limits unenforced',
  faithfulServerOptions,
  false,
);

export const fixed = variant(
  'fixed',
  'identity from login, delivery confirmed before a message leaves the queue, linear-time patterns, limits enforced, one location per account',
  fixedServerOptions,
  true,
);

/** The package: the model, and its live side (codec, oracle mapping, client wire, reference server). */
export const offlineQueue: ProtocolPackage = {
  name: 'offline-queue',
  summary: 'accounts on a chat server: direct delivery to online users, queues for offline ones, list by pattern',
  source: 'seed 004 (course design document: offline message queueing), described in docs/protocols.md#offline-queue',
  variants: { faithful, fixed },
  validateMessage: validateQueueMessage,
  live: offlineQueueLive(fixed, fixedServerOptions),
  clients: { exercised: ['prompt', 'message', 'joined'] },
};
