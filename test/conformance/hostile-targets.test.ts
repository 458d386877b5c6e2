/**
 * The harness survives hostile targets (test/fixtures/hostile/hostile-server.mjs): each case still
 * gets a verdict with its reason, the run goes on to the next case, and the harness's memory stays
 * bounded while a target floods hundreds of megabytes.
 */
import { describe, expect, it } from 'vitest';
import { runSuite, type SuiteRun } from '../../src/conformance/run-suite.js';
import type { SuiteProtocol } from '../../src/scenario/suite-schema.js';
import { hostileTarget, shippedSuite, withTarget } from './suite-fixture.js';

const pingCases = ['ping/version-agreed', 'ping/login', 'ping/chat-echo'];

/** Runs a few cases against a hostile fixture, sampling this process's RSS meanwhile. */
async function againstHostile(mode: string, protocol: SuiteProtocol = 'ping-liveness', caseIds = pingCases, extra: Record<string, unknown> = {}): Promise<{ run: SuiteRun; rssGrowthBytes: number; ms: number }> {
  const before = process.memoryUsage().rss;
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  const started = performance.now();
  try {
    const run = await runSuite(withTarget(shippedSuite(protocol), hostileTarget(mode, extra)), { caseIds, replyTimeoutMs: 400 });
    peak = Math.max(peak, process.memoryUsage().rss);
    return { run, rssGrowthBytes: peak - before, ms: performance.now() - started };
  } finally {
    clearInterval(sampler);
  }
}

const MiB = 1024 * 1024;

describe('hostile targets', () => {
  it('dies at start: every case is an ERROR that says so with its stderr, and the run is a target error (exit 3)', async () => {
    const { run } = await againstHostile('die-at-start');
    expect(run.report.cases.map((c) => c.verdict)).toEqual(['ERROR', 'ERROR', 'ERROR']);
    expect(run.report.cases[0]!.reason).toMatch(/could not be started: the target exited before it was ready \(exit code 1\)/);
    expect(run.report.cases[0]!.observed).toMatch(/giving up before listening/);
    expect(run.report.cases[2]!.reason).toMatch(/not run: the target could not be started \(2 attempts\)/);
    expect(run.unreachable).toBe(true);
  });

  it('never prints its ready line: ERROR naming startTimeoutMs, without waiting for it once per case', async () => {
    const { run, ms } = await againstHostile('never-ready', 'ping-liveness', pingCases, { startTimeoutMs: 500 });
    expect(run.report.cases.every((c) => c.verdict === 'ERROR')).toBe(true);
    expect(run.report.cases[0]!.reason).toMatch(/not ready within startTimeoutMs=500/);
    expect(run.unreachable).toBe(true);
    expect(ms).toBeLessThan(5000);
  });

  it('accepts and never answers: each case is a timeout ERROR, never a pass', async () => {
    const { run } = await againstHostile('silent');
    expect(run.report.cases.map((c) => c.verdict)).toEqual(['ERROR', 'ERROR', 'ERROR']);
    for (const c of run.report.cases) {
      expect(c.reason).toMatch(/^timeout: .*nothing arrived within 400 ms/);
      expect(c.step).toMatch(/^step \d+ \(expect: (c1|model)/);
    }
    expect(run.unreachable).toBe(false);
  });

  it('floods its stdout and stderr (300 MB): verdicts as for a silent server, output tails kept small, memory bounded', async () => {
    const { run, rssGrowthBytes } = await againstHostile('flood-output');
    expect(run.report.cases.map((c) => c.verdict)).toEqual(['ERROR', 'ERROR', 'ERROR']);
    expect(run.report.cases[0]!.reason).toMatch(/timeout/);
    expect(rssGrowthBytes).toBeLessThan(150 * MiB);
  });

  it('floods every connection with valid messages (300 MB): FAIL with what arrived, connection cut at the byte limit, memory bounded', async () => {
    const { run, rssGrowthBytes } = await againstHostile('flood-socket');
    expect(run.report.cases.map((c) => c.verdict)).toEqual(['FAIL', 'FAIL', 'FAIL']);
    expect(run.report.cases[0]!.observed).toMatch(/"mtype":5/);
    expect(rssGrowthBytes).toBeLessThan(150 * MiB);
  });

  it('sends random bytes: FAIL, the bytes are not a message of the protocol', async () => {
    const { run, rssGrowthBytes } = await againstHostile('random-bytes');
    expect(run.report.cases.map((c) => c.verdict)).toEqual(['FAIL', 'FAIL', 'FAIL']);
    expect(run.report.cases[0]!.reason).toMatch(/not a message of the protocol/);
    expect(rssGrowthBytes).toBeLessThan(150 * MiB);
  });

  it('sends a frame that claims to be 2 GiB (protobuf, length-delimited): FAIL naming maxFrameBytes, nothing allocated for it', async () => {
    const { run, rssGrowthBytes } = await againstHostile('huge-frame', 'offline-queue', ['oq/create-account', 'oq/quit']);
    expect(run.report.cases.map((c) => c.verdict)).toEqual(['FAIL', 'FAIL']);
    expect(run.report.cases[0]!.reason).toMatch(/exceeds maxFrameBytes=1048576/);
    expect(rssGrowthBytes).toBeLessThan(100 * MiB);
  });

  it('half-closes every connection at once: FAIL, the connection closed before the reply', async () => {
    const { run } = await againstHostile('half-close');
    expect(run.report.cases.map((c) => c.verdict)).toEqual(['FAIL', 'FAIL', 'FAIL']);
    expect(run.report.cases[0]!.reason).toMatch(/the connection closed before the expected message arrived/);
  });

  it('crashes on the first connection: each case is an ERROR blaming the crash with its exit code, and the target is restarted for the next', async () => {
    const { run } = await againstHostile('crash-on-connect');
    expect(run.report.cases.map((c) => c.verdict)).toEqual(['ERROR', 'ERROR', 'ERROR']);
    for (const c of run.report.cases) expect(c.reason).toMatch(/the target crashed during step \d+ .*\(exit code 70\)/);
    expect(run.unreachable).toBe(false);
  });
});
