/**
 * The ping-liveness suite over QUIC (issue 17): the suite file unchanged, `--target quic://...`,
 * against protosim's own server on the QUIC transport (`serve ping-liveness --transport quic`) and
 * against the independent quic-go servers of corpus/ping-liveness-quic. Every named defect of the
 * reference server fails its catching case over QUIC as over TCP, and the quic-go twins fail the
 * cases of their flaws. Every case runs over QUIC, the one that loses a message in transit too
 * (through the QUIC message proxy, src/conformance/proxy/quic-proxy.ts).
 */
import { afterAll, beforeAll, describe, expect, it, type ExpectStatic } from 'vitest';
import { runSuite } from '../../src/conformance/run-suite.js';
import { defectsFor, startServer, type ServerHandle, type ServerOptions } from '../../src/servers/index.js';
import type { CaseResult } from '../../src/report/case-result.js';
import { shippedSuite } from '../conformance/suite-fixture.js';
import { GoPrograms, goMissing, type GoProgram } from './go-programs.js';

/** The case that catches each defect of the reference server (as in test/conformance/reference-servers.test.ts). */
const catchingCase: Record<string, string> = {
  'no-heartbeat-timeout': 'ping/silent-session-dropped',
  'trust-session-id': 'ping/spoofed-session-chat',
  'silent-version-mismatch': 'ping/version-mismatch',
  'allow-double-login': 'ping/double-login',
  'one-read-one-message': 'ping/split-frames',
};

/**
 * The suite's own heartbeat (800 ms): a shorter one lets a session expire between two steps on a
 * loaded machine, and the model then rightly accepts what a defect does (a second login).
 */
const quickServer: ServerOptions = { transport: 'quic', heartbeatTimeoutMs: 800 };

async function runOverQuic(address: string, caseIds?: string[]): Promise<CaseResult[]> {
  const run = await runSuite(shippedSuite('ping-liveness'), { target: address, replyTimeoutMs: 1000, ...(caseIds ? { caseIds } : {}) });
  return run.report.cases;
}

const notPassed = (cases: CaseResult[]): string[] => cases.filter((c) => c.verdict !== 'PASS' && c.verdict !== 'SKIP').map((c) => `${c.verdict} ${c.id}: ${c.reason}`);

function expectEveryCaseRun(cases: CaseResult[], expect: ExpectStatic): void {
  expect(cases.filter((c) => c.verdict === 'SKIP').map((c) => `${c.id}: ${c.reason}`)).toEqual([]);
  expect(cases.find((c) => c.id === 'ping/dropped-message')?.verdict).toBe('PASS');
  expect(cases.filter((c) => c.verdict === 'PASS').length).toBeGreaterThanOrEqual(20);
}

describe.concurrent('the ping-liveness suite over QUIC against serve --transport quic', () => {
  it('passes every case, the lost message through the QUIC message proxy too', async ({ expect }) => {
    const server = await startServer('ping-liveness', quickServer);
    try {
      expect(server.address).toMatch(/^quic:\/\/127\.0\.0\.1:\d+$/);
      const cases = await runOverQuic(server.address);
      expect(notPassed(cases)).toEqual([]);
      expectEveryCaseRun(cases, expect);
    } finally {
      await server.close();
    }
  }, 60_000);

  describe.concurrent('every named defect fails its case over QUIC', () => {
    // keep-closed-connections is a TCP socket leak (CLOSE_WAIT): serve --transport quic refuses it (test/servers/keep-closed-connections.test.ts);
    // keep-connection-buffers is caught by memory-returned, which needs the server in a process of its own (test/conformance/reference-servers.test.ts)
    for (const defect of defectsFor('ping-liveness').filter((d) => d.name !== 'keep-closed-connections' && d.name !== 'keep-connection-buffers')) {
      it(defect.name, async ({ expect }) => {
        const caseId = catchingCase[defect.name];
        expect(caseId, `${defect.name} has a catching case`).toBeDefined();
        const server = await startServer('ping-liveness', { ...quickServer, defect: defect.name });
        try {
          const cases = await runOverQuic(server.address, [caseId!]);
          expect(cases.map((c) => c.id)).toEqual([caseId]);
          expect(cases[0]!.verdict, `${defect.name}: ${caseId} must not pass: ${cases[0]!.reason}`).toMatch(/FAIL|ERROR/);
        } finally {
          await server.close();
        }
      }, 30_000);
    }
  });
});

