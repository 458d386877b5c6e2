import { describe, expect, it } from 'vitest';
import { Prng } from '../../src/sim/prng.js';
import { EventQueue } from '../../src/sim/event-queue.js';

describe('Prng', () => {
  it('gives pinned first outputs for a fixed seed (changing them changes every recorded trace)', () => {
    const p = new Prng(42);
    expect(Array.from({ length: 6 }, () => p.nextU32())).toEqual(PINNED_42);
    const q = new Prng(0);
    expect(Array.from({ length: 3 }, () => q.nextU32())).toEqual(PINNED_0);
  });

  it('is a pure function of the seed', () => {
    const a = new Prng(7);
    const b = new Prng(7);
    for (let i = 0; i < 1000; i++) expect(a.nextU32()).toBe(b.nextU32());
    expect(new Prng(7).nextU32()).not.toBe(new Prng(8).nextU32());
  });

  it('int stays within bounds and covers them', () => {
    const p = new Prng(1);
    const seen = new Set<number>();
    for (let i = 0; i < 2000; i++) {
      const x = p.int(3, 7);
      expect(x).toBeGreaterThanOrEqual(3);
      expect(x).toBeLessThanOrEqual(7);
      seen.add(x);
    }
    expect([...seen].sort()).toEqual([3, 4, 5, 6, 7]);
  });

  it('chance(0) and chance(1) draw nothing, so zero-ratio options do not shift later draws', () => {
    const a = new Prng(5);
    const b = new Prng(5);
    a.chance(0);
    a.chance(1);
    expect(a.nextU32()).toBe(b.nextU32());
  });

  it('derive gives independent, reproducible streams per label', () => {
    expect(Prng.derive(1, 'net').nextU32()).toBe(Prng.derive(1, 'net').nextU32());
    expect(Prng.derive(1, 'net').nextU32()).not.toBe(Prng.derive(1, 'faults').nextU32());
  });
});

describe('EventQueue', () => {
  it('orders by time, then by insertion sequence', () => {
    const q = new EventQueue<string>();
    q.push(5, 'a');
    q.push(1, 'b');
    q.push(5, 'c');
    q.push(1, 'd');
    q.push(0, 'e');
    const out: string[] = [];
    for (let e = q.pop(); e; e = q.pop()) out.push(e.item);
    expect(out).toEqual(['e', 'b', 'd', 'a', 'c']);
  });

  it('skips cancelled entries and keeps size right', () => {
    const q = new EventQueue<number>();
    const entries = Array.from({ length: 10 }, (_, i) => q.push(10 - i, i));
    q.cancel(entries[9]!);
    q.cancel(entries[3]!);
    expect(q.size).toBe(8);
    const out: number[] = [];
    for (let e = q.pop(); e; e = q.pop()) out.push(e.item);
    expect(out).toEqual([8, 7, 6, 5, 4, 2, 1, 0]);
  });
});

const PINNED_42 = [1028872839, 2516511472, 400437680, 853279530, 1920286840, 3588795744];
const PINNED_0 = [4205396811, 3543653536, 1222415357];
