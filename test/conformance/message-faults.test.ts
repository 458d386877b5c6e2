/**
 * Message faults in the step language (issue 14, item 0): a suite step holds, releases in a chosen
 * order, splits, merges, duplicates, reorders or delays whole messages on one client's link, through
 * the one TCP proxy. Checked against the register-exit reference server (started by the suite), and
 * the load-time rules that keep `expect: model` honest.
 */
import { describe, expect, it } from 'vitest';
import { parseSuite } from '../../src/scenario/load-suite.js';
import { ScenarioError, type ScenarioIssue } from '../../src/scenario/load.js';
import { runSuite } from '../../src/conformance/run-suite.js';
import { repoRoot } from './suite-fixture.js';

const head = `kind: suite
version: 1
suite: t/message-faults
title: message faults
protocol: register-exit
target:
  command: ['${process.execPath}', '${repoRoot}bin/protosim.js', serve, register-exit, --port, '{port}']
  port: auto
  ready: { stdout: 'listening on (\\S+)' }
cases:
`;

const registered = `      - connect: [alice, bob]
      - send: alice
        msg: { From: 'alice\${run}', Register: true }
      - send: bob
        msg: { From: 'bob\${run}', Register: true }
      - expect: model
`;

function issuesOf(text: string): ScenarioIssue[] {
  try {
    parseSuite(text, 'bad.yaml');
  } catch (error) {
    expect(error).toBeInstanceOf(ScenarioError);
    return (error as ScenarioError).issues;
  }
  throw new Error('expected the suite to be rejected');
}

describe('message faults in suites', () => {
  it('options belong to their fault and release takes one direction', () => {
    const bad = issuesOf(`${head}  - id: a/b
    title: x
    steps:
${registered}      - fault: split
        client: alice
        order: [1, 0]
      - fault: release
        client: alice
        direction: both
`);
    expect(bad.map((i) => i.message)).toEqual(['order is an option of fault release, not of split', 'release takes one direction (to-target or from-target), or none: every held message']);
    expect(bad.map((i) => i.path)).toEqual(['cases[0].steps[4].order', 'cases[0].steps[5].direction']);
  });

  it('expect: model refuses a link that duplicates or reorders, until the fault is cleared', () => {
    const bad = issuesOf(`${head}  - id: a/b
    title: x
    steps:
${registered}      - fault: duplicate
        client: alice
      - expect: model
      - fault: clear
        client: alice
      - expect: model
`);
    expect(bad).toHaveLength(1);
    expect(bad[0]!.path).toBe('cases[0].steps[5].expect');
    expect(bad[0]!.message).toMatch(/^expect: model cannot judge alice's link after fault duplicate \(step 5\)/);
  });

  it('held messages are delivered when released, in the order the step gives; split and merged ones arrive whole', async () => {
    const suite = parseSuite(
      `${head}  - id: mf/hold-release-order
    title: two messages held, released last first
    steps:
${registered}      - fault: hold
        client: alice
        count: 2
      - send: alice
        msg: { From: 'alice\${run}', To: 'bob\${run}', Content: 'one' }
      - send: alice
        msg: { From: 'alice\${run}', To: 'bob\${run}', Content: 'two' }
      - expect: bob
        nothing: 200
      - fault: release
        client: alice
        order: [1, 0]
      - expect: bob
        msgs:
          - { From: 'alice\${run}', Content: 'two' }
          - { From: 'alice\${run}', Content: 'one' }
  - id: mf/split-merge
    title: a message in three pieces, then two in one write, each read whole
    steps:
${registered}      - fault: split
        client: alice
        parts: 3
        count: 1
      - fault: merge
        client: bob
        direction: from-target
        messages: 2
      - send: alice
        msg: { From: 'alice\${run}', To: 'bob\${run}', Content: 'in pieces' }
      - send: alice
        msg: { From: 'alice\${run}', To: 'bob\${run}', Content: 'whole' }
      - expect: bob
        msgs:
          - { From: 'alice\${run}', Content: 'in pieces' }
          - { From: 'alice\${run}', Content: 'whole' }
  - id: mf/duplicate
    title: a duplicated message is delivered twice
    steps:
${registered}      - fault: duplicate
        client: alice
        count: 1
      - send: alice
        msg: { From: 'alice\${run}', To: 'bob\${run}', Content: 'twice' }
      - expect: bob
        msgs:
          - { From: 'alice\${run}', Content: 'twice' }
          - { From: 'alice\${run}', Content: 'twice' }
  - id: mf/release-nothing
    title: releasing with nothing held says so (a FAIL of the case, not a crash)
    steps:
${registered}      - fault: hold
        client: alice
      - fault: release
        client: alice
`,
      'message-faults.yaml',
    );
    const { report } = await runSuite(suite);
    const byId = Object.fromEntries(report.cases.map((c) => [c.id, c]));
    expect(byId['mf/hold-release-order']).toMatchObject({ verdict: 'PASS' });
    expect(byId['mf/split-merge']).toMatchObject({ verdict: 'PASS' });
    expect(byId['mf/duplicate']).toMatchObject({ verdict: 'PASS' });
    expect(byId['mf/release-nothing']).toMatchObject({ verdict: 'FAIL', reason: expect.stringContaining('no message is held') });
  }, 60_000);
});
