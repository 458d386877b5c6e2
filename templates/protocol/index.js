/**
 * __NAME__: a request and its reply, with a timeout. A protosim protocol package (docs/models.md):
 * this module's default export is the record protosim reads, the same kind of record its built-in
 * protocols are.
 *
 * Two roles. A `client` sends REQUEST {n, text} for each line its person types and waits for
 * REPLY {n, text}; when none comes within `retryMs` it sends the request again, and it ignores a
 * reply that is not to its current request (a late or duplicated one). The `server` answers every
 * REQUEST with a REPLY to whoever sent it.
 *
 * Roles are XState v5 machines. They decide; protosim acts: effects are named actions with params
 * (`send` a message, `print` to the person), timers are `after` delays, and tags tell the checkers
 * what a state means (`awaitingUser`: waiting for its person; `waiting`: waiting for another node;
 * `server`: serves for ever).
 *
 *   npx protosim run __NAME__/scenario.yaml                        the scenario and what it expects
 *   npx protosim check ./__NAME__/index.js                         the default check: nothing is found
 *   npx protosim check ./__NAME__/index.js --variant no-dedupe     the flawed variant: the check finds it
 */
import { assign, defineProtocol, setup } from 'protosim/model';

/** @typedef {import('protosim/model').Invariant} Invariant */
/** @typedef {import('protosim/model').HistoryProperty<Record<string, string[]>>} ShownOnceProperty */

/**
 * The client. `dedupe: false` is the flaw of the `no-dedupe` variant: it shows whatever reply comes.
 * Node params (a scenario's `params:`): `retryMs`, how long it waits before asking again (default 1000).
 * @param {{ dedupe: boolean }} options
 */
function createClient({ dedupe }) {
  return setup({
    actions: {
      // Effects: protosim carries them out (send a message, show a line); the machine only names them.
      send: (_, _params) => {},
      print: (_, _params) => {},
    },
    delays: {
      retry: ({ context }) => context.retryMs,
    },
  }).createMachine({
    id: '__NAME__-client',
    context: ({ input }) => ({ server: input.server, retryMs: input.retryMs, n: 0, text: '', shown: 0 }),
    initial: 'idle',
    on: {
      'user.quit': '.done',
    },
    states: {
      idle: {
        tags: ['awaitingUser'],
        // A prompt asks the person for the next line of the workload.
        entry: { type: 'print', params: { kind: 'prompt', text: '> ' } },
        on: {
          'user.input': {
            target: 'waiting',
            actions: assign({ n: ({ context }) => context.n + 1, text: ({ event }) => event.text }),
          },
        },
      },
      waiting: {
        tags: ['waiting'],
        meta: { waitsFor: 'the reply to its request' },
        // On entry (and on every retry, which enters the state again): send the request.
        entry: { type: 'send', params: ({ context }) => ({ to: context.server, msg: { type: 'REQUEST', n: context.n, text: context.text } }) },
        after: {
          retry: { target: 'waiting', reenter: true },
        },
        on: {
          REPLY: {
            guard: ({ context, event }) => !dedupe || event.n === context.n,
            target: 'idle',
            actions: [
              assign({ shown: ({ context }) => context.shown + 1 }),
              { type: 'print', params: ({ event }) => ({ kind: 'message', text: event.text }) },
            ],
          },
        },
      },
      done: { type: 'final' },
    },
  });
}

/** The server: answers every request to whoever sent it (`from`, which protosim adds to every message). */
const server = setup({
  actions: {
    send: (_, _params) => {},
  },
}).createMachine({
  id: '__NAME__-server',
  initial: 'serving',
  states: {
    serving: {
      tags: ['server'],
      on: {
        REQUEST: {
          actions: { type: 'send', params: ({ event }) => ({ to: event.from, msg: { type: 'REPLY', n: event.n, text: event.text } }) },
        },
      },
    },
  },
});

/** @type {Invariant} A safety predicate over every node's state, checked after every step. */
const replyPerRequest = {
  id: 'reply-per-request',
  description: 'no client shows more replies than it made requests',
  check(view) {
    for (const node of Object.values(view.nodes)) {
      if (node.role === 'client' && node.context.shown > node.context.n) return `${node.id} showed ${node.context.shown} replies to ${node.context.n} requests`;
    }
    return null;
  },
};

/** @type {ShownOnceProperty} A property of the history: what each client has shown so far. */
const shownOnce = {
  id: 'shown-once',
  description: 'no client shows the same reply twice',
  initial: {},
  observe(state, observation) {
    if (observation.kind !== 'print' || observation.params.kind !== 'message') return { state };
    const seen = state[observation.node] ?? [];
    if (seen.includes(observation.params.text)) return { violation: `${observation.node} showed ${JSON.stringify(observation.params.text)} twice` };
    return { state: { ...state, [observation.node]: [...seen, observation.params.text] } };
  },
};

/** What `protosim check` runs: the topology, what each person types, and the faults. */
const defaults = {
  clients: 2,
  rounds: 3,
  topology: ({ clients, rounds }) => {
    const ids = Array.from({ length: clients }, (_, i) => `c${i + 1}`);
    return {
      nodes: [{ id: 'server', role: 'server' }, ...ids.map((id) => ({ id, role: 'client', startAtMs: { uniform: [0, 50] } }))],
      workload: ids.map((id) => ({ node: id, messages: Array.from({ length: rounds }, (_, r) => `${id} message ${r + 1}`), quitAfter: true })),
    };
  },
  scenario: {
    network: { delayMs: { uniform: [1, 1200] } },
    // Each run loses one message and duplicates another, drawn from the seed.
    randomFaults: { count: 2, kinds: ['drop', 'duplicate'], windowMs: [0, 3000] },
  },
};

/** One variant: the roles, what must hold, and the defaults of `protosim check`. */
function variant(summary, dedupe) {
  return {
    summary,
    roles: {
      client: {
        machine: createClient({ dedupe }),
        description: 'a person typing lines; each is sent as a request, and its reply shown',
        input: ({ nodesByRole, params }) => ({ server: nodesByRole.server?.[0] ?? 'server', retryMs: typeof params.retryMs === 'number' ? params.retryMs : 1000 }),
      },
      server: {
        machine: server,
        description: 'answers every request',
        input: () => ({}),
      },
    },
    invariants: [replyPerRequest],
    properties: [shownOnce],
    defaults,
  };
}

export default defineProtocol({
  name: '__NAME__',
  summary: 'a request and its reply, with a timeout and a retry',
  variants: {
    faithful: variant('the client retries after a timeout and shows only the reply to its current request', true),
    'no-dedupe': variant('a flawed client: it shows any reply, so a late or duplicated one is shown twice', false),
  },
});
