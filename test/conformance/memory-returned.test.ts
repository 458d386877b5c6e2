/**
 * The `memory-returned` bound (src/models/live-bounds.ts) and the soaks that check it
 * (src/conformance/suite-run/soak.ts): a case whose steps run `rounds` times over, each round
 * net-zero in the model, with the resident memory of the target's processes read after the warm-up
 * rounds and after the last. The correct reference servers hold it in a process of their own (the
 * suites' command targets); their known-bad defect keep-connection-buffers fails it
 * (reference-servers.test.ts). Soaks run only with the bounds on, or when named with --case.
 */
import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/program.js';
import { runSuite, selectCases } from '../../src/conformance/run-suite.js';
import { parseSuite } from '../../src/scenario/load-suite.js';
import { ScenarioError, type ScenarioIssue } from '../../src/scenario/load.js';
import type { SuiteProtocol } from '../../src/scenario/suite-schema.js';
import { startServer } from '../../src/servers/index.js';
import { repoRoot, shippedSuite } from './suite-fixture.js';

const soakOf: Record<string, string> = {
  kv: 'kv/soak-keys-unset',
  'register-exit': 're/soak-users-leave',
  'ping-liveness': 'ping/soak-sessions-end',
  'offline-queue': 'oq/soak-accounts-deleted',
};

/** A suite of one soak of `rounds` rounds against `address`: register-exit users that leave, or offline-queue accounts that stay (not net-zero). */
function soakSuite(address: string, rounds: number, netZero = true): ReturnType<typeof parseSuite> {
  const steps = netZero
    ? [
        '      - connect: a',
        '      - send: a',
        "        msg: { From: 'u${run}-${round}', Register: true }",
        '      - send: a',
        "        msg: { From: 'u${run}-${round}', To: 'u${run}-${round}', Content: hi }",
        '      - expect: a',
        "        msg: { From: 'u${run}-${round}', Content: hi }",
        '      - send: a',
        "        msg: { From: 'u${run}-${round}', Exit: true }",
        '      - disconnect: a',
      ]
    : ['      - connect: a', '      - send: a', "        msg: { opcode: 1, msg: 'n${run}-${round}' }", '      - expect: a', '        msg: { opcode: 1 }'];
  const protocol = netZero ? 'register-exit' : 'offline-queue';
  return parseSuite(`suite: t/soak\ntitle: t\nprotocol: ${protocol}\ntarget: ${address}\ncases:\n  - id: t/soak\n    title: a soak\n    bounds: true\n    rounds: ${rounds}\n    steps:\n${steps.join('\n')}\n`, 'soak.yaml');
}

function issuesOf(text: string): ScenarioIssue[] {
  try {
    parseSuite(text, 'bad.yaml');
  } catch (error) {
    expect(error).toBeInstanceOf(ScenarioError);
    return (error as ScenarioError).issues;
  }
  throw new Error('expected the suite to be rejected');
}

