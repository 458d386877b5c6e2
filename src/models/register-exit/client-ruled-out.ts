/**
 * What a register-exit client program can do that the model's client role rules out (a replay on
 * client programs says DIVERGED). The client (docs/protocols.md, register-exit; ./client.ts)
 * registers its own name once, when it connects; every message it sends after that carries its own
 * name in `From` and is one its person typed (`send <user> <text>`: that text, to that user); its
 * exit is the last thing it sends on the connection. So, on one connection:
 *
 * - anything but a register (or a keepalive, all fields empty) before its register;
 * - a register of another name than its own, or a second register;
 * - `From` naming someone else (an honest client: the model's tampered client, `spoofAs`, is the
 *   one that does, and no program is made to play it);
 * - a message whose recipient and text its person never typed (a text cut short, another user),
 *   unless each is a whole line typed into it (a program that reads one line for another did what
 *   it was typed);
 * - anything after its exit;
 * - a line the adapter reads as a message from another program of the replay (or the server's
 *   error reply) that was never written to it.
 *
 * Left open (never judged): keepalives, how many times a typed message goes (no multiplicity), a
 * program's own lines, the wording of what it shows.
 */
import type { ClientRuledOut, LiveClientsView, LiveProgramHistory, RuledOut } from '../live-types.js';
import type { ProtocolMessage } from '../types.js';
import { parseRouteCommand } from './client.js';
import { errorSender, isKeepalive, type RouteMessage } from './messages.js';

const route = (m: ProtocolMessage): RouteMessage => m as unknown as RouteMessage;
const isRoute = (m: ProtocolMessage): boolean => route(m).type === 'MESSAGE';

function describe(m: RouteMessage): string {
  if (m.register) return `register ${m.sender}`;
  if (m.exit) return `exit ${m.sender}`;
  return `message ${m.sender} -> ${m.to || '(nobody)'} ${JSON.stringify(m.content)}`;
}

/** The messages the person typed: each `send`/`flood` line's recipient and texts. */
function typedMessages(typed: readonly string[]): { to: string; text: string }[] {
  return typed.flatMap((line) => {
    const cmd = parseRouteCommand(line);
    return cmd.kind === 'send' ? cmd.texts.map((text) => ({ to: cmd.to, text })) : [];
  });
}

function listed(items: readonly string[]): string {
  return items.length <= 4 ? items.join(', ') : `${items.slice(0, 4).join(', ')} and ${items.length - 4} more`;
}

/** A message that is none the person typed (nor recipient and text each a line typed into it), or null. */
function untyped(m: RouteMessage, typed: readonly string[], keyed: readonly string[]): RuledOut | null {
  const messages = typedMessages(typed);
  if (messages.some((t) => t.to === m.to && t.text === m.content)) return null;
  if (keyed.includes(m.to.trim()) && keyed.includes(m.content.trim())) return null;
  const what = messages.map((t) => `${JSON.stringify(t.text)} to ${t.to}`);
  return {
    did: `sent ${describe(m)}, which its person never typed`,
    allowed: `sends exactly the messages its person types (${what.length > 0 ? `typed so far: ${listed(what)}` : 'none typed so far'})`,
  };
}

function send(msg: ProtocolMessage, program: LiveProgramHistory): RuledOut | null {
  const m = route(msg);
  if (!isRoute(msg)) return null; // a message protosim could not read: not judged
  const sent = program.log.filter((e) => e.sent && isRoute(e.msg)).map((e) => route(e.msg));
  const user = program.name;
  const exit = sent.find((s) => s.exit);
  if (exit !== undefined) return { did: `sent ${describe(m)} after its ${describe(exit)}`, allowed: 'sends nothing after its exit (it leaves the conversation)' };
  const registered = sent.some((s) => s.register);
  if (m.register) {
    if (registered) return { did: `sent a second ${describe(m)} on its connection`, allowed: 'registers once, when it connects' };
    return m.sender === user ? null : { did: `sent ${describe(m)}`, allowed: `registers its own name, ${user}` };
  }
  if (isKeepalive(m)) return null;
  if (!registered) return { did: `sent ${describe(m)} before registering`, allowed: `registers (register ${user}) before anything else` };
  const tampered = typeof program.node.params.spoofAs === 'string';
  if (!tampered && m.sender !== user) return { did: `sent ${describe(m)}, From naming ${JSON.stringify(m.sender)}`, allowed: `writes its own name, ${user}, in From` };
  return m.exit ? null : untyped(m, program.typed, program.keyed);
}

/** Whether a shown line is message `m`: its text from its sender, or (an error reply) a line with its text. */
export function showsMessage(line: { from?: string; text: string }, m: RouteMessage): boolean {
  if (m.sender === errorSender) return line.text.includes(m.content);
  return line.text === m.content && (line.from === undefined || line.from === m.sender);
}

/** A line shown as a message from another program of the replay (or the server's error reply) that was never written to it. */
function shown(name: string, view: LiveClientsView): RuledOut | null {
  const received = view.received.get(name) ?? [];
  if (!received.every(isRoute)) return null; // something written to it protosim could not read
  const parties = new Set([...view.sent.keys(), errorSender]);
  parties.delete(name);
  const messages = received.map(route).filter((m) => !m.register && !m.exit && m.content !== '');
  for (const line of view.shown.get(name) ?? []) {
    if (line.refused === true || line.from === undefined || !parties.has(line.from)) continue;
    if (messages.some((m) => showsMessage(line, m))) continue;
    return { did: `showed ${line.from}'s ${JSON.stringify(line.text)}, which was never written to it`, allowed: 'shows only the messages the server writes to it' };
  }
  return null;
}

export const registerExitRuledOut: ClientRuledOut = { send, shown };
