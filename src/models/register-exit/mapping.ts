/**
 * register-exit: how the server model's `MESSAGE` (messages.ts) meets the
 * wire's `Message{To, From, Content, Register, Exit}` (docs/protocols.md section 4), for the model
 * oracle. The model is the `fixed` server: names bound to connections, Exit only for oneself,
 * vanished clients forgotten.
 *
 * Compared: To, From, Content, Register and Exit, except that the text of an error reply (From
 * "Error") is compared only where the seed fixes it ("That user is not connected to this server"),
 * and the server's shutdown notice is just Exit (the model's names the server). The model's
 * keepalive sweep is not run: docs/protocols.md has no keepalive, and a live server notices a vanished
 * client by its connection.
 *
 * What docs/protocols.md fixes and what it leaves open: `registerExitMarking` below. The default oracle
 * checks the normative parts; `--strict` holds the server to the reference server's choices too.
 */
import type { Comparison, Expectation, Inbound, Marking, MappingOptions, WireMapping, WorldView } from '../live-types.js';
import { mayClose, optional, show } from '../live-types.js';
import type { ModelVariant, ProtocolMessage } from '../types.js';
import { errorSender, notConnectedText, type RouteMessage } from './messages.js';
import { routeMessageOfWire } from './wire.js';

/** register-exit: what the protocol fixes (always checked) and what it leaves open (`--strict`). */
export const registerExitMarking: Marking = {
  normative: [
    'routing: a message to a registered name reaches that name\'s connection only, with To, Content and the sender\'s registered name as From',
    'an error reply (From "Error") to the sender of a message to a name nobody holds; nothing reaches anyone else',
    'state: Register binds a name to its connection; a name in use is refused and its holder keeps it; Exit and a vanished connection unregister the sender only; an Exit never unregisters another user',
    'the server\'s shutdown notice (Exit) to every client',
  ],
  illustrative: [
    { id: 'error-text', what: 'the Content of error replies ("That user is not connected to this server" is the seed\'s)', strict: 'the seed\'s text for an unknown recipient' },
    { id: 'close-after-error', what: 'the connection closed or kept after an error reply (a refused name, an unknown recipient)', strict: 'kept open' },
    { id: 'to-in-notices', what: 'the To of an error reply or of the shutdown notice (empty in the seed; a server may name the recipient)', strict: 'empty, as the seed' },
    { id: 're-register', what: 'a Register of the name the connection already holds: nothing (the seed: registering has no reply), or an error reply to the sender; the name stays registered either way', strict: 'nothing' },
    { id: 'foreign-exit', what: 'an Exit whose From names another user: taken as the sender\'s own Exit (its connection closed), or refused (an optional error, the connection closed or kept)', strict: 'the sender\'s own Exit' },
  ],
};

/** The fields of a model message a wire message is compared on. */
function wanted(e: RouteMessage, strict: boolean): Record<string, unknown> {
  const want: Record<string, unknown> = { To: e.to, From: e.sender, Content: e.content, Register: e.register, Exit: e.exit };
  // The model's error wordings are its own; only the seed's text is fixed, and only under --strict.
  if (e.sender === errorSender && (e.content !== notConnectedText || !strict)) delete want.Content;
  // The model's shutdown notice names the server; the seed's is just Exit.
  if (e.exit) delete want.From;
  // An error reply or a shutdown notice is addressed by its connection: its To is the server's choice.
  if (!strict && (e.sender === errorSender || e.exit)) delete want.To;
  return want;
}

const anyError: Expectation = optional({
  kind: 'wire',
  description: '{From: "Error"} (a refusal)',
  test: (wire) => ((wire as Record<string, unknown> | null)?.From === errorSender ? null : `expected an error reply, got ${show(wire)}`),
});

/** The oracle's mapping: the `fixed` variant's server unless `server` names another. */
export function registerExitMapping(fixed: ModelVariant, { server, strict }: MappingOptions): WireMapping {
  const role = server?.role ?? fixed.roles.server!;
  return {
    name: `register-exit (${server?.variantName ?? 'fixed'}) server model${strict ? ', strict' : ''}`,
    role,
    input: { ...(server?.input ?? role.input({ self: 'server', nodesByRole: { server: ['server'] }, params: {} })), timeoutMs: 1e12, sweepMs: 1e11 },
    strict,
    marking: registerExitMarking,

    inbound(client: string, wire: unknown, world: WorldView): Inbound[] {
      const m = routeMessageOfWire(wire);
      const as: Inbound = { events: [{ ...m, from: client }] };
      if (strict || m.sender === '' || !(m.exit || m.register)) return [as];
      const conns = (world.context.conns ?? {}) as Record<string, string>;
      const own = Object.entries(conns).find(([, conn]) => conn === client)?.[0];
      // Registering the name this connection holds: nothing changes; a server may say so.
      if (!m.exit) return own === m.sender ? [{ ...as, extra: [anyError] }] : [as];
      // An Exit naming another user than the sender's own name: the sender's Exit, or refused.
      if (own === undefined || own === m.sender) return [as];
      return [as, { events: [], extra: [anyError, mayClose] }];
    },

    expand(msg: ProtocolMessage): Expectation[] {
      const shown: Expectation = { kind: 'message', msg };
      return !strict && (msg as RouteMessage).sender === errorSender ? [shown, mayClose] : [shown];
    },

    compare(expected: ProtocolMessage, wire: unknown): Comparison {
      const a = (wire ?? {}) as Record<string, unknown>;
      for (const [field, value] of Object.entries(wanted(expected as RouteMessage, strict))) {
        if ((a[field] ?? (typeof value === 'boolean' ? false : '')) !== value) return { ok: false, reason: `${field}: expected ${show(value)}, got ${show(a[field])}`, text: field === 'Content' };
      }
      return { ok: true };
    },

    describe(expected: ProtocolMessage): string {
      const e = expected as RouteMessage;
      const shown: Record<string, unknown> = { To: e.to, From: e.sender, Content: e.content, Register: e.register, Exit: e.exit };
      if (e.sender === errorSender && (e.content !== notConnectedText || !strict)) shown.Content = '(any error text)';
      if (e.exit) delete shown.From;
      if (!strict && (e.sender === errorSender || e.exit)) delete shown.To;
      return show(shown);
    },
  };
}