const missing = goMissing();
const go = missing ? undefined : new GoPrograms();

describe.skipIf(missing !== '').concurrent(`the ping-liveness suite over QUIC against the quic-go servers${missing ? ` (skipped: ${missing})` : ''}`, () => {
  const servers = new Map<GoProgram, number>();
  beforeAll(async () => {
    await go!.build(['server-go-a', 'server-go-faithful', 'server-go-defective']);
    for (const program of ['server-go-a', 'server-go-faithful', 'server-go-defective'] as const) servers.set(program, (await go!.startServer(program, ['-t', '0.8'])).port);
  }, 180_000);
  afterAll(async () => {
    await go!.cleanup();
    expect(go!.runningCount()).toBe(0);
  });

  it('server-go-a (correct) passes', async ({ expect }) => {
    const cases = await runOverQuic(`quic://127.0.0.1:${servers.get('server-go-a')}`);
    expect(notPassed(cases)).toEqual([]);
    expectEveryCaseRun(cases, expect);
  }, 60_000);

  it('server-go-faithful (session ids from the payload, sessions outliving their connection) fails the identity cases', async ({ expect }) => {
    const ids = ['ping/spoofed-session-chat', 'ping/spoofed-session-logout'];
    const cases = await runOverQuic(`quic://127.0.0.1:${servers.get('server-go-faithful')}`, ids);
    for (const c of cases) expect(c.verdict, `${c.id}: ${c.reason}`).toBe('FAIL');
  }, 30_000);

  it('server-go-defective (a version failure without ERROR 5) fails ping/version-mismatch', async ({ expect }) => {
    const cases = await runOverQuic(`quic://127.0.0.1:${servers.get('server-go-defective')}`, ['ping/version-mismatch', 'ping/login']);
    expect(cases.find((c) => c.id === 'ping/login')!.verdict).toBe('PASS');
    expect(cases.find((c) => c.id === 'ping/version-mismatch')!.verdict).toMatch(/FAIL|ERROR/);
  }, 30_000);
});

describe.concurrent('quic:// targets are checked', () => {
  let server: ServerHandle | undefined;
  afterAll(() => server?.close());

  it('refuses a non-loopback QUIC address, an unknown parameter and a codec QUIC does not carry', async ({ expect }) => {
    const suite = shippedSuite('ping-liveness');
    await expect(runSuite(suite, { target: 'quic://10.0.0.1:4433' })).rejects.toThrow(/only loopback addresses/);
    await expect(runSuite(suite, { target: 'quic://127.0.0.1:4433?colour=red' })).rejects.toThrow(/unknown parameter "colour"/);
    await expect(runSuite(shippedSuite('offline-queue'), { target: 'quic://127.0.0.1:4433' })).rejects.toThrow(/cannot be reached over QUIC/);
  });

  it('an ALPN the server does not speak is an unreachable target (ERROR), never a pass', async ({ expect }) => {
    server = await startServer('ping-liveness', quickServer);
    const cases = await runOverQuic(`${server.address}?alpn=not-echo`, ['ping/login']);
    expect(cases[0]!.verdict).toBe('ERROR');
    expect(cases[0]!.reason).toMatch(/unreachable: QUIC/);
  }, 20_000);

  it('verifies the certificate with a CA when asked (and fails with the wrong server name)', async ({ expect }) => {
    const { mkdtempSync, rmSync, writeFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const { makeSelfSignedCertificate } = await import('../../src/transports/quic-transport.js');
    const certificate = await makeSelfSignedCertificate();
    const dir = mkdtempSync(join(tmpdir(), 'protosim-quic-ca-'));
    const verified = await startServer('ping-liveness', { ...quickServer, certificate });
    try {
      writeFileSync(join(dir, 'ca.pem'), certificate.cert);
      const ok = await runOverQuic(`${verified.address}?ca=${join(dir, 'ca.pem')}`, ['ping/login']);
      expect(ok[0]!.verdict, ok[0]!.reason).toBe('PASS');
      const wrongName = await runOverQuic(`${verified.address}?ca=${join(dir, 'ca.pem')}&server-name=elsewhere.example`, ['ping/login']);
      expect(wrongName[0]!.verdict).toBe('ERROR');
    } finally {
      await verified.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 20_000);
});
