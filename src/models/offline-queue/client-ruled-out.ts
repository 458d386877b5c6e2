/**
 * What an offline-queue client program can do that the model's client role rules out (a replay on
 * client programs says DIVERGED). The client (docs/protocols.md, offline-queue; ./client.ts) sends
 * the requests its person asks for, one at a time, waiting for each answer (the seed's framing
 * cannot tell two requests written back to back apart), fills `sender` with the account it is
 * logged in to (or leaves it empty), and ends after its quit. So, on one connection:
 *
 * - a `send` whose recipient and text its person never typed (a text cut short, another user);
 * - a `create` or `login` of another account than its own (the adapter's login names its own) and
 *   than its person typed; a `delete` its person never asked for (a name or a text that is a whole
 *   line typed into it is not held against it: a menu out of step reads one line for another);
 * - `sender` naming another account than one it created or logged in to (an honest client: the
 *   model's tampered client, `spoofAs`, is the one that does);
 * - a request sent while its previous one is unanswered, within `pipelineMs` of it (a program that
 *   gives up on a silent server after a while and goes on is one the protocol does not rule out:
 *   it sets no time);
 * - anything after its quit;
 * - a line the adapter reads as a letter from another program of the replay that was never
 *   written to it (pushed, or returned by check or delete).
 *
 * Left open (never judged): a `check` or `list` the person did not ask for (a read, like a poll),
 * a `create` of its own account (the adapter's login), a confirmation (`ack`), the wording of what
 * it shows.
 */
import type { ClientRuledOut, LiveClientsView, LiveProgramHistory, RuledOut } from '../live-types.js';
import type { ProtocolMessage } from '../types.js';
import { parseQueueCommand } from './client.js';
import { Op, parseLetters, Reply, type QueueReply, type QueueRequest } from './messages.js';

/** A request within this long of an unanswered one is pipelined; later, the program gave up waiting (ms). */
export const pipelineMs = 1000;

type Wire = QueueRequest | QueueReply;
const asWire = (m: ProtocolMessage): Wire => m as unknown as Wire;
const opName: Record<number, string> = Object.fromEntries(Object.entries(Op).map(([k, v]) => [v, k]));
const carriesLetters = new Set<number>([Reply.pushed, Reply.unread, Reply.deleted]);

function describe(r: QueueRequest): string {
  const op = opName[r.opcode] ?? `request ${r.opcode}`;
  if (r.opcode === Op.send) return `send to ${r.receiver} ${JSON.stringify(r.msg)}`;
  return r.msg !== '' && r.opcode !== Op.ack ? `${op} ${r.msg}` : op;
}

/** The requests its person's lines ask for. */
function typedRequests(typed: readonly string[]): QueueRequest[] {
  return typed.flatMap((line) => {
    const cmd = parseQueueCommand(line);
    return cmd.kind === 'requests' ? cmd.requests : [];
  });
}

/** A request its person did not ask for (of those the model's client sends only when asked), or null. */
function untyped(r: QueueRequest, program: LiveProgramHistory, sent: readonly QueueRequest[]): RuledOut | null {
  const typed = typedRequests(program.typed);
  const keyed = (value: string): boolean => program.keyed.includes(value.trim());
  const typedSend = typed.some((t) => t.opcode === Op.send && t.receiver === r.receiver && t.msg === r.msg) || (keyed(r.receiver) && keyed(r.msg));
  if (r.opcode === Op.send && !typedSend) {
    const what = typed.filter((t) => t.opcode === Op.send).map((t) => `${JSON.stringify(t.msg)} to ${t.receiver}`);
    return { did: `sent ${describe(r)}, which its person never typed`, allowed: `sends exactly the messages its person types (${what.length > 0 ? `typed so far: ${what.slice(0, 4).join(', ')}${what.length > 4 ? ` and ${what.length - 4} more` : ''}` : 'none typed so far'})` };
  }
  if (r.opcode === Op.create || r.opcode === Op.login) {
    const own = new Set([program.name, ...typed.filter((t) => t.opcode === Op.create || t.opcode === Op.login).map((t) => t.msg)]);
    if (!own.has(r.msg) && !keyed(r.msg)) return { did: `sent ${describe(r)}`, allowed: `creates and logs in to its own account (${[...own].join(', ')}), as its person types` };
  }
  if (r.opcode === Op.delete && !typed.some((t) => t.opcode === Op.delete)) return { did: 'sent delete (deleting its account), which its person never asked for', allowed: 'deletes its account only when its person asks' };
  if (r.sender !== '' && typeof program.node.params.spoofAs !== 'string') {
    const accounts = new Set([program.name, ...sent.filter((s) => s.opcode === Op.create || s.opcode === Op.login).map((s) => s.msg)]);
    if (!accounts.has(r.sender)) return { did: `sent ${describe(r)} with sender ${JSON.stringify(r.sender)}`, allowed: `fills sender with its own account (${[...accounts].join(', ')}) or leaves it empty` };
  }
  return null;
}

