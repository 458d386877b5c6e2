/**
 * Bad scenario files get file:line:col, the field path, what was expected and what was found.
 */
import { describe, expect, it } from 'vitest';
import { parseScenario, ScenarioError, type ScenarioIssue } from '../../src/scenario/load.js';

function issuesOf(text: string): ScenarioIssue[] {
  try {
    parseScenario(text, 'bad.yaml');
  } catch (error) {
    expect(error).toBeInstanceOf(ScenarioError);
    return (error as ScenarioError).issues;
  }
  throw new Error('expected the scenario to be rejected');
}

const valid = `id: t/ok
title: ok
protocol: lock-alternation
expect: { deadlock: found }
`;

describe('scenario errors', () => {
  it('accepts a minimal valid scenario, filling the model defaults', () => {
    const s = parseScenario(valid, 'ok.yaml');
    expect(s.config.nodes.map((n) => n.id)).toEqual(['store', 'c1', 'c2']);
    expect(s.explore.strategy).toBe('random');
  });

  it('points at an unknown field with its line and column and lists the allowed ones', () => {
    const [issue] = issuesOf(`${valid}nodez: []\n`);
    expect(issue).toMatchObject({ file: 'bad.yaml', line: 5, col: 1, path: 'nodez' });
    expect(issue!.message).toMatch(/unknown field "nodez".*did you mean "nodes"/);
  });

  it('names the field path inside lists and what was expected', () => {
    const issues = issuesOf(`${valid}nodes:\n  - { id: store, role: store }\n  - { id: c1, role: client, startAtMs: -5 }\n`);
    expect(issues[0]).toMatchObject({ line: 7, path: 'nodes[1].startAtMs' });
    expect(issues[0]!.message).toMatch(/>=0/);
  });

  it('reports a wrong enum value with the choices', () => {
    const [issue] = issuesOf(valid.replace('deadlock: found', 'deadlock: maybe'));
    expect(issue).toMatchObject({ line: 4, path: 'expect.deadlock' });
    expect(issue!.message).toBe('expected one of "found", "none", got string "maybe"');
  });

  it('reports missing required fields at the mapping', () => {
    const issues = issuesOf('id: t/x\nprotocol: lock-alternation\nexpect: { deadlock: found }\n');
    expect(issues.map((i) => i.path)).toContain('title');
    expect(issues.find((i) => i.path === 'title')!.message).toMatch(/missing; expected string/);
  });

  it('checks names against the model: protocol, role, node references, invariants', () => {
    expect(issuesOf(valid.replace('lock-alternation', 'lock-alternaton'))[0]!.message).toMatch(/unknown protocol.*did you mean "lock-alternation"/);
    const issues = issuesOf(
      `${valid}nodes:\n  - { id: store, role: store }\n  - { id: c1, role: clinet }\nworkload:\n  - { node: c9, messages: [a] }\nchecks:\n  invariants: [single-sendr]\n`,
    );
    expect(issues.map((i) => `${i.line}:${i.path}`)).toEqual(['7:nodes[1].role', '9:workload[0].node', '11:checks.invariants[0]']);
    expect(issues[0]!.message).toMatch(/did you mean "client"/);
    expect(issues[2]!.message).toMatch(/did you mean "single-sender"/);
  });

  it('reports YAML syntax errors with their position', () => {
    const [issue] = issuesOf('id: x\n title: y\n');
    expect(issue!.message).toMatch(/^YAML syntax/);
    expect(issue!.line).toBeGreaterThanOrEqual(1);
  });

  it('rejects repeated workload messages (messages are recognised by their text)', () => {
    const issues = issuesOf(`${valid}workload:\n  - { node: c1, messages: [a, b, a] }\n`);
    expect(issues[0]).toMatchObject({ path: 'workload[0].messages[2]' });
  });
});
