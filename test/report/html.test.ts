import { describe, expect, it } from 'vitest';
import { renderHtmlReport } from '../../src/report/html.js';
import { renderSequenceSvg } from '../../src/report/svg-sequence.js';
import { renderTimelineSvg, timelineSegments } from '../../src/report/svg-timeline.js';
import { arrowCount, cycleStart, runReport, suite, trace } from './fixtures.js';

/** Every URL the page would load or link to: src, href, CSS url() and @import. */
function resourceUrls(html: string): string[] {
  const urls: string[] = [];
  for (const m of html.matchAll(/\b(?:src|href|xlink:href|action|poster|data)\s*=\s*["']?([^"'\s>]+)/gi)) urls.push(m[1]!);
  for (const m of html.matchAll(/url\(\s*["']?([^"')]+)/gi)) urls.push(m[1]!);
  for (const m of html.matchAll(/@import\s+["']?([^"';]+)/gi)) urls.push(m[1]!);
  return urls;
}

describe('HTML report', () => {
  const html = renderHtmlReport(runReport(true), { generator: 'protosim test' });

  it('is one self-contained file: nothing fetched from a network', () => {
    const external = resourceUrls(html).filter((u) => /^(https?:)?\/\//i.test(u));
    expect(external).toEqual([]);
    expect(html).not.toMatch(/<script[^>]+src=/i);
    expect(html).not.toMatch(/<link\b/i);
    // The only url() references are the timeline's own patterns.
    expect(resourceUrls(html).every((u) => u.startsWith('#'))).toBe(true);
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
  });

  it('shows the verdict, the scenario, the finding and the replay command', () => {
    expect(html).toMatch(/<div class="verdict pass" id="verdict" data-verdict="PASS"><strong>PASS<\/strong>/);
    expect(renderHtmlReport(runReport(false))).toMatch(/id="verdict" data-verdict="FAIL"/);
    expect(html).toContain('<code>test/literal</code>');
    expect(html).toContain('A literal trace &#38; &#60;friends&#62;');
    expect(html).toContain('scenarios/literal.yaml');
    expect(html).toContain('npx protosim run scenarios/literal.yaml --seed 7');
    expect(html).toContain('c2 crashed; c1 waits for connected=2');
    expect(html).toMatch(/<td>c1<\/td><td>client<\/td><td class="status-running">running<\/td><td><code>waitingForPeer.asking<\/code><\/td><td>connected=2<\/td>/);
  });

  it('draws the sequence diagram with an arrow per message and the timeline', () => {
    expect(html.match(/<svg class="sequence"/g)).toHaveLength(1);
    expect(html.match(/<g class="msg[" ]/g)).toHaveLength(arrowCount);
    expect(html.match(/<g class="msg dropped"/g)).toHaveLength(1);
    expect(html).toContain('<g class="fault">');
    expect(html).toContain('<rect class="cycle"');
    expect(html.match(/<svg class="timeline"/g)).toHaveLength(1);
  });

  it('escapes what nodes and users typed', () => {
    const evil = renderHtmlReport(suite);
    expect(evil).not.toContain('<script>alert(1)</script>');
    expect(evil).toContain('&#60;script&#62;alert(1)&#60;/script&#62;');
    expect(html).not.toContain('<b>"there"</b>');
  });

  it('has one row per case with its verdict for suites', () => {
    const s = renderHtmlReport(suite);
    expect(s.match(/<details class="case" data-verdict="(PASS|FAIL|ERROR|SKIP)"/g)).toHaveLength(4);
    for (const v of ['PASS', 'FAIL', 'ERROR', 'SKIP']) expect(s).toContain(`<span class="pill ${v}">${v}</span>`);
    expect(s).toMatch(/id="verdict" data-verdict="FAIL"/);
    expect(s).toContain('2 / 7 points');
    // the failing case carries its diagram
    expect(s.match(/<svg class="sequence"/g)).toHaveLength(1);
  });

  it('lays out the SVG sequence diagram by node column and arrow direction', () => {
    const svg = renderSequenceSvg(trace, { cycleStart });
    const participants = [...svg.matchAll(/<g class="participant"><rect x="([\d.]+)"[^>]*width="([\d.]+)"/g)].map((m) => Number(m[1]) + Number(m[2]) / 2);
    // top and bottom boxes for store, c1, c2, left to right
    expect(participants).toHaveLength(6);
    // each node's top box, then its bottom box
    const [store, , c1, , c2] = participants as [number, number, number, number, number];
    expect(store).toBeLessThan(c1);
    expect(c1).toBeLessThan(c2);
    // c1 -> store at 8 ms: the line ends near store's column, left of where it starts
    const get = /<g class="msg" data-from="c1" data-to="store"><line x1="([\d.]+)" y1="[\d.]+" x2="([\d.]+)"/.exec(svg)!;
    expect(Math.abs(Number(get[1]) - c1)).toBeLessThan(1);
    expect(Math.abs(Number(get[2]) - store)).toBeLessThan(4);
    // a lost message ends short of the receiver with a cross
    expect(svg).toMatch(/<g class="msg dropped" data-from="store" data-to="c2">.*?<path class="lost"/);
  });

  it('derives timeline lanes from starts, state changes and crashes', () => {
    const { nodes, segments } = timelineSegments(trace);
    expect(nodes).toEqual(['store', 'c1', 'c2']);
    const c2 = segments.filter((s) => s.node === 'c2');
    expect(c2.map((s) => [s.label, s.kind, s.fromMs])).toEqual([
      ['joining', 'state', 5],
      ['crashed', 'down', 25],
    ]);
    expect(segments.filter((s) => s.node === 'c1').map((s) => s.label)).toEqual(['joining', 'claimingFirst']);
    const svg = renderTimelineSvg(trace, { idPrefix: 'x' });
    expect(svg).toContain('url(#x-hatch)');
    expect(svg).toContain('<g class="marker fault">');
    expect(svg).toContain('<g class="marker finding">');
  });
});
