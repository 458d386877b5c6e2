/**
 * register-exit counterexamples replayed on live client programs: a model client registers as its
 * `user` param, so its program is started under that name; a typed `send`/`flood` line is the
 * messages a person types (`flood bob 3 hi` is three `send` lines pasted at once); `EXIT` is quitting
 * as the adapter says. A message is matched by what it does: register, exit, or a message from whom
 * to whom with what text.
 *
 * `all-messages-handled` ("messages sent close together all arrive") shows live when a program was
 * written a message for it (a forward, or the error reply refusing one) and never showed it:
 * protosim's reference server handles every message, so one whose handling does not arrive was lost
 * by the receiving program (the seed's client decodes one message per read and drops the rest).
 *
 * What a program does that the model's client rules out (DIVERGED) is ./client-ruled-out.ts's.
 */
import type { ClientReplayMapping, LiveClientsView } from '../live-types.js';
import type { ProtocolMessage } from '../types.js';
import { parseRouteCommand } from './client.js';
import { errorSender, type RouteMessage } from './messages.js';
import { registerExitRuledOut, showsMessage } from './client-ruled-out.js';
import { routeMessageOfWire } from './wire.js';

const route = (m: ProtocolMessage): RouteMessage => m as unknown as RouteMessage;

function effect(msg: ProtocolMessage): string {
  const m = route(msg);
  if (m.register) return `register ${m.sender}`;
  if (m.exit) return `exit ${m.sender}`;
  if (m.to === '' && m.sender === '' && m.content === '') return 'keepalive';
  return `message ${m.sender} -> ${m.to || '(server)'} ${JSON.stringify(m.content)}`;
}

/**
 * Messages written to a running program for it (forwards, and error replies: a message refused is
 * handled too) that it never showed, each shown line standing for one message.
 */
function messagesLost(view: LiveClientsView): string | null {
  const lost: string[] = [];
  for (const [receiver, received] of view.received) {
    if (!view.running.has(receiver)) continue;
    const unmatched = [...(view.shown.get(receiver) ?? [])];
    const missing = received.map(route).filter((m) => {
      if (m.register || m.exit || m.content === '') return false;
      const at = unmatched.findIndex((line) => showsMessage(line, m));
      if (at >= 0) unmatched.splice(at, 1);
      return at < 0;
    });
    if (missing.length === 0) continue;
    const counts = new Map<string, number>();
    for (const m of missing) {
      const word = m.sender === errorSender ? `the error reply ${JSON.stringify(m.content)}` : `${m.sender}'s ${JSON.stringify(m.content)}`;
      counts.set(word, (counts.get(word) ?? 0) + 1);
    }
    const words = [...counts].map(([word, n]) => (n > 1 ? `${word} ×${n}` : word));
    lost.push(`${receiver}'s program was written ${words.slice(0, 8).join(', ')}${words.length > 8 ? ` and ${words.length - 8} more` : ''} and never showed ${missing.length === 1 ? 'it' : 'them'}`);
  }
  if (lost.length === 0) return null;
  return `${lost.join('; ')}: messages sent close together do not all arrive (the server forwarded or refused every one; the receiving program lost them)`;
}

export const registerExitClientReplay: ClientReplayMapping = {
  liveName: (node) => (typeof node.params.user === 'string' ? node.params.user : node.id),
  typing(line) {
    const cmd = parseRouteCommand(line);
    if (cmd.kind === 'exit') return 'quit';
    if (cmd.kind === 'invalid') return [];
    return cmd.texts.map((text) => ({ to: cmd.to, text }));
  },
  messageOfWire: (wire) => routeMessageOfWire(wire) as unknown as ProtocolMessage,
  effect,
  live: { 'all-messages-handled': messagesLost },
  ruledOut: registerExitRuledOut,
};
