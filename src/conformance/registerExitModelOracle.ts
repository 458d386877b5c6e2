/**
 * The register-exit server model as the oracle for a live routing server: the harness steps the
 * `fixed` variant's server role (src/models/register-exit/server.ts: names bound to connections,
 * Exit only for oneself, vanished clients forgotten) with every message it sends and every
 * disconnect, in the order it does them, and the model's `send` and `close` actions become what each
 * live client must receive next.
 *
 * What is compared: To, From, Content, Register and Exit of each message, except that the text of an
 * error reply (From "Error") is compared only where the seed fixes it ("That user is not connected
 * to this server"); other error wordings are the server's own. Timers of the model (keepalive
 * sweeps) are not run: cases are far shorter than a sweep.
 */
import { fixed } from '../models/register-exit/index.js';
import { errorSender, notConnectedText, routeMessage, type RouteMessage } from '../models/register-exit/messages.js';
import { canonicalJson } from '../sim/canonical-json.js';
import { RoleRuntime } from '../sim/role-runtime.js';
import { show } from './messagePattern.js';

/** What a client must see next: a message, or its connection closed by the server. */
export type ModelExpectation = { kind: 'message'; msg: RouteMessage } | { kind: 'close' };

/** The interface the runner uses for stream protocols with a model oracle. */
export interface StreamModelOracle {
  /** the model's name, for messages */
  readonly name: string;
  onSend(client: string, msg: unknown): void;
  onDisconnect(client: string, how: 'closed' | 'reset'): void;
  /** Everything each client must see, oldest first; the queues are emptied. */
  drain(): Map<string, ModelExpectation[]>;
  /** A case's own expect consumed one message of `client`: the model's next one for it is taken as seen. */
  consumed(client: string): void;
  /** Compares one arrival with an expectation; null when it matches, else why not. */
  mismatch(expected: ModelExpectation, actual: unknown): string | null;
  describe(expected: ModelExpectation): string;
}

const role = fixed.roles.server!;

export class RegisterExitModelOracle implements StreamModelOracle {
  readonly name = 'register-exit (fixed) server model';
  private readonly runtime = new RoleRuntime('server', role.machine);
  private state: number;
  private readonly expected = new Map<string, ModelExpectation[]>();

  constructor() {
    this.state = this.runtime.start(role.input({ self: 'server', nodesByRole: { server: ['server'] }, params: {} })).next;
  }

  private step(event: { type: string; [k: string]: unknown }): void {
    const result = this.runtime.step(this.state, event, canonicalJson(event));
    this.state = result.next;
    for (const effect of result.effects) {
      if (effect.type === 'send') this.push(effect.to, { kind: 'message', msg: effect.msg as unknown as RouteMessage });
      else if (effect.type === 'close') this.push(effect.peer, { kind: 'close' });
    }
  }

  private push(client: string, e: ModelExpectation): void {
    this.expected.set(client, [...(this.expected.get(client) ?? []), e]);
  }

  onSend(client: string, msg: unknown): void {
    const m = (msg ?? {}) as Record<string, unknown>;
    const event = {
      ...routeMessage({
        to: typeof m.To === 'string' ? m.To : '',
        sender: typeof m.From === 'string' ? m.From : '',
        content: typeof m.Content === 'string' ? m.Content : '',
        register: m.Register === true,
        exit: m.Exit === true,
      }),
      from: client,
    };
    this.step(event);
  }

  onDisconnect(client: string, how: 'closed' | 'reset'): void {
    this.step({ type: how === 'reset' ? 'conn.reset' : 'conn.closed', peer: client });
    this.expected.delete(client);
  }

  drain(): Map<string, ModelExpectation[]> {
    const out = new Map(this.expected);
    this.expected.clear();
    return out;
  }

  consumed(client: string): void {
    const queue = this.expected.get(client);
    if (queue !== undefined && queue[0]?.kind === 'message') queue.shift();
  }

  mismatch(expected: ModelExpectation, actual: unknown): string | null {
    if (expected.kind === 'close') return `expected the connection closed, got ${show(actual)}`;
    const a = (actual ?? {}) as Record<string, unknown>;
    const e = expected.msg;
    const want: Record<string, unknown> = { To: e.to, From: e.sender, Content: e.content, Register: e.register, Exit: e.exit };
    // The model's error wordings are its own; only the seed's text is fixed.
    if (e.sender === errorSender && e.content !== notConnectedText) delete want.Content;
    // The model's shutdown notice names the server; the seed's is just Exit.
    if (e.exit) delete want.From;
    for (const [field, value] of Object.entries(want)) {
      if ((a[field] ?? (typeof value === 'boolean' ? false : '')) !== value) return `${field}: expected ${show(value)}, got ${show(a[field])}`;
    }
    return null;
  }

  describe(expected: ModelExpectation): string {
    if (expected.kind === 'close') return 'the connection closed by the server';
    const e = expected.msg;
    const shown: Record<string, unknown> = { To: e.to, From: e.sender, Content: e.content, Register: e.register, Exit: e.exit };
    if (e.sender === errorSender && e.content !== notConnectedText) shown.Content = '(any error text)';
    return show(shown);
  }
}
