/**
 * Steps that depend on what a program chose where the protocol allows two right behaviours
 * (`orExit:` and `if: { running | exited }`), checked on lock-alternation/client/rejoin: protosim's
 * fixed example client stays and pairs with the restarted partner; the held-out batch's correct
 * Python client (corpus-heldout/, written from the protocol description alone) ends with "Partner
 * left." having cleared the session, and the restarted client pairs with a newcomer; the seed's
 * client fails either way.
 */
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadAdapterFile } from '../../src/conformance/clients/adapter.js';
import { loadClientSuiteFile, parseClientSuite } from '../../src/conformance/clients/load-client-suite.js';
import { runClientSuite } from '../../src/conformance/clients/run-client-suite.js';
import { protosimLauncher } from '../../src/conformance/managed-process.js';
import { ScenarioError } from '../../src/scenario/load.js';

const root = resolve(__dirname, '../..');

function issues(steps: string): string[] {
  const text = `kind: client-suite\nversion: 1\nsuite: clients/x\ntitle: x\nprotocol: lock-alternation\nadapter: ${resolve(root, 'adapters/lock-alternation.yaml')}\ncases:\n  - id: x/one\n    title: one\n    steps:\n${steps}`;
  try {
    parseClientSuite(text, 'bad.yaml', root);
  } catch (error) {
    expect(error).toBeInstanceOf(ScenarioError);
    return (error as ScenarioError).issues.map((i) => `${i.path}: ${i.message}`);
  }
  throw new Error('expected the suite to be refused');
}

describe('step conditions', () => {
  it('a condition names one started program; orExit takes one program expected to show a line', () => {
    expect(issues(`      - start: c1\n      - wait: 10\n        if: { running: c1, exited: c1 }\n`)).toEqual(['cases[0].steps[1].if: a condition names one program: { running: c1 } or { exited: c1 }']);
    expect(issues(`      - start: c1\n      - wait: 10\n        if: { exited: c2 }\n`)).toEqual(['cases[0].steps[1].if: client "c2" is named in a condition before a start step starts it']);
    expect(issues(`      - start: c1\n      - expect: c1\n        kind: prompt\n        absent: true\n        orExit: true\n`)).toEqual(['cases[0].steps[1].orExit: orExit takes one client expected to show a line (not absent, exit or a list)']);
  });

  it('rejoin: the survivor may stay or end; both fixes pass, the seed client fails', async () => {
    const suite = loadClientSuiteFile(resolve(root, 'scenarios/conformance/lock-alternation/clients.yaml'));
    const run = async (adapter: string) => {
      const report = await runClientSuite(suite, { adapter: loadAdapterFile(resolve(root, adapter)), caseIds: ['lock-alternation/client/rejoin'], protosimLauncher: protosimLauncher() });
      return report.cases[0]!;
    };
    const stays = await run('adapters/lock-alternation-fixed.yaml');
    expect(stays.verdict, stays.reason).toBe('PASS');
    expect(stays.trace?.some((e) => e.k === 'start' && e.node === 'c3')).toBe(false);
    const ends = await run('corpus-heldout/runs/lock-alternation--client-python-correct.yaml');
    expect(ends.verdict, `${ends.reason}\n${ends.observed ?? ''}`).toBe('PASS');
    // it took the other branch: the survivor ended, a newcomer c3 was started
    expect(ends.trace?.some((e) => e.k === 'start' && e.node === 'c3')).toBe(true);
    const seed = await run('adapters/lock-alternation.yaml');
    expect(seed.verdict).toBe('FAIL');
  }, 90_000);
});
