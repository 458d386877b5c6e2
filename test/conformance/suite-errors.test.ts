/**
 * Bad suite files get file:line:col, the field path and what was expected (exit 2 from the CLI).
 */
import { describe, expect, it } from 'vitest';
import { parseSuite } from '../../src/scenario/load-suite.js';
import { ScenarioError, type ScenarioIssue } from '../../src/scenario/load.js';
import { shippedSuite } from './suite-fixture.js';

function issuesOf(text: string): ScenarioIssue[] {
  try {
    parseSuite(text, 'bad.yaml');
  } catch (error) {
    expect(error).toBeInstanceOf(ScenarioError);
    return (error as ScenarioError).issues;
  }
  throw new Error('expected the suite to be rejected');
}

const head = `suite: t/s
title: t
protocol: ping-liveness
target: tcp://127.0.0.1:9000
cases:
`;

describe('suite files', () => {
  it('the shipped suites load, with unique ids, levels and points', () => {
    for (const protocol of ['kv', 'ping-liveness', 'register-exit', 'offline-queue'] as const) {
      const suite = shippedSuite(protocol);
      expect(suite.spec.cases.length).toBeGreaterThanOrEqual(15);
      expect(new Set(suite.spec.cases.map((c) => c.id)).size).toBe(suite.spec.cases.length);
      expect(suite.spec.cases.every((c) => c.points > 0 && (c.level === 'required' || c.level === 'recommended'))).toBe(true);
    }
  });

  it('a valid minimal suite defaults level to required and points to 1', () => {
    const suite = parseSuite(`${head}  - id: a/b\n    title: x\n    steps:\n      - connect: c1\n      - send: c1\n        msg: { mtype: 1 }\n`, 'ok.yaml');
    expect(suite.spec.cases[0]).toMatchObject({ level: 'required', points: 1, tags: [] });
  });

  it('an option that does not belong to the step\'s action is pointed at, with what the action takes', () => {
    const [issue] = issuesOf(`${head}  - id: a/b\n    title: x\n    steps:\n      - connect: c1\n      - send: c1\n        within: 5\n`);
    expect(issue).toMatchObject({ file: 'bad.yaml', line: 11, path: 'cases[0].steps[1].within' });
    expect(issue!.message).toMatch(/unknown field "within"/);
    const [second] = issuesOf(`${head}  - id: a/b\n    title: x\n    steps:\n      - connect: c1\n      - send: c1\n        msg: {}\n        withinMs: 5\n`);
    expect(second).toMatchObject({ line: 12, col: 19, path: 'cases[0].steps[1].withinMs' });
    expect(second!.message).toMatch(/withinMs is not an option of send; send takes msg, msgs, raw/);
  });

  it('a step with two actions, or none, is refused', () => {
    const [issue] = issuesOf(`${head}  - id: a/b\n    title: x\n    steps:\n      - { connect: c1, wait: 5 }\n`);
    expect(issue).toMatchObject({ line: 9, path: 'cases[0].steps[0]' });
    expect(issue!.message).toMatch(/one action, this one has connect and wait/);
  });

  it('a client used before it connects, an unknown variable and a duplicate id', () => {
    const issues = issuesOf(
      `${head}  - id: a/b\n    title: x\n    steps:\n      - connect: c1\n      - send: c2\n        msg: {}\n      - wait: $nope\n      - expect: model\n  - id: a/b\n    title: y\n    steps:\n      - wait: 1\n`,
    );
    // Every server protocol has a model oracle now, so `expect: model` is fine here.
    expect(issues.map((i) => `${i.line}:${i.path}`)).toEqual(['10:cases[0].steps[1].send', '12:cases[0].steps[2].wait', '14:cases[1].id']);
    expect(issues[0]!.message).toMatch(/client "c2" has not connected in this case yet; connected: c1/);
    expect(issues[1]!.message).toMatch(/unknown variable \$nope; the suite has no vars/);
    expect(issues[2]!.message).toMatch(/duplicate case id "a\/b"/);
  });

  it('a target that is not loopback is refused where it is written', () => {
    const [issue] = issuesOf(head.replace('tcp://127.0.0.1:9000', 'tcp://10.1.2.3:9000') + '  - id: a/b\n    title: x\n    steps:\n      - wait: 1\n');
    expect(issue).toMatchObject({ line: 4, col: 9, path: 'target' });
    expect(issue!.message).toMatch(/only loopback addresses .* "10.1.2.3" is not one/);
  });

  it('a codec the protocol does not speak is refused', () => {
    const text = head.replace('target: tcp://127.0.0.1:9000', 'target: { address: "tcp://127.0.0.1:9000", codec: gob }') + '  - id: a/b\n    title: x\n    steps:\n      - wait: 1\n';
    const [issue] = issuesOf(text);
    expect(issue).toMatchObject({ path: 'target.codec' });
    expect(issue!.message).toMatch(/ping-liveness speaks json-lines, not gob/);
  });
});
