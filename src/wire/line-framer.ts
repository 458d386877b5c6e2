/**
 * Splits a byte stream into newline-terminated frames (JSON lines), bounded by `maxFrameBytes`.
 * A line longer than the limit is an error the caller reports; the framer never buffers more.
 */

export type LineEvent = { kind: 'line'; text: string } | { kind: 'too-long'; bytes: number };

export class LineFramer {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(private readonly maxFrameBytes: number) {}

  /** Feeds a chunk; returns the complete lines (without `\n` or a trailing `\r`) and overflows. */
  push(chunk: Buffer): LineEvent[] {
    const events: LineEvent[] = [];
    let start = 0;
    for (;;) {
      const newline = chunk.indexOf(0x0a, start);
      if (newline === -1) break;
      const piece = chunk.subarray(start, newline);
      const total = this.pendingBytes + piece.length;
      if (total > this.maxFrameBytes) {
        events.push({ kind: 'too-long', bytes: total });
        return events; // cannot resynchronise safely after an overflow; the caller closes
      }
      const line = this.pending.length === 0 ? piece : Buffer.concat([...this.pending, piece]);
      this.pending = [];
      this.pendingBytes = 0;
      let text = line.toString('utf8');
      if (text.endsWith('\r')) text = text.slice(0, -1);
      events.push({ kind: 'line', text });
      start = newline + 1;
    }
    const rest = chunk.subarray(start);
    if (rest.length > 0) {
      if (this.pendingBytes + rest.length > this.maxFrameBytes) {
        events.push({ kind: 'too-long', bytes: this.pendingBytes + rest.length });
        return events;
      }
      this.pending.push(Buffer.from(rest)); // copy: the socket may reuse its buffer
      this.pendingBytes += rest.length;
    }
    return events;
  }

  /** True while part of a line is buffered. */
  hasPartialFrame(): boolean {
    return this.pendingBytes > 0;
  }
}
