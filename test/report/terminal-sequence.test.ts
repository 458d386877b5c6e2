import { describe, expect, it } from 'vitest';
import { renderSequenceText, cycleMarkerText } from '../../src/report/terminal-sequence.js';
import { buildSequence } from '../../src/report/sequence.js';
import { displayWidth } from '../../src/report/text-width.js';
import type { TraceEvent } from '../../src/sim/trace.js';
import { arrowCount, cycleStart, trace } from './fixtures.js';

const ansi = /\u001b\[[0-9;]*m/;
const lines = (s: string): string[] => s.split('\n');

/** Column of the lifeline of each node, read from the `┬` row under the header. */
function lifelineColumns(out: string): number[] {
  const top = lines(out)[1]!;
  return [...top].flatMap((ch, i) => (ch === '┬' ? [i] : []));
}

describe('terminal sequence diagram', () => {
  const out = renderSequenceText(trace, { color: false, width: 100, cycleStart });

  it('has one column per node, in the order they start', () => {
    const header = lines(out)[0]!;
    expect(header.indexOf('store')).toBeLessThan(header.indexOf('c1'));
    expect(header.indexOf('c1')).toBeLessThan(header.indexOf('c2'));
    expect(lifelineColumns(out)).toHaveLength(3);
  });

  it('draws each message as an arrow from the sender column to the receiver column', () => {
    const [store, c1] = lifelineColumns(out) as [number, number, number];
    const get = lines(out).find((l) => l.includes('GET key=connected'))!;
    // c1 -> store: head at the store end, tail at c1
    expect(get[store + 1]).toBe('◀');
    expect(get[c1]).toBe('┤');
    const value = lines(out).find((l) => l.includes('VALUE key=connected value=∅'))!;
    expect(value[store]).toBe('├');
    expect(value[c1 - 1]).toBe('▶');
  });

  it('marks a lost message with ✗ and the reason, and a crashed node\'s lifeline', () => {
    const c2 = lifelineColumns(out)[2]!;
    const lost = lines(out).find((l) => l.includes('lost (crashed)'))!;
    expect(lost).toContain('OK op=SET');
    expect(lost[c2 - 1]).toBe('✗');
    const after = lines(out).find((l) => l.includes('GET key=connected') && l.includes('504 ms'))!;
    expect(after[c2]).toBe('╎');
  });

  it('marks faults across the width, and notes beside their node', () => {
    const fault = lines(out).find((l) => l.includes('crash c2'))!;
    expect(fault).toContain('⚡');
    expect(fault.match(/┄/g)!.length).toBeGreaterThan(20);
    const note = lines(out).find((l) => l.includes('Waiting for client 2'))!;
    expect(note.indexOf('prints')).toBeGreaterThan(lifelineColumns(out)[1]!);
    expect(lines(out).some((l) => l.includes('user types "hi <b>\\"there\\"</b>; #1"'))).toBe(true);
  });

  it('puts time on the left, once per distinct time', () => {
    expect(lines(out).filter((l) => /^\s*\S?\s*8 ms/.test(l))).toHaveLength(1);
    expect(lines(out).some((l) => /^\S?\s*504 ms/.test(l))).toBe(true);
  });

  it('marks where the cycle starts and brackets the rows that repeat', () => {
    const i = lines(out).findIndex((l) => l.includes(cycleMarkerText));
    expect(i).toBeGreaterThan(0);
    expect(lines(out)[i + 1]).toMatch(/^┃/);
    expect(lines(out)[i - 1]).not.toMatch(/^┃/);
    expect(lines(out).slice(i + 1).every((l) => l.startsWith('┃'))).toBe(true);
  });

  it('fits the width asked for, abbreviating message text', () => {
    for (const width of [60, 80, 100, 140]) {
      const o = renderSequenceText(trace, { color: false, width, cycleStart });
      for (const l of lines(o)) expect(displayWidth(l)).toBeLessThanOrEqual(width);
    }
    const narrow = renderSequenceText(trace, { color: false, width: 60, cycleStart });
    expect(narrow).toContain('…');
    expect(narrow).not.toContain('VALUE key=connected value=∅');
  });

  it('keeps lifelines aligned when user text has wide characters', () => {
    const wide: TraceEvent[] = [
      { k: 'print', t: 1, node: 'a', kind: 'message', text: '你好世界 🎉' },
      { k: 'deliver', t: 2, id: 1, from: 'a', to: 'b', msg: { type: 'MSG', text: '你好' } },
      { k: 'print', t: 3, node: 'b', kind: 'status', text: 'ok' },
    ];
    const o = renderSequenceText(wide, { color: false, width: 80 });
    const cols = lifelineColumns(o);
    const row = lines(o).find((l) => l.includes('你好世界'))!;
    // the character at b's lifeline, counting display columns (a wide character takes two)
    let w = 0;
    let atB = '';
    for (const ch of row) {
      if (w === cols[1]) atB = ch;
      w += displayWidth(ch);
    }
    expect(atB).toBe('│');
  });

  it('uses colour only when asked', () => {
    expect(out).not.toMatch(ansi);
    expect(renderSequenceText(trace, { color: true, width: 100, cycleStart })).toMatch(ansi);
  });

  it('elides the middle of long traces but keeps the cycle', () => {
    const long: TraceEvent[] = [];
    for (let i = 0; i < 200; i++) long.push({ k: 'deliver', t: i, id: i, from: 'a', to: 'b', msg: { type: 'PING', n: i } });
    const o = renderSequenceText(long, { color: false, width: 80, maxRows: 40, cycleStart: 190 });
    expect(o).toMatch(/… \d+ more rows/);
    expect(o).toContain(cycleMarkerText);
    expect(o).toContain('PING n=0');
    expect(o).toContain('PING n=199');
    expect(o).not.toContain('PING n=100');
    expect(lines(o).length).toBeLessThan(50);
  });

  it('builds the same rows the other renderers draw', () => {
    const seq = buildSequence(trace, { cycleStart });
    expect(seq.nodes).toEqual(['store', 'c1', 'c2']);
    expect(seq.rows.filter((r) => r.k === 'message')).toHaveLength(arrowCount);
    expect(seq.rows[seq.cycleRow!]!.t).toBe(500);
    // the arrow of message 3 starts where it was sent (before the crash), not where it arrived
    const m3 = seq.rows.find((r) => r.k === 'message' && r.t === 30)!;
    expect(m3.k === 'message' && m3.sendT).toBe(22);
  });
});
