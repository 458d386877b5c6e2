import { describe, expect, it } from 'vitest';
import { create } from 'xmlbuilder2';
import { renderJunit } from '../../src/report/junit.js';
import { makeSuiteReport } from '../../src/report/case-result.js';
import { runReport, suite, trace } from './fixtures.js';

/** The part of the DOM the parse-back reads (the tests have no DOM lib; xmlbuilder2 has a DOM). */
interface Element {
  nodeName: string;
  nodeType: number;
  textContent: string | null;
  attributes: ArrayLike<{ name: string; value: string }>;
  childNodes: ArrayLike<Element>;
}

/** Attributes and the elements under a parsed element, read through the DOM so entities decode. */
interface Xml {
  [key: string]: string | Xml | undefined;
}

function toXml(el: Element): Xml {
  const out: Xml = {};
  for (const a of Array.from(el.attributes)) out[`@${a.name}`] = a.value;
  for (const child of Array.from(el.childNodes)) {
    if (child.nodeType !== 1) continue;
    const c = child as Element;
    out[c.nodeName] = c.nodeName === 'system-out' ? (c.textContent ?? '') : { ...toXml(c), '#': c.textContent ?? '' };
  }
  return out;
}

function parse(xml: string): { suites: Xml; suite: Xml; cases: Xml[] } {
  const root = create(xml).root().node as unknown as Element;
  expect(root.nodeName).toBe('testsuites');
  const suiteEl = Array.from(root.childNodes).find((n) => n.nodeName === 'testsuite') as Element;
  const cases = Array.from(suiteEl.childNodes).filter((n) => n.nodeName === 'testcase') as Element[];
  return { suites: toXml(root), suite: toXml(suiteEl), cases: cases.map(toXml) };
}

describe('JUnit XML', () => {
  it('has one testcase per case with failure, error and skipped elements', () => {
    const { suites, suite: s, cases } = parse(renderJunit(suite));
    expect(suites['@tests']).toBe('4');
    expect(s['@name']).toBe('scenarios/kv');
    expect(s['@tests']).toBe('4');
    expect(s['@failures']).toBe('1');
    expect(s['@errors']).toBe('1');
    expect(s['@skipped']).toBe('1');
    expect(s['@time']).toBe('2.460');
    expect(cases.map((c) => c['@classname'])).toEqual(['kv/join', 'kv/turns', 'kv/crash', 'kv/binary']);
    const [pass, fail, error, skip] = cases as [Xml, Xml, Xml, Xml];
    expect(pass['failure']).toBeUndefined();
    expect(pass['error']).toBeUndefined();
    expect((fail['failure'] as Xml)['@message']).toBe('c2 sent out of turn');
    expect((fail['failure'] as Xml)['#']).toContain('expected: lock=1 before c1 sends');
    expect((error['error'] as Xml)['@message']).toContain('timeout');
    expect((skip['skipped'] as Xml)['@message']).toBe('the target speaks JSON lines only');
    expect(fail['@time']).toBe('0.340');
  });

  it('puts the trace summary in system-out, escaped and parsed back intact', () => {
    const { cases } = parse(renderJunit(suite));
    const out = cases[1]!['system-out'] as string;
    expect(out).toContain('observed: lock=2 & <script>alert(1)</script>');
    expect(out).toContain(`trace (${trace.length} events):`);
    expect(out).toContain('c1 → store  GET key=connected');
    expect(out).toContain('from here the same states repeat for ever');
    expect(out).toContain('replay: npx protosim test scenarios/kv.yaml --case kv/turns');
  });

  it('survives control characters a live target printed', () => {
    const s = makeSuiteReport('t', [{ id: 'x', title: 'bell \u0007 and nul \u0000', level: 'required', points: 0, maxPoints: 1, verdict: 'FAIL', reason: 'got \u001b[31mred\u001b[0m', durationMs: 1 }], 1);
    const { cases } = parse(renderJunit(s));
    expect(cases[0]!['@name']).toContain('bell');
    expect(String((cases[0]!['failure'] as Xml)['@message'])).toContain('red');
  });

  it('renders a model run as one testcase per expectation', () => {
    const { suite: s, cases } = parse(renderJunit(runReport(false)));
    expect(cases).toHaveLength(2);
    expect(s['@failures']).toBe('1');
    expect(cases[0]!['@classname']).toBe('test/literal#deadlock');
    expect(cases[1]!['failure']).toBeDefined();
    expect(cases[0]!['failure']).toBeUndefined();
  });
});
