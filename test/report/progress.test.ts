import { describe, expect, it } from 'vitest';
import { createProgress } from '../../src/report/progress.js';

function harness(isTTY: boolean, options: { quietMs?: number } = {}) {
  let now = 0;
  const out: string[] = [];
  const p = createProgress({ write: (s) => out.push(s), isTTY, label: 'seeds', clock: () => now, quietMs: options.quietMs ?? 0, throttleMs: 100, everyPercent: 10 });
  return { p, out, tick: (ms: number) => (now += ms) };
}

describe('progress', () => {
  it('rewrites one line on a terminal, throttled, with rates', () => {
    const { p, out, tick } = harness(true);
    for (let i = 1; i <= 100; i++) {
      tick(10);
      p.update(i, 100, { states: i * 50 });
    }
    // one redraw per 100 ms over 1 s, plus the last
    expect(out.length).toBeGreaterThanOrEqual(9);
    expect(out.length).toBeLessThanOrEqual(12);
    expect(out.every((s) => s.startsWith('\r') && s.endsWith('\u001b[K') && !s.includes('\n'))).toBe(true);
    expect(out.at(-1)).toContain('seeds 100/100 (100%)');
    expect(out.at(-1)).toContain('5000 states (5000 states/s)');
    p.finish();
    expect(out.at(-1)).toBe('\r\u001b[K');
  });

  it('prints a plain line every 10% when not on a terminal', () => {
    const { p, out, tick } = harness(false);
    for (let i = 1; i <= 200; i++) {
      tick(5);
      p.update(i, 200);
    }
    p.finish();
    expect(out).toHaveLength(10);
    expect(out.every((s) => s.endsWith('\n') && !s.includes('\r'))).toBe(true);
    expect(out[0]).toMatch(/^seeds 20\/200 \(10%\)/);
    expect(out.at(-1)).toMatch(/^seeds 200\/200 \(100%\)/);
  });

  it('stays quiet for short runs', () => {
    const { p, out, tick } = harness(false, { quietMs: 1000 });
    for (let i = 1; i <= 50; i++) {
      tick(10);
      p.update(i, 50);
    }
    p.finish();
    expect(out).toEqual([]);
    const tty = harness(true, { quietMs: 1000 });
    tty.tick(500);
    tty.p.update(1, 2);
    tty.p.finish();
    expect(tty.out).toEqual([]);
  });
});
