/**
 * What the programs of a chat replay do that the model's client role rules out, judged by the
 * protocol package (`clientReplay.ruledOut`, src/models/live-types.ts): each message a program
 * sends, as soon as its proxy has read it, against its conversation on that connection (what it
 * sent before, what was written to it: all it can have read) and the lines its person typed; and
 * the lines the programs show against what was written to them. The replay's world turns a finding
 * into DIVERGED (./replay-chat-world.ts).
 */
import type { ClientReplayMapping, LiveClientsView, RuledOut } from '../../models/live-types.js';
import type { ChatProxies, ProxiedMessage } from './replay-chat-proxies.js';

/** A model client node of the trace: its id and params. */
export interface ReplayNode {
  id: string;
  params: Readonly<Record<string, unknown>>;
}

function listOf(map: Map<string, string[]>, node: string): string[] {
  let list = map.get(node);
  if (list === undefined) map.set(node, (list = []));
  return list;
}

export class ChatRuledOutJudge {
  /** per model node: the trace's lines its person typed, in order */
  private readonly typed = new Map<string, string[]>();
  /** per model node: every line typed into its program's terminal (login lines included), trimmed */
  private readonly keyed = new Map<string, string[]>();

  constructor(
    private readonly mapping: ClientReplayMapping,
    /** model node -> the node and the name its program goes by */
    private readonly programs: ReadonlyMap<string, { node: ReplayNode; name: string }>,
  ) {}

  /** Whether the package says anything is ruled out (else the replay never says DIVERGED). */
  get active(): boolean {
    return this.mapping.ruledOut !== undefined;
  }

  /** The person typed a trace line into `node`'s program. */
  typedInto(node: string, line: string): void {
    listOf(this.typed, node).push(line);
  }

  /** Keys typed into `node`'s program's terminal (the adapter's login, a message as the adapter types it). */
  keyedInto(node: string, keys: string): void {
    listOf(this.keyed, node).push(...keys.split('\n').map((l) => l.trim()).filter((l) => l !== ''));
  }

  /** A message a program sent: what it did that the model's client rules out, in words (`c1's program (alice) sent ...; the model's client ...`), or null. */
  sent(m: ProxiedMessage, proxies: ChatProxies): string | null {
    const judge = this.mapping.ruledOut?.send;
    const program = this.programs.get(m.node);
    if (judge === undefined || program === undefined) return null;
    const found = judge(m.msg, { name: program.name, node: program.node, log: proxies.conversation(m), typed: this.typed.get(m.node) ?? [], keyed: this.keyed.get(m.node) ?? [], nowMs: m.seenAtMs });
    return found === null ? null : this.words(m.node, found);
  }

  /** The first line a program showed that the model's client rules out, in words, or null. */
  shown(view: LiveClientsView): string | null {
    const judge = this.mapping.ruledOut?.shown;
    if (judge === undefined) return null;
    for (const [node, program] of this.programs) {
      if (!view.shown.has(program.name)) continue;
      const found = judge(program.name, view);
      if (found !== null) return this.words(node, found);
    }
    return null;
  }

  private words(node: string, r: RuledOut): string {
    const name = this.programs.get(node)?.name ?? node;
    return `${node}'s program${name !== node ? ` (${name})` : ''} ${r.did}; the model's client ${r.allowed}`;
  }
}
