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
  });

  it('stores any int32 exactly (values over 16 bits, negative values), keeping every index', () => {
    const t = new StateTable(3);
    for (let i = 0; i < 300; i++) expect(t.insert(Int32Array.from([i, 1, 2]))).toBe(i);
    expect(t.insert(Int32Array.from([70_000, -1, 2]))).toBe(300);
    for (let i = 0; i < 300; i++) expect(t.insert(Int32Array.from([i, 1, 2]))).toBe(i);
    expect(t.insert(Int32Array.from([70_000, -1, 2]))).toBe(300);
    const out = new Int32Array(3);
    t.read(300, out);
    expect([...out]).toEqual([70_000, -1, 2]);
    t.read(17, out);
    expect([...out]).toEqual([17, 1, 2]);
  });

  it('a vector of width 1 has no second half', () => {
    const t = new StateTable(1);
    for (let i = 0; i < 100; i++) expect(t.insert(Int32Array.from([i * 3]))).toBe(i);
    expect(t.find(Int32Array.from([6]))).toBe(2);
    expect(t.find(Int32Array.from([7]))).toBe(-1);
  });
});

describe('GrowableArray', () => {
  it('grows in place keeping what it holds, and says what is in use', async () => {
    const { GrowableArray } = await import('../../src/sim/explore/growable-array.js');
    const g = new GrowableArray(Int32Array, 4);
    let a = g.array;
    for (let i = 0; i < 100_000; i++) {
      if (i >= a.length) a = g.ensure(i + 1);
      a[i] = i * 3;
    }
    expect(a.length).toBeGreaterThanOrEqual(100_000);
    for (const i of [0, 3, 4, 65_535, 99_999]) expect(a[i]).toBe(i * 3);
    expect(a[100_000]).toBe(0); // (what grew is zeroed)
    expect(g.bytesFor(10)).toBe(40);
    const u = new GrowableArray(Uint16Array, 1);
    expect(u.ensure(3).length).toBeGreaterThanOrEqual(3);
  });
});
