/**
 * Integer results cached by two small dense integers (for example a monitor state and an
 * observation), in one flat typed array: a lookup is one read, where arrays of arrays cost two
 * dependent reads and a hole check. Grows in both directions as keys appear.
 */
export class StepCache {
  /** what `get` returns for a key never set */
  static readonly MISSING = -0x80000000;
  private data: Int32Array;
  private rows: number;
  private colBits: number;

  constructor(rows = 16, cols = 16) {
    this.rows = Math.max(1, rows);
    this.colBits = Math.max(1, Math.ceil(Math.log2(Math.max(2, cols))));
    this.data = new Int32Array(this.rows << this.colBits).fill(StepCache.MISSING);
  }

  get(row: number, col: number): number {
    if (row >= this.rows || col >>> this.colBits !== 0) return StepCache.MISSING;
    return this.data[(row << this.colBits) | col]!;
  }

  set(row: number, col: number, value: number): void {
    if (row >= this.rows || col >>> this.colBits !== 0) this.grow(row, col);
    this.data[(row << this.colBits) | col] = value;
  }

  private grow(row: number, col: number): void {
    let rows = this.rows;
    while (rows <= row) rows *= 2;
    let colBits = this.colBits;
    while (col >>> colBits !== 0) colBits++;
    const data = new Int32Array(rows << colBits).fill(StepCache.MISSING);
    const cols = 1 << this.colBits;
    for (let r = 0; r < this.rows; r++) {
      for (let c = 0; c < cols; c++) data[(r << colBits) | c] = this.data[(r << this.colBits) | c]!;
    }
    this.data = data;
    this.rows = rows;
    this.colBits = colBits;
  }
}
