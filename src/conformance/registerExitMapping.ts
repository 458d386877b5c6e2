/**
 * register-exit: how the server model's `MESSAGE` (src/models/register-exit/messages.ts) meets the
 * wire's `Message{To, From, Content, Register, Exit}` (PROTOCOLS.md section 4), for the model
 * oracle. The model is the `fixed` server: names bound to connections, Exit only for oneself,
 * vanished clients forgotten.
 *
 * Compared: To, From, Content, Register and Exit, except that the text of an error reply (From
 * "Error") is compared only where the seed fixes it ("That user is not connected to this server"),
 * and the server's shutdown notice is just Exit (the model's names the server). The model's
 * keepalive sweep is not run: PROTOCOLS.md has no keepalive, and a live server notices a vanished
 * client by its connection.
 */
import { fixed } from '../models/register-exit/index.js';
import { errorSender, notConnectedText, routeMessage, type RouteMessage } from '../models/register-exit/messages.js';
import type { ProtocolMessage } from '../models/types.js';
import { show } from './messagePattern.js';
import type { Comparison, Inbound, ServerModelSpec, WireMapping } from './serverModelOracle.js';

/** The fields of a model message a wire message is compared on. */
function wanted(e: RouteMessage): Record<string, unknown> {
  const want: Record<string, unknown> = { To: e.to, From: e.sender, Content: e.content, Register: e.register, Exit: e.exit };
  // The model's error wordings are its own; only the seed's text is fixed.
  if (e.sender === errorSender && e.content !== notConnectedText) delete want.Content;
  // The model's shutdown notice names the server; the seed's is just Exit.
  if (e.exit) delete want.From;
  return want;
}

/** A wire message as the model's MESSAGE. */
export function routeMessageOfWire(wire: unknown): RouteMessage {
  const m = (wire ?? {}) as Record<string, unknown>;
  return routeMessage({
    to: typeof m.To === 'string' ? m.To : '',
    sender: typeof m.From === 'string' ? m.From : '',
    content: typeof m.Content === 'string' ? m.Content : '',
    register: m.Register === true,
    exit: m.Exit === true,
  });
}

export function registerExitMapping(server?: ServerModelSpec): WireMapping {
  const role = server?.role ?? fixed.roles.server!;
  return {
    name: `register-exit (${server?.variantName ?? 'fixed'}) server model`,
    role,
    input: { ...(server?.input ?? role.input({ self: 'server', nodesByRole: { server: ['server'] }, params: {} })), timeoutMs: 1e12, sweepMs: 1e11 },

    inbound(client: string, wire: unknown): Inbound[] {
      return [{ events: [{ ...routeMessageOfWire(wire), from: client }] }];
    },

    compare(expected: ProtocolMessage, wire: unknown): Comparison {
      const a = (wire ?? {}) as Record<string, unknown>;
      for (const [field, value] of Object.entries(wanted(expected as RouteMessage))) {
        if ((a[field] ?? (typeof value === 'boolean' ? false : '')) !== value) return { ok: false, reason: `${field}: expected ${show(value)}, got ${show(a[field])}` };
      }
      return { ok: true };
    },

    describe(expected: ProtocolMessage): string {
      const e = expected as RouteMessage;
      const shown: Record<string, unknown> = { To: e.to, From: e.sender, Content: e.content, Register: e.register, Exit: e.exit };
      if (e.sender === errorSender && e.content !== notConnectedText) shown.Content = '(any error text)';
      if (e.exit) delete shown.From;
      return show(shown);
    },
  };
}
