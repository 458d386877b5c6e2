/**
 * A protocol's server machine stepped the way a host steps it (xstate's pure `transition`), for the
 * model-vs-reference-server property tests: what it sends is kept per connection, as a real
 * transport would deliver it (nothing reaches a connection after it closed), through `toWire`.
 */
import { initialTransition, transition, type AnyMachineSnapshot, type AnyStateMachine } from 'xstate';

export class ModelServer<W> {
  private snapshot: AnyMachineSnapshot;
  /** per connection: what it was sent, in order */
  readonly received = new Map<string, W[]>();
  /** connections the model closed or saw close */
  readonly closed = new Set<string>();

  constructor(
    private readonly machine: AnyStateMachine,
    input: unknown,
    private readonly toWire: (msg: never) => W,
  ) {
    [this.snapshot] = initialTransition(machine, input);
  }

  get context(): Record<string, unknown> {
    return this.snapshot.context as Record<string, unknown>;
  }

  get value(): unknown {
    return this.snapshot.value;
  }

  /** Steps one event; returns the actions (send and close are also recorded). */
  step(event: Record<string, unknown>): { type: string; params?: unknown }[] {
    const [next, actions] = transition(this.machine, this.snapshot, event as never);
    this.snapshot = next;
    const list = actions as unknown as { type: string; params?: unknown }[];
    for (const a of list) {
      if (a.type === 'close') this.closed.add((a.params as { peer: string }).peer);
      if (a.type !== 'send' || a.params === undefined) continue;
      const { to, msg } = a.params as { to: string; msg: never };
      if (this.closed.has(to)) continue;
      const got = this.received.get(to) ?? [];
      got.push(this.toWire(msg));
      this.received.set(to, got);
    }
    return list;
  }

  sent(conn: string): W[] {
    return this.received.get(conn) ?? [];
  }
}
