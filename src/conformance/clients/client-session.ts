/**
 * One client program driven through its adapter: a ClientProcess plus the meaning of its output.
 * Cases, `adapter check` and live replay all speak to programs through this: start it, wait for a
 * kind of line (`prompt`, `message`...), type a message, quit as its person would, kill, pause,
 * restart. Every meaningful line is kept as an event with its time, for verdicts and reports.
 */
import { classify, clientIndex, messageKeys, programSpec, type Adapter, type Classified, type ProgramContext } from './adapter.js';
import type { PatternKind } from './adapter-schema.js';
import { ClientProcess, describeProcessExit, type IoMode, type ProcessExit, type WaitResult } from './client-process.js';
import type { OutputSegment } from './output-log.js';

/** A line the adapter gave a meaning to. */
export interface SessionEvent {
  client: string;
  atMs: number;
  segment: number;
  kind: PatternKind;
  line: string;
  text?: string;
  from?: string;
}

export interface SessionOptions {
  adapter: Adapter;
  name: string;
  address: string;
  vars?: Readonly<Record<string, string>>;
  io?: IoMode;
  /** `{protosim}` in a command */
  protosimLauncher: readonly string[];
}

export class ClientSession {
  readonly process: ClientProcess;
  readonly events: SessionEvent[] = [];
  /** lines no pattern matched (adapter check shows them, to help write patterns) */
  readonly unmatched: string[] = [];
  private readonly adapter: Adapter;
  /** where the next `expect` starts looking (advanced past what was consumed) */
  cursor = 0;
  /** the segment index where the current run started */
  runStart = 0;
  /** the segment the last `waitFor` consumed, and as what (a no-prompt client's message line is also its prompt) */
  lastConsumed: { index: number; kind: PatternKind } | undefined;

  constructor(readonly options: SessionOptions) {
    this.adapter = options.adapter;
    const ctx: ProgramContext = { address: options.address, name: options.name, ...(options.vars ? { vars: options.vars } : {}), ...(options.io ? { io: options.io } : {}) };
    this.process = new ClientProcess(programSpec(this.adapter, ctx, options.protosimLauncher));
    this.process.onSegment((segment) => this.record(segment));
  }

  get name(): string {
    return this.options.name;
  }

  private record(segment: OutputSegment): void {
    const meanings = classify(this.adapter, segment);
    if (meanings.length === 0 && (segment.kind === 'line' || segment.kind === 'prompt') && segment.text.trim() !== '' && this.unmatched.length < 200) {
      this.unmatched.push(segment.text);
    }
    for (const m of meanings) {
      this.events.push({
        client: this.name,
        atMs: segment.atMs,
        segment: segment.index,
        kind: m.kind,
        line: segment.text,
        ...(m.text !== undefined ? { text: m.text } : {}),
        ...(m.from !== undefined ? { from: m.from } : {}),
      });
    }
  }

  /**
   * Starts (or starts again) the program; types the adapter's login lines, each after a prompt, or
   * all at once when the adapter says the program reads them without one (`loginAfter: start`).
   */
  /** the program was started at least once (it took part in the run) */
  everStarted = false;

  async start(): Promise<void> {
    this.runStart = this.process.log.cursor;
    this.cursor = this.runStart;
    this.lastConsumed = undefined;
    await this.process.start();
    this.everStarted = true;
    const withoutPrompt = this.adapter.spec.input.loginAfter === 'start';
    for (const line of this.adapter.spec.input.login ?? []) {
      if (!withoutPrompt) {
        const prompt = await this.waitFor('prompt', this.adapter.spec.startTimeoutMs);
        if (!prompt.ok) return;
      }
      this.process.type(line.replaceAll('{name}', this.name).replaceAll('{index}', clientIndex(this.name)));
    }
  }

  /** Types the adapter's command that asks for queued messages; false when it has none (the program shows them by itself). */
  check(): boolean {
    const how = this.adapter.spec.input.check;
    if (how === undefined) return false;
    this.process.type(how.replaceAll('{name}', this.name));
    return true;
  }

  /**
   * Waits for the next line of `kind` at or after the cursor (and moves the cursor past it), or for
   * a message with exactly `text` when given, shown from `sender` when given and the adapter reads a
   * sender on that line (its `(?<from>…)` group).
   */
  async waitFor(kind: PatternKind, timeoutMs: number, opts: { text?: string; sender?: string; from?: number; keepCursor?: boolean } = {}): Promise<WaitResult<Classified>> {
    // A line consumed as something else (a message, a joined line) may also be the prompt (a program
    // without one whose turn-start lines stand for it): a prompt right after it is that line.
    const last = this.lastConsumed;
    if (kind === 'prompt' && opts.from === undefined && last !== undefined && last.kind !== 'prompt' && last.index === this.cursor - 1) {
      opts = { ...opts, from: last.index };
    }
    const result = await this.process.waitFor(
      (segment) => classify(this.adapter, segment).find((c) => c.kind === kind && (opts.text === undefined || c.text === opts.text) && (opts.sender === undefined || c.from === undefined || c.from === opts.sender)),
      { from: opts.from ?? this.cursor, timeoutMs },
    );
    if (result.ok && !opts.keepCursor) this.consume(result.segment.index, kind);
    return result;
  }

  /** Moves the cursor past segment `index`, consumed as `kind` (after a wait with `keepCursor`); returns this session. */
  consume(index: number, kind: PatternKind): this {
    this.cursor = Math.max(this.cursor, index + 1);
    this.lastConsumed = { index, kind };
    return this;
  }

  /** The first line of `kind` seen since segment `from`, without waiting. */
  seen(kind: PatternKind, from = this.runStart): SessionEvent | undefined {
    return this.events.find((e) => e.kind === kind && e.segment >= from);
  }

  /** Every message shown since segment `from`. */
  messages(from = 0): SessionEvent[] {
    return this.events.filter((e) => e.kind === 'message' && e.segment >= from);
  }

  /** Types a message as the adapter says (`{text}`, `{to}`). */
  typeMessage(text: string, to = ''): void {
    this.process.type(messageKeys(this.adapter, text, to, this.name));
  }

  /** The person quits as the adapter says: Ctrl-C, end of input, or a line. */
  quit(): void {
    const how = this.adapter.spec.input.quit;
    if (how === 'ctrl-c') this.process.interrupt();
    else if (how === 'eof') this.process.endInput();
    else this.process.type(how.replaceAll('{name}', this.name));
  }

  async kill(): Promise<ProcessExit | undefined> {
    return this.process.kill('SIGKILL');
  }

  pause(): void {
    this.process.pause();
  }

  resume(): void {
    this.process.resume();
  }

  /** Kills and starts again; waits start over from the new run's output. */
  async restart(): Promise<void> {
    await this.process.kill('SIGKILL');
    this.process.log.note(`${this.name} restarted`);
    await this.start();
  }

  async stop(): Promise<void> {
    await this.process.stop();
  }

  /** `running`, `paused`, `exit code 0`, `killed by SIGKILL`. */
  status(): string {
    if (this.process.exit) return describeProcessExit(this.process.exit);
    if (this.process.paused) return 'paused';
    return this.process.running ? 'running' : 'not started';
  }

  tail(count = 15): string {
    return this.process.tail(count);
  }
}
