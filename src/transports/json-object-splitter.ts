/**
 * The framing of the seed's ping-liveness implementation over QUIC (docs/protocols.md §3): one JSON
 * object per stream write, no delimiter, so a reader finds where each message ends by its braces.
 * Used by the QUIC peer (quic-peer.ts) and by the servers' QUIC host, which frames raw streams itself.
 */

/** A whole message, or bytes that are not one (given up, as they came). */
export type SplitPiece = { kind: 'message'; text: string } | { kind: 'invalid'; reason: string; bytes: Buffer };

/**
 * Splits a byte stream of concatenated JSON objects (no delimiter) into whole objects. It tracks
 * brace depth outside strings, so `{"a":1}{"b":2}` gives two and `{"a":` + `1}` gives one.
 * Whitespace between objects is skipped; anything else outside an object is an error.
 */
export class JsonObjectSplitter {
  private buffer: Buffer = Buffer.alloc(0);
  /** Scan state, kept across pushes so a long message is scanned once. */
  private scanned = 0;
  private depth = 0;
  private inString = false;
  private escaped = false;

  constructor(private readonly maxMessageBytes: number) {}

  /**
   * Whole messages (their text) and problems found in `chunk`, in order. A problem gives up what
   * was received so far (its `bytes`, for a reader that passes them on as they came).
   */
  push(chunk: Uint8Array): SplitPiece[] {
    this.buffer = this.buffer.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.buffer, chunk]);
    const out: SplitPiece[] = [];
    while (this.scanned < this.buffer.length) {
      const byte = this.buffer[this.scanned]!;
      if (this.depth === 0) {
        if (byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09) {
          this.buffer = this.buffer.subarray(this.scanned + 1);
          this.scanned = 0;
          continue;
        }
        if (byte !== 0x7b) {
          const rest = this.buffer.toString('utf8', 0, Math.min(this.buffer.length, 40));
          out.push({ kind: 'invalid', reason: `bytes outside a JSON object: ${JSON.stringify(rest)}`, bytes: this.buffer });
          this.reset();
          return out;
        }
      }
      this.scanned++;
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (byte === 0x5c) this.escaped = true;
        else if (byte === 0x22) this.inString = false;
      } else if (byte === 0x22) this.inString = true;
      else if (byte === 0x7b || byte === 0x5b) this.depth++;
      else if (byte === 0x7d || byte === 0x5d) {
        this.depth--;
        if (this.depth === 0) {
          out.push({ kind: 'message', text: this.buffer.toString('utf8', 0, this.scanned) });
          this.buffer = this.buffer.subarray(this.scanned);
          this.scanned = 0;
        }
      }
      if (this.scanned > this.maxMessageBytes) {
        out.push({ kind: 'invalid', reason: `a message longer than maxMessageBytes=${this.maxMessageBytes}`, bytes: this.buffer });
        this.reset();
        return out;
      }
    }
    return out;
  }

  /** True while a message is half received. */
  hasPartial(): boolean {
    return this.buffer.length > 0;
  }

  /** The half-received message's text, and forgets it (a stream ended inside a message). */
  takePartial(): string {
    const text = this.buffer.toString('utf8');
    this.reset();
    return text;
  }

  private reset(): void {
    this.buffer = Buffer.alloc(0);
    this.scanned = 0;
    this.depth = 0;
    this.inString = false;
    this.escaped = false;
  }
}
