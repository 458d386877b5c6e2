/**
 * `protosim run SUITE --target ...` as a user runs it (in-process, STYLE 11): exit codes 0, 1, 2, 3,
 * case and tag selection, and the JUnit and JSON reports.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/program.js';
import { startServer, type ServerHandle } from '../../src/servers/index.js';
import { repoRoot } from './suite-fixture.js';

const servers: ServerHandle[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(argv, { stdout: (s) => void (out += s), stderr: (s) => void (err += s), cwd: repoRoot });
  return { code, out, err };
}

const oqSuite = 'scenarios/conformance/offline-queue/suite.yaml';

describe('protosim run SUITE (live mode)', () => {
  it('exits 0 when every required case passes, printing a verdict per case and the score', async () => {
    const server = await startServer('offline-queue', { port: 0 });
    servers.push(server);
    const { code, out } = await cli(['run', oqSuite, '--target', server.address, '--tag', 'basic']);
    expect(code).toBe(0);
    expect(out).toMatch(/^PASS  oq\/create-account/m);
    expect(out).toMatch(/4 passed, 0 failed, 0 errors, 0 skipped; score 4\/4; every required case passed/);
  });

  it('exits 1 when a required case fails, showing the step, what was expected and what arrived', async () => {
    const server = await startServer('offline-queue', { port: 0, defect: 'reorder-queue' });
    servers.push(server);
    const dir = mkdtempSync(join(tmpdir(), 'protosim-conf-'));
    const { code, out, err } = await cli([
      'run', oqSuite, '--target', server.address, '--case', 'oq/offline-queue', '--case', 'oq/quit',
      '--report', `junit=${join(dir, 'junit.xml')}`, '--report', `json=${join(dir, 'report.json')}`,
    ]);
    expect(code).toBe(1);
    expect(out).toMatch(/^FAIL  oq\/offline-queue/m);
    // The model is the oracle: it says what check returns, in send order.
    expect(out).toMatch(/at step 17 \(expect: model\)/);
    expect(out).toMatch(/bob got what the offline-queue \(fixed\) server model does not send: msg: expected "alice\w+:first\\nalice\w+:second\\nalice\w+:third\\n"/);
    expect(out).toMatch(/expected: \{opcode: 6, msg: "alice\w+:first\\nalice\w+:second\\nalice\w+:third\\n"\}/);
    expect(out).toMatch(/observed: \{"version":"0.1","opcode":6,"msg":"alice\w+:third\\nalice\w+:second\\nalice\w+:first\\n"\}/);
    expect(err).toMatch(/wrote junit report/);
    const junit = readFileSync(join(dir, 'junit.xml'), 'utf8');
    expect(junit.match(/<testcase /g)).toHaveLength(2);
    expect(junit).toMatch(/<testcase classname="oq\/offline-queue"[^>]*>\s*<failure message="/);
    const json = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8'));
    expect(json).toMatchObject({ ok: false, target: server.address, score: 1, maxScore: 2 });
    expect(json.cases.map((c: { id: string; verdict: string }) => `${c.id}=${c.verdict}`)).toEqual(['oq/offline-queue=FAIL', 'oq/quit=PASS']);
  });

  it('exits 3 when the target cannot be reached at all; each case is an ERROR saying so', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const { code, out, err } = await cli(['run', oqSuite, '--target', `tcp://127.0.0.1:${port}`, '--tag', 'basic']);
    expect(code).toBe(3);
    expect(out).toMatch(/^ERROR oq\/create-account[\s\S]*the target is unreachable: cannot connect to 127.0.0.1:\d+: ECONNREFUSED/m);
    expect(err).toMatch(/could not be started or reached/);
  });

  it('exits 2 for a target that is not loopback, an unknown case, a bad codec, and live options on a model scenario', async () => {
    const remote = await cli(['run', oqSuite, '--target', 'tcp://192.168.1.5:8080']);
    expect(remote.code).toBe(2);
    expect(remote.err).toMatch(/--target: only loopback addresses .* "192.168.1.5" is not one/);
    const unknown = await cli(['run', oqSuite, '--target', 'tcp://127.0.0.1:1', '--case', 'oq/nope']);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(/--case: no case "oq\/nope" in .*; its cases are oq\/create-account, oq\/login/);
    const codec = await cli(['run', oqSuite, '--target', 'tcp://127.0.0.1:1', '--codec', 'gob']);
    expect(codec.code).toBe(2);
    expect(codec.err).toMatch(/offline-queue speaks protobuf, not gob/);
    const scheme = await cli(['run', 'scenarios/conformance/kv/suite.yaml', '--target', 'tcp://127.0.0.1:8112']);
    expect(scheme.code).toBe(2);
    expect(scheme.err).toMatch(/kv targets are http:\/\/ addresses/);
    // A model scenario with --target runs live: its protocol's scheme applies; suite options do not.
    const model = await cli(['run', 'scenarios/deadlock.yaml', '--target', 'tcp://127.0.0.1:1']);
    expect(model.code).toBe(2);
    expect(model.err).toMatch(/kv targets are http:\/\/ addresses/);
    const caseOption = await cli(['run', 'scenarios/deadlock.yaml', '--case', 'x']);
    expect(caseOption.code).toBe(2);
    expect(caseOption.err).toMatch(/is a model scenario \(no cases:\); --case is for conformance suites/);
    const scale = await cli(['run', 'scenarios/deadlock.yaml', '--time-scale', '0.1']);
    expect(scale.code).toBe(2);
    expect(scale.err).toMatch(/--time-scale is for live mode: give --target/);
  });

  it('a model scenario with a target runs live (not the model): an unreachable target exits 3', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'protosim-conf-'));
    const file = join(dir, 'model.yaml');
    (await import('node:fs')).writeFileSync(file, 'id: t/m\ntitle: m\nprotocol: lock-alternation\nexpect: { deadlock: found }\ntarget: http://127.0.0.1:1/IMserver.php\n');
    const { code, err } = await cli(['run', file]);
    expect(code).toBe(3);
    expect(err).toMatch(/did not answer/);
  });

  it('exits 2 with file:line:col for a bad suite file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'protosim-conf-'));
    const file = join(dir, 'bad.yaml');
    (await import('node:fs')).writeFileSync(file, 'suite: t/s\ntitle: t\nprotocol: kv\ncases:\n  - id: a/b\n    title: x\n    steps:\n      - sned: c1\n');
    const { code, err } = await cli(['run', file]);
    expect(code).toBe(2);
    expect(err).toMatch(/bad.yaml:8:9: cases\[0\]\.steps\[0\]\.sned: unknown field "sned".*did you mean "send"/);
  });
});