describe('soak cases in the suites', () => {
  it('every server suite has one, run only with the bounds on (or named by id)', () => {
    for (const [protocol, id] of Object.entries(soakOf)) {
      const suite = shippedSuite(protocol as SuiteProtocol);
      const soak = suite.spec.cases.find((c) => c.id === id);
      expect(soak, id).toMatchObject({ bounds: true });
      expect(soak!.rounds).toBeGreaterThanOrEqual(200);
      expect(selectCases(suite).map((c) => c.id)).not.toContain(id);
      expect(selectCases(suite, [], [], { bounds: 1 }).map((c) => c.id)).toContain(id);
      expect(selectCases(suite, [id]).map((c) => c.id)).toEqual([id]);
    }
  });

  it('protosim run without --bounds says which soak it left out; with it, runs it', async () => {
    const server = await startServer('register-exit', { port: 0 });
    try {
      for (const bounds of [false, true]) {
        let out = '';
        let err = '';
        const argv = ['run', 'scenarios/conformance/register-exit/suite.yaml', '--target', server.address, '--tag', 'soak', '--no-progress', ...(bounds ? ['--bounds'] : [])];
        await runCli(argv, { stdout: (x) => void (out += x), stderr: (x) => void (err += x), cwd: repoRoot });
        if (bounds) {
          expect(err).not.toContain('bounds-only');
          // in-process: the soak says why its memory cannot be read
          expect(out).toMatch(/^SKIP  re\/soak-users-leave .*\n\s+memory-returned not checked: the target runs inside protosim's own process/m);
        } else {
          expect(err).toContain("1 bounds-only case(s) not run (re/soak-users-leave): soaks that check the named bounds (memory-returned); --bounds runs them");
          expect(out).not.toContain('re/soak-users-leave');
        }
      }
    } finally {
      await server.close();
    }
  });

  it('${round} needs rounds:, and rounds are at least 2 (file:line:col)', () => {
    const head = 'suite: t/s\ntitle: t\nprotocol: register-exit\ntarget: tcp://127.0.0.1:9000\ncases:\n  - id: a/b\n    title: x\n';
    const noRounds = issuesOf(`${head}    steps:\n      - connect: a\n      - send: a\n        msg: { From: 'u\${round}', Register: true }\n`);
    expect(noRounds[0]).toMatchObject({ line: 10, path: 'cases[0].steps[1]' });
    expect(noRounds[0]!.message).toMatch(/\$\{round\} is the round of a soak: the case needs rounds: N/);
    const one = issuesOf(`${head}    rounds: 1\n    steps:\n      - connect: a\n`);
    expect(one[0]).toMatchObject({ line: 8, path: 'cases[0].rounds' });
  });
});

describe('a soak against an in-process server', () => {
  it('without the bounds, named by id: the rounds run (${round} each one\'s number), memory is not read', async () => {
    const server = await startServer('register-exit', { port: 0 });
    try {
      const run = await runSuite(soakSuite(server.address, 5), { replyTimeoutMs: 1000, caseIds: ['t/soak'] });
      expect(run.report.cases[0]).toMatchObject({ verdict: 'PASS', reason: 'all 5 rounds of 6 steps held' });
    } finally {
      await server.close();
    }
  });

  it('with the bounds: SKIP, saying why (its memory is the harness\'s too)', async () => {
    const server = await startServer('register-exit', { port: 0 });
    try {
      const run = await runSuite(soakSuite(server.address, 5), { replyTimeoutMs: 1000, vars: { bounds: 1 } });
      expect(run.report.cases[0]!.verdict).toBe('SKIP');
      expect(run.report.cases[0]!.reason).toMatch(/^memory-returned not checked: the target runs inside protosim's own process.*rounds were not run/);
    } finally {
      await server.close();
    }
  });

  it('a round that is not net-zero in the model is an ERROR of the case, not a verdict on the server', async () => {
    const server = await startServer('offline-queue', { port: 0 });
    try {
      // each round creates an account and leaves it
      const run = await runSuite(soakSuite(server.address, 4, false), { replyTimeoutMs: 1000, caseIds: ['t/soak'] });
      expect(run.report.cases[0]!.verdict).toBe('ERROR');
      expect(run.report.cases[0]!.reason).toMatch(/^the soak's rounds are not net-zero in the model: after round 1 it held \d+ entries .*, after round 4/);
    } finally {
      await server.close();
    }
  });
});

describe('the correct reference servers hold memory-returned (in a process of their own)', () => {
  for (const [protocol, id] of Object.entries(soakOf)) {
    it(protocol, async () => {
      const run = await runSuite(shippedSuite(protocol as SuiteProtocol), { replyTimeoutMs: 2000, vars: { bounds: 1 }, caseIds: [id] });
      const soak = run.report.cases[0]!;
      expect(`${soak.verdict}: ${soak.reason}`).toMatch(/^PASS: all \d+ rounds of \d+ steps held; memory-returned: [\d.]+ MiB resident after round \d+, [\d.]+ MiB after round \d+ \(growth -?[\d.]+ MiB, allowed [\d.]+ MiB\)$/);
    }, 90_000);
  }
});
