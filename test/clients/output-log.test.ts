/**
 * OutputLog: what a program printed, as a person reads it — ANSI removed, prompts cut at once,
 * typed echo marked, memory bounded.
 */
import { describe, expect, it } from 'vitest';
import { OutputLog, stripAnsi } from '../../src/conformance/clients/output-log.js';

const texts = (log: OutputLog): string[] => log.since(0).map((s) => `${s.kind}:${s.text}`);

describe('OutputLog', () => {
  it('removes colours, cursor moves and titles', () => {
    expect(stripAnsi('\u001b[1;31mred\u001b[0m \u001b[2K\u001b]0;title\u0007plain')).toBe('red plain');
  });

  it('cuts lines at newlines across chunks, and a terminal line end (\\r\\n) is one line end', () => {
    const log = new OutputLog([]);
    log.push('Wait');
    log.push('ing..\r\nYou are ');
    log.push('client 1.\r\n');
    expect(texts(log)).toEqual(['line:Waiting..', 'line:You are client 1.']);
  });

  it('an unfinished line matching a prompt pattern becomes a prompt at once', () => {
    const log = new OutputLog([/Enter message: $/]);
    log.push('Enter message: ');
    expect(texts(log)).toEqual(['prompt:Enter message: ']);
    expect(log.pending).toBe('');
  });

  it('marks the echo of a typed line, also when it shares the line with an unrecognised prompt', () => {
    const log = new OutputLog([/> $/]);
    log.expectEcho('hello');
    log.push('> ');
    log.push('hello\r\nClient 2: hello\r\n');
    expect(texts(log)).toEqual(['prompt:> ', 'echo:hello', 'line:Client 2: hello']);
    const other = new OutputLog([]);
    other.expectEcho('hi');
    other.push('Say: hi\r\n');
    expect(texts(other)).toEqual(['prompt:Say: ', 'echo:hi']);
  });

  it('a lone carriage return ends a line too (programs that end lines with \\r; a counter rewritten in place reads as its states)', () => {
    const log = new OutputLog([]);
    log.push('10%\r50%\r100%\n');
    expect(texts(log)).toEqual(['line:10%', 'line:50%', 'line:100%']);
    const cr = new OutputLog([]);
    cr.push('You are client 1.\rWaiting for client 2\r');
    cr.push('\nClient 2: hi\r\r\n');
    expect(texts(cr)).toEqual(['line:You are client 1.', 'line:Waiting for client 2', 'line:Client 2: hi']);
  });

  it('keeps at most maxSegments segments and cuts endless lines at maxLineChars (a flood costs bounded memory)', () => {
    const log = new OutputLog([], { maxSegments: 100, maxLineChars: 50 });
    for (let i = 0; i < 1000; i++) log.push(`line ${i}\n`);
    log.push('x'.repeat(10_000));
    const kept = log.since(0);
    expect(kept.length).toBe(100);
    expect(log.dropped).toBeGreaterThan(1000 - 100);
    expect(kept.every((s) => s.text.length <= 50)).toBe(true);
    expect(log.pending.length).toBeLessThanOrEqual(50);
    // numbering keeps counting, so cursors stay valid
    expect(kept[kept.length - 1]!.index).toBe(log.cursor - 1);
    expect(log.tail(3)).toMatch(/^\[\.\.\. \d+ earlier lines\]/);
  });

  it('numbers runs: a restart ends the unfinished line of the old program', () => {
    const log = new OutputLog([]);
    log.push('half a line');
    log.newRun();
    log.note('c1 restarted');
    log.push('new\n');
    expect(log.since(0).map((s) => [s.kind, s.text, s.run])).toEqual([
      ['line', 'half a line', 0],
      ['note', 'c1 restarted', 1],
      ['line', 'new', 1],
    ]);
  });
});
