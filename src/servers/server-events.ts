/**
 * What happened in a reference server, as events a test (or a harness) can wait for instead of
 * sleeping: a connection accepted or refused, a request the rules have applied (its replies are
 * written by then), a write the rules asked to hear of flushed, a rules timer fired, a connection
 * closed (after the rules saw it), the server closed or crashed. Each event is emitted once its
 * effects on the server's state are done, so "wait for the event, then act" never races the server.
 *
 * The server keeps the last `eventHistoryMax` events, so a `waitFor` that starts after the event
 * still sees it; `count` marks a point in time for `waitFor(..., { after })`.
 */

export type ServerEvent =
  | { type: 'connection-accepted'; conn: string; remote: string }
  | { type: 'connection-refused'; remote: string; reason: string }
  | { type: 'request-applied'; conn: string; request: unknown }
  | { type: 'write-flushed'; conn: string; tag: string; delivered: boolean }
  | { type: 'timer-fired'; id: string }
  | { type: 'connection-closed'; conn: string; remote: string; byServer: boolean; hadError: boolean; reason: string }
  | { type: 'server-closed' }
  | { type: 'server-crashed'; reason: string };

/** Events kept for a late `waitFor`; older ones are forgotten (a long-running server stays bounded). */
export const eventHistoryMax = 1000;

/** How long `waitFor` waits by default. */
export const waitForTimeoutMsDefault = 5000;

export interface WaitForOptions {
  /** What is awaited, for the error message ("alice registered"). */
  what?: string;
  /** Bound on the wait; the promise rejects when it passes. Default `waitForTimeoutMsDefault`. */
  timeoutMs?: number;
  /** Only events emitted after this mark (a value of `count`) count. Default 0: any kept event. */
  after?: number;
}

type Listener = (event: ServerEvent, index: number) => void;

export class ServerEvents {
  private readonly kept: { event: ServerEvent; index: number }[] = [];
  private readonly listeners = new Set<Listener>();
  private emitted = 0;

  /** Events emitted so far: a mark for `waitFor(..., { after })`. */
  get count(): number {
    return this.emitted;
  }

  /** The kept events, oldest first. */
  recent(): readonly ServerEvent[] {
    return this.kept.map((k) => k.event);
  }

  emit(event: ServerEvent): void {
    const index = this.emitted++;
    this.kept.push({ event, index });
    if (this.kept.length > eventHistoryMax) this.kept.shift();
    for (const listener of [...this.listeners]) listener(event, index);
  }

  /** Calls `listener` for every event from now on; returns the function that stops it. */
  on(listener: (event: ServerEvent) => void): () => void {
    const wrapped: Listener = (event) => listener(event);
    this.listeners.add(wrapped);
    return () => this.listeners.delete(wrapped);
  }

  /**
   * The first event (kept, or still to come) that `predicate` accepts. Rejects after `timeoutMs`
   * with what was awaited and the last events the server emitted.
   */
  waitFor<E extends ServerEvent>(predicate: ((event: ServerEvent) => event is E) | ((event: ServerEvent) => boolean), options: WaitForOptions = {}): Promise<E> {
    const after = options.after ?? 0;
    const found = this.kept.find((k) => k.index >= after && predicate(k.event));
    if (found !== undefined) return Promise.resolve(found.event as E);
    const timeoutMs = options.timeoutMs ?? waitForTimeoutMsDefault;
    return new Promise<E>((resolve, reject) => {
      const listener: Listener = (event, index) => {
        if (index < after || !predicate(event)) return;
        this.listeners.delete(listener);
        clearTimeout(timer);
        resolve(event as E);
      };
      const timer = setTimeout(() => {
        this.listeners.delete(listener);
        const last = this.kept.slice(-5).map((k) => JSON.stringify(k.event)).join('\n  ');
        reject(new Error(`no server event ${options.what ?? 'matching the predicate'} within ${timeoutMs} ms; the last events were:\n  ${last || '(none)'}`));
      }, timeoutMs);
      this.listeners.add(listener);
    });
  }
}
