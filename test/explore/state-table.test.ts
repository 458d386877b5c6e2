import { describe, expect, it } from 'vitest';
import { StateTable } from '../../src/sim/explore/state-table.js';

describe('StateTable', () => {
  it('gives dense indices in insertion order, finds equal vectors, and reads them back', () => {
    const t = new StateTable(5);
    const vectors = Array.from({ length: 5000 }, (_, i) => Int32Array.from([i % 7, i, (i * 31) % 1000, 0, i % 2]));
    vectors.forEach((v, i) => expect(t.insert(v)).toBe(i));
    vectors.forEach((v, i) => expect(t.insert(Int32Array.from(v))).toBe(i));
    expect(t.count).toBe(5000);
    const out = new Int32Array(5);
    t.read(4321, out);
    expect([...out]).toEqual([...vectors[4321]!]);
    expect(t.compact).toBe(true);
  });

  it('switches to wide storage on a value over 16 bits, keeping every index', () => {
    const t = new StateTable(3);
    for (let i = 0; i < 300; i++) expect(t.insert(Int32Array.from([i, 1, 2]))).toBe(i);
    expect(t.insert(Int32Array.from([70_000, 1, 2]))).toBe(300);
    expect(t.compact).toBe(false);
    for (let i = 0; i < 300; i++) expect(t.insert(Int32Array.from([i, 1, 2]))).toBe(i);
    expect(t.insert(Int32Array.from([70_000, 1, 2]))).toBe(300);
    const out = new Int32Array(3);
    t.read(300, out);
    expect([...out]).toEqual([70_000, 1, 2]);
    t.read(17, out);
    expect([...out]).toEqual([17, 1, 2]);
  });
});
