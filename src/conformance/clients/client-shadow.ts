/**
 * The model of a client role, run alongside a live client program of a key-value protocol (the
 * model as oracle for a client): every request the program makes is matched with the next request
 * the model's client machine would send, stepped through xstate's pure `transition`; poll timers
 * fire when the program asks again; typed lines become `user.input`. While the program follows the
 * model, the shadow knows what it is waiting for (the state's `meta.waitsFor`: "connected=2 (a
 * second client to join)") and the model's own diagnosis of a stuck pair applies to the live run.
 * When the program does something the model would not (a fixed client, a different reading of the
 * seed), the shadow says where it lost track and stops.
 */
import { initialTransition, transition, type AnyMachineSnapshot, type AnyStateMachine } from 'xstate';
import type { KvReply, KvRequest } from '../../models/kv-store/messages.js';
import type { GlobalView, ModelVariant, NodeView } from '../../models/types.js';
import { stateValueText } from '../../sim/role-runtime.js';
import { kvRequestOfRecord, type ImRequestRecord } from './im-server.js';

/** Steps taken to catch up with one live request before giving up (timers and typed lines). */
const maxCatchUpSteps = 16;

interface Action {
  type: string;
  params?: unknown;
}

export class ClientShadow {
  private snapshot: AnyMachineSnapshot;
  private readonly machine: AnyStateMachine;
  /** sends the model made that the live program has not made yet */
  private pending: KvRequest[] = [];
  private readonly timers = new Map<string, { type: string }>();
  private readonly typed: string[] = [];
  /** why the shadow stopped following, or null */
  lost: string | null = null;
  /** requests matched so far */
  matched = 0;

  constructor(
    variant: ModelVariant,
    readonly client: string,
    clients: readonly string[],
    params: Record<string, unknown>,
  ) {
    const role = variant.roles.client!;
    this.machine = role.machine;
    const input = role.input({ self: client, nodesByRole: { store: ['store'], client: [...clients] }, params });
    const [snapshot, actions] = initialTransition(this.machine, input);
    this.snapshot = snapshot;
    this.take(actions as Action[]);
  }

  /** The harness typed this line into the program. */
  typedLine(text: string): void {
    this.typed.push(text);
  }

  /** A live request arrived from this client: does the model make it now? */
  request(record: ImRequestRecord): void {
    if (this.lost !== null) return;
    const live = kvRequestOfRecord(record);
    for (let i = 0; i < maxCatchUpSteps; i++) {
      const expected = this.pending.shift();
      if (expected !== undefined) {
        if (sameRequest(expected, live)) {
          this.matched += 1;
          return;
        }
        this.lost = `after ${this.matched} matching requests the model would send ${describe(expected)}, the program sent ${describe(live)}`;
        return;
      }
      const timer = this.timers.entries().next().value as [string, { type: string }] | undefined;
      if (timer !== undefined) {
        this.timers.delete(timer[0]);
        this.step(timer[1]);
        continue;
      }
      if (this.snapshot.hasTag('awaitingUser') && this.typed.length > 0) {
        this.step({ type: 'user.input', text: this.typed.shift()! });
        continue;
      }
      break;
    }
    this.lost = `after ${this.matched} matching requests the program sent ${describe(live)} where the model (in state ${this.stateText}) sends nothing`;
  }

  /** The reply the program got for its request. */
  reply(record: ImRequestRecord): void {
    if (this.lost !== null || typeof record.reply !== 'object' || record.reply.status !== 200) return;
    this.step({ ...toReply(record), from: 'store' });
  }

  /** The program was killed: the model node is gone too. */
  get stateText(): string {
    return stateValueText(this.snapshot.value);
  }

  /** `meta.waitsFor` of the deepest active state that has one. */
  waitsFor(): string | null {
    const meta = this.snapshot.getMeta() as Record<string, { waitsFor?: string } | undefined>;
    let best: string | null = null;
    let depth = -1;
    for (const [id, m] of Object.entries(meta)) {
      const d = id.split('.').length;
      if (m?.waitsFor !== undefined && d > depth) {
        best = m.waitsFor;
        depth = d;
      }
    }
    return best;
  }

  /** This client as the model's invariants and diagnosis see a node. */
  view(status: NodeView['status']): NodeView {
    return {
      id: this.client,
      role: 'client',
      status: this.snapshot.status === 'done' ? 'done' : status,
      value: this.snapshot.value,
      context: this.snapshot.context as Record<string, unknown>,
      tags: [...this.snapshot.tags].sort(),
    };
  }

  private step(event: { type: string; [k: string]: unknown }): void {
    const [next, actions] = transition(this.machine, this.snapshot, event as never);
    this.snapshot = next;
    this.take(actions as Action[]);
  }

  private take(actions: Action[]): void {
    for (const a of actions) {
      if (a.type === 'send') this.pending.push((a.params as { msg: KvRequest }).msg);
      else if (a.type === 'xstate.raise') {
        const p = a.params as { event: { type: string }; id?: string };
        this.timers.set(p.id ?? p.event.type, p.event);
      } else if (a.type === 'xstate.cancel') this.timers.delete(String((a.params as { sendId: string }).sendId));
    }
  }
}

/** The model's diagnosis of a finding, from the shadows of the live clients (null when it has none). */
export function diagnoseLive(variant: ModelVariant, shadows: readonly ClientShadow[], statusOf: (client: string) => NodeView['status'], data: Record<string, string>, kind: string): string | null {
  if (variant.diagnose === undefined) return null;
  const nodes: Record<string, NodeView> = {
    store: { id: 'store', role: 'store', status: 'running', value: 'serving', context: { data }, tags: ['server'] },
  };
  for (const s of shadows) nodes[s.client] = s.view(statusOf(s.client));
  const view: GlobalView = { timeMs: 0, nodes, inFlight: [] };
  return variant.diagnose(view, { kind, id: kind });
}

/** The model's reply message for a live reply body (a missing key and "" read the same on the wire). */
function toReply(r: ImRequestRecord): KvReply {
  const body = typeof r.reply === 'object' ? r.reply.body : '';
  const text = body.endsWith('\n') ? body.slice(0, -1) : body;
  switch (r.action) {
    case 'get':
      return { type: 'VALUE', key: r.key ?? '', value: text === '' ? null : text };
    case 'keys':
      return { type: 'KEY_LIST', keys: text === '' ? [] : text.split('\n').filter((k) => k !== '') };
    case 'set':
      return { type: 'OK', op: 'SET' };
    case 'unset':
      return { type: 'OK', op: 'UNSET' };
    default:
      return { type: 'OK', op: 'CLEAR' };
  }
}

function sameRequest(a: KvRequest, b: KvRequest): boolean {
  return JSON.stringify({ ...a }) === JSON.stringify({ ...b }) || (a.type === b.type && (a as { key?: string }).key === (b as { key?: string }).key && (a as { value?: string }).value === (b as { value?: string }).value);
}

function describe(r: KvRequest): string {
  if (r.type === 'SET') return `SET ${r.key}=${JSON.stringify(r.value)}`;
  return 'key' in r ? `${r.type} ${r.key}` : r.type;
}
