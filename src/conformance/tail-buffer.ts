/**
 * Keeps the last `maxBytes` of a stream (a target's stdout or stderr) and counts the rest, so a
 * target that floods its output cannot grow the harness's memory.
 */
export class TailBuffer {
  private chunks: Buffer[] = [];
  private held = 0;
  /** every byte seen, kept or not */
  totalBytes = 0;

  constructor(private readonly maxBytes: number) {}

  push(chunk: Buffer): void {
    this.totalBytes += chunk.length;
    const piece = chunk.length > this.maxBytes ? chunk.subarray(chunk.length - this.maxBytes) : chunk;
    this.chunks.push(Buffer.from(piece)); // copy: do not pin the stream's buffer
    this.held += piece.length;
    while (this.held - this.chunks[0]!.length >= this.maxBytes) this.held -= this.chunks.shift()!.length;
  }

  /** The tail as text, at most `maxBytes`, with a note of what was cut. */
  text(): string {
    let all = Buffer.concat(this.chunks);
    if (all.length > this.maxBytes) all = all.subarray(all.length - this.maxBytes);
    const cut = this.totalBytes - all.length;
    const body = all.toString('utf8').replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, '\uFFFD');
    return cut > 0 ? `[... ${cut} earlier bytes not kept]\n${body}` : body;
  }

  clear(): void {
    this.chunks = [];
    this.held = 0;
    this.totalBytes = 0;
  }
}
