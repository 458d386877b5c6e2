import { describe, expect, it } from 'vitest';
import { mermaidText, renderMermaid, renderMermaidReport } from '../../src/report/mermaid.js';
import type { TraceEvent } from '../../src/sim/trace.js';
import { arrowCount, cycleStart, runReport, suite, trace } from './fixtures.js';

/** The statements a protosim Mermaid diagram may hold, and nothing else. */
/** Text with no character Mermaid chokes on: those appear only as entity codes (`#59;`). */
const text = String.raw`(?:[^\n#;<>"&%{}]|#\w+;)+`;
const statement = [
  /^sequenceDiagram$/,
  new RegExp(String.raw`^ *participant n\d+ as ${text}$`),
  new RegExp(String.raw`^ *n\d+(->>|-x)n\d+: ${text}$`),
  new RegExp(String.raw`^ *Note (right of|left of|over) n\d+(,n\d+)?: ${text}$`),
  new RegExp(String.raw`^ *loop ${text}$`),
  /^ *rect rgba\(\d+, \d+, \d+, [\d.]+\)$/,
  /^ *end$/,
];

function checkGrammar(diagram: string): void {
  for (const line of diagram.trimEnd().split('\n')) {
    expect(statement.some((re) => re.test(line)), `not a known Mermaid statement: ${line}`).toBe(true);
  }
  // blocks balance
  const opens = diagram.split('\n').filter((l) => /^ *(loop|rect) /.test(l)).length;
  const ends = diagram.split('\n').filter((l) => /^ *end$/.test(l)).length;
  expect(ends).toBe(opens);
}

describe('Mermaid', () => {
  it('escapes the characters that break Mermaid\'s parser', () => {
    expect(mermaidText('a#b;c<d>e"f')).toBe('a#35;b#59;c#lt;d#gt;e#quot;f');
    expect(mermaidText('line1\nline2\r\nline3')).toBe('line1 ⏎ line2 ⏎ line3');
    expect(mermaidText('&{}%`')).toBe('#amp;#123;#125;#37;#96;');
    expect(mermaidText('')).toBe('(empty)');
    expect(mermaidText('abcdefghij', 5)).toBe('abcd…');
  });

  it('draws participants, arrows, lost messages, notes, faults and the cycle', () => {
    const d = renderMermaid(trace, { cycleStart });
    checkGrammar(d);
    expect(d.startsWith('sequenceDiagram\n')).toBe(true);
    expect(d).toContain('participant n0 as store');
    expect(d).toContain('participant n2 as c2');
    expect(d.match(/->>|-x/g)!.length).toBe(arrowCount);
    expect(d).toMatch(/n0-xn2: 27ms · OK op=SET ✗ lost \(crashed\)/);
    expect(d).toMatch(/rect rgba\(220, 38, 38, 0.12\)\n\s+Note over n2: ⚡ 25ms · crash c2/);
    expect(d).toMatch(/Note right of n1: 21ms · prints #quot;Waiting for client 2 to connect..#quot;/);
    // the typed text with HTML, quotes, ; and # survives as entities
    expect(d).toContain('user types #quot;hi #lt;b#gt;\\#quot;there\\#quot;#lt;/b#gt;#59; #35;1#quot;');
    // the loop opens before the first repeating row and closes at the end
    const lines = d.trimEnd().split('\n');
    const loop = lines.findIndex((l) => l.includes('loop from here the same states repeat for ever'));
    expect(lines[loop + 1]).toContain('500ms · after poll');
    expect(lines.at(-1)).toBe('  end');
  });

  it('aliases node ids that are Mermaid keywords or hold dashes', () => {
    const t: TraceEvent[] = [{ k: 'deliver', t: 1, id: 1, from: 'end', to: 'node-2', msg: { type: 'PING' } }];
    const d = renderMermaid(t);
    checkGrammar(d);
    expect(d).toContain('participant n0 as end');
    expect(d).toContain('n0->>n1: 1ms · PING');
  });

  it('elides long traces and still closes the loop', () => {
    const long: TraceEvent[] = [];
    for (let i = 0; i < 400; i++) long.push({ k: 'deliver', t: i, id: i, from: 'a', to: 'b', msg: { type: 'PING', n: i } });
    const d = renderMermaid(long, { maxRows: 50, cycleStart: 100 });
    checkGrammar(d);
    expect(d).toMatch(/… \d+ more rows not shown …/);
    expect(d.split('\n').length).toBeLessThan(60);
  });

  it('writes Markdown with a fenced block per finding, or one plain diagram', () => {
    const md = renderMermaidReport(runReport(true), true);
    expect(md).toMatch(/^# protosim: test\/literal/);
    expect(md.match(/```mermaid\nsequenceDiagram\n/g)).toHaveLength(1);
    expect(md).toContain('Replay: `npx protosim run scenarios/literal.yaml --seed 7`');
    const plain = renderMermaidReport(runReport(true), false);
    expect(plain.startsWith('sequenceDiagram\n')).toBe(true);
    expect(plain).not.toContain('```');
    checkGrammar(plain);
    // a suite: one diagram per case with a trace
    expect(renderMermaidReport(suite, true).match(/```mermaid/g)).toHaveLength(1);
    checkGrammar(renderMermaidReport({ ...suite, cases: [] }, false));
  });
});
