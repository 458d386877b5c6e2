/**
 * What a client program printed, cut into segments a person would read as one thing each: a line,
 * or a prompt that waits on an unfinished line (`Enter message: ` has no newline). Terminal escape
 * sequences are removed, a line may end with \n, \r\n or \r, and the echo of what the
 * harness typed (a pseudo-terminal echoes input) is marked so it is not read as program output.
 *
 * Bounded (STYLE 5): at most `maxSegments` segments are kept (older ones are dropped and counted;
 * segment numbers keep counting) and an unfinished line is cut at `maxLineChars`, so a program that
 * floods its output costs bounded memory.
 */

/** One piece of output. `index` counts from 0 over the whole life of the log, restarts included. */
export interface OutputSegment {
  index: number;
  text: string;
  /** ms since the log was created */
  atMs: number;
  /** `line` ended with a newline; `prompt` is an unfinished line that matched a prompt pattern; `echo` is typed text echoed back; `note` is the harness's own (a restart) */
  kind: 'line' | 'prompt' | 'echo' | 'note';
  /** which incarnation of the program printed it (0, then 1 after a restart...) */
  run: number;
}

export interface OutputLogLimits {
  maxSegments: number;
  maxLineChars: number;
}

export const defaultOutputLogLimits: OutputLogLimits = { maxSegments: 5000, maxLineChars: 8192 };

// CSI (ESC [ ... final), OSC (ESC ] ... BEL or ESC \), two-character escapes, and 8-bit CSI.
const ansiPattern = /\u001b\[[0-?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)|\u001b[@-Z\\-_]|\u009b[0-?]*[ -/]*[@-~]/g;

/** Removes terminal escape sequences (colours, cursor moves, titles). */
export function stripAnsi(text: string): string {
  return text.replace(ansiPattern, '');
}

export class OutputLog {
  private readonly segments: OutputSegment[] = [];
  private partial = '';
  /** the last chunk ended with \r: an \n starting the next one ends nothing more */
  private afterCr = false;
  private nextIndex = 0;
  private run = 0;
  private readonly startedAtMs: number;
  /** lines typed whose echo has not been seen yet (pseudo-terminals only) */
  private readonly pendingEcho: string[] = [];
  /** segments dropped because of maxSegments */
  dropped = 0;
  /** called for every new segment */
  onSegment: ((segment: OutputSegment) => void) | undefined;

  constructor(
    /** unfinished lines matching one of these become `prompt` segments at once */
    private readonly promptPatterns: readonly RegExp[],
    private readonly limits: OutputLogLimits = defaultOutputLogLimits,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.startedAtMs = now();
  }

  /**
   * Program output as it arrives (any chunking). A line ends with \n, \r\n (a terminal's \r\r\n
   * too) or a lone \r: programs written for other systems end lines with \r, and what a program
   * rewrites in place with \r (a progress counter) reads as one line per state.
   */
  push(chunk: string): void {
    let text = stripAnsi(chunk);
    if (this.afterCr && text.startsWith('\n')) text = text.slice(1);
    this.afterCr = false;
    const ends = /\r*\n|\r+/g;
    let i = 0;
    for (let m = ends.exec(text); m !== null; m = ends.exec(text)) {
      this.appendPartial(text.slice(i, m.index));
      i = m.index + m[0].length;
      if (m[0].endsWith('\n')) this.commit('line');
      else {
        // a lone \r: the end of a line when there is one (an \n may follow in the next chunk)
        if (this.partial !== '') this.commit('line');
        if (i === text.length) this.afterCr = true;
      }
    }
    if (i < text.length) this.appendPartial(text.slice(i));
    this.checkPrompt();
  }

  /** The harness typed this line into a pseudo-terminal: its echo is expected next. */
  expectEcho(line: string): void {
    this.pendingEcho.push(line);
    if (this.pendingEcho.length > 16) this.pendingEcho.shift();
  }

  /** A harness note (restart, kill) between segments, so reports read in order. */
  note(text: string): void {
    if (this.partial !== '') this.commit('line');
    this.add(text, 'note');
  }

  /** The program was started again: an unfinished line of the old one is ended. */
  newRun(): void {
    if (this.partial !== '') this.commit('line');
    this.pendingEcho.length = 0;
    this.run += 1;
  }

  /** Segments with index >= `from` still kept. */
  since(from: number): OutputSegment[] {
    const first = this.segments.length === 0 ? this.nextIndex : this.segments[0]!.index;
    return this.segments.slice(Math.max(0, from - first));
  }

  /** The index the next segment will get: a cursor for "from now on". */
  get cursor(): number {
    return this.nextIndex;
  }

  /** ms since the log was created */
  elapsedMs(): number {
    return Math.round(this.now() - this.startedAtMs);
  }

  /** The unfinished line (not yet a segment). */
  get pending(): string {
    return this.partial;
  }

  /** The last `count` segments (echo included) and the unfinished line, as text for error reports. */
  tail(count = 20): string {
    const lines = this.segments.slice(-count).map((s) => (s.kind === 'echo' ? `${s.text}   [typed]` : s.kind === 'note' ? `-- ${s.text} --` : s.text));
    if (this.partial !== '') lines.push(this.partial);
    const cut = this.dropped + Math.max(0, this.segments.length - count);
    return (cut > 0 ? `[... ${cut} earlier lines]\n` : '') + lines.join('\n');
  }

  private appendPartial(piece: string): void {
    this.partial += piece;
    if (this.partial.length > this.limits.maxLineChars) {
      const rest = this.partial.slice(this.limits.maxLineChars);
      this.partial = this.partial.slice(0, this.limits.maxLineChars);
      this.commit('line');
      this.partial = rest.slice(-this.limits.maxLineChars);
    }
  }

  private checkPrompt(): void {
    if (this.partial === '') return;
    if (this.promptPatterns.some((p) => p.test(this.partial))) this.commit('prompt');
  }

  private commit(kind: 'line' | 'prompt'): void {
    const text = this.partial;
    this.partial = '';
    const echo = this.pendingEcho[0];
    if (kind === 'line' && echo !== undefined && (text === echo || (echo !== '' && text.endsWith(echo)))) {
      // The echo of a typed line; on the same line as a prompt no pattern recognised, it is split off.
      this.pendingEcho.shift();
      if (text !== echo) this.add(text.slice(0, text.length - echo.length), 'prompt');
      this.add(echo, 'echo');
      return;
    }
    this.add(text, kind);
  }

  private add(text: string, kind: OutputSegment['kind']): void {
    const segment: OutputSegment = { index: this.nextIndex++, text, atMs: Math.round(this.now() - this.startedAtMs), kind, run: this.run };
    this.segments.push(segment);
    if (this.segments.length > this.limits.maxSegments) {
      this.segments.shift();
      this.dropped += 1;
    }
    this.onSegment?.(segment);
  }
}