/** A request sent while its previous one is unanswered, within `pipelineMs` of it; or null. */
function pipelined(r: QueueRequest, program: LiveProgramHistory): RuledOut | null {
  if (r.opcode === Op.quit || r.opcode === Op.ack) return null; // Ctrl-C quits at any time; a confirmation answers a push
  const requests = program.log.filter((e) => e.sent && asWire(e.msg).type === 'REQUEST' && asWire(e.msg).opcode !== Op.ack);
  // every message written to it but a push answers its request (one it could not read too: never judged against it)
  const answers = program.log.filter((e) => !e.sent && !(asWire(e.msg).type === 'REPLY' && asWire(e.msg).opcode === Reply.pushed)).length;
  const last = requests[requests.length - 1];
  if (last === undefined || requests.length <= answers) return null;
  const ms = Math.round(program.nowMs - last.atMs);
  if (ms >= pipelineMs) return null;
  return { did: `sent ${describe(r)} ${ms} ms after ${describe(asWire(last.msg) as QueueRequest)}, before the server answered that`, allowed: 'sends one request at a time and waits for its answer (requests written back to back merge on the seed\'s framing)' };
}

function send(msg: ProtocolMessage, program: LiveProgramHistory): RuledOut | null {
  const r = asWire(msg);
  if (r.type !== 'REQUEST') return null; // a message protosim could not read: not judged
  const sent = program.log.filter((e) => e.sent && asWire(e.msg).type === 'REQUEST').map((e) => asWire(e.msg) as QueueRequest);
  const quit = sent.find((s) => s.opcode === Op.quit);
  if (quit !== undefined) return { did: `sent ${describe(r)} after its quit`, allowed: 'sends nothing after its quit (it ends)' };
  return untyped(r, program, sent) ?? pipelined(r, program);
}

const showsLetter = (line: { text: string }, l: { text: string }): boolean => line.text.includes(l.text);

/** A line shown as a letter from another program of the replay that was never written to it. */
function shown(name: string, view: LiveClientsView): RuledOut | null {
  const received = (view.received.get(name) ?? []).map(asWire);
  if (!received.every((m) => m.type === 'REPLY' || m.type === 'REQUEST')) return null; // something protosim could not read
  const letters = received.flatMap((m) => (m.type === 'REPLY' && carriesLetters.has(m.opcode) ? parseLetters(m.msg) : []));
  const others = new Set([...view.sent.keys()].filter((n) => n !== name));
  for (const line of view.shown.get(name) ?? []) {
    if (line.refused === true || line.from === undefined || !others.has(line.from)) continue;
    if (letters.some((l) => l.sender === line.from && showsLetter(line, l))) continue;
    return { did: `showed ${line.from}'s ${JSON.stringify(line.text)}, which was never written to it`, allowed: 'shows only the letters the server pushes to it or returns by check or delete' };
  }
  return null;
}

export const offlineQueueRuledOut: ClientRuledOut = { send, shown };
