/**
 * CI's conformance job: every reference server passes its protocol's suite, and every named defect
 * of every server (`protosim serve --list-defects`) makes the suite fail at least one case: the one
 * this table names (docs/conformance.md has the same table). A defect added to the catalogue
 * without a catching case turns the first test red.
 */
import { describe, expect, it } from 'vitest';
import { runSuite } from '../../src/conformance/run-suite.js';
import type { SuiteProtocol } from '../../src/scenario/suite-schema.js';
import { defectsFor, startServer, type ServerOptions } from '../../src/servers/index.js';
import type { CaseResult } from '../../src/report/case-result.js';
import { shippedSuite, withTarget } from './suite-fixture.js';

/** Defect -> the case that catches it (with its protocol). Keep in step with docs/conformance.md. */
const catchingCase: Record<string, { protocol: SuiteProtocol; caseId: string; strict?: boolean; bounds?: boolean; memory?: boolean }> = {
  'kv/nonatomic-kv': { protocol: 'kv', caseId: 'kv/concurrent-sets' },
  'kv/no-trailing-newline': { protocol: 'kv', caseId: 'kv/exact-bodies' },
  'kv/shared-stores': { protocol: 'kv', caseId: 'kv/separate-stores', strict: true },
  'ping-liveness/no-heartbeat-timeout': { protocol: 'ping-liveness', caseId: 'ping/silent-session-dropped' },
  'ping-liveness/trust-session-id': { protocol: 'ping-liveness', caseId: 'ping/spoofed-session-chat' },
  'ping-liveness/silent-version-mismatch': { protocol: 'ping-liveness', caseId: 'ping/version-mismatch' },
  'ping-liveness/allow-double-login': { protocol: 'ping-liveness', caseId: 'ping/double-login' },
  'register-exit/trust-sender-field': { protocol: 'register-exit', caseId: 're/spoofed-from' },
  'register-exit/trust-exit-field': { protocol: 'register-exit', caseId: 're/spoofed-exit' },
  'register-exit/duplicate-name-replaces': { protocol: 'register-exit', caseId: 're/duplicate-name' },
  'register-exit/crash-on-disconnect': { protocol: 'register-exit', caseId: 're/vanished-client-server-survives' },
  'register-exit/keep-vanished-client': { protocol: 'register-exit', caseId: 're/vanished-client-forgotten' },
  'offline-queue/drop-offline-queue': { protocol: 'offline-queue', caseId: 'oq/offline-queue' },
  'offline-queue/reorder-queue': { protocol: 'offline-queue', caseId: 'oq/offline-queue' },
  'offline-queue/trust-sender-field': { protocol: 'offline-queue', caseId: 'oq/spoofed-sender' },
  'offline-queue/lose-back-to-back': { protocol: 'offline-queue', caseId: 'oq/back-to-back' },
  'offline-queue/deliver-to-deleted': { protocol: 'offline-queue', caseId: 'oq/deleted-receives-nothing' },
  'offline-queue/regex-pattern': { protocol: 'offline-queue', caseId: 'oq/list-pattern-is-not-a-regex' },
  // A push written to a connection that was open and then broke may count as delivered (PROTOCOLS.md
  // allows it, and correct independent servers do so): only --strict (the reference server's
  // delivery-confirmation rule) tells this defect apart.
  'register-exit/one-read-one-message': { protocol: 'register-exit', caseId: 're/split-frames' },
  'ping-liveness/one-read-one-message': { protocol: 'ping-liveness', caseId: 'ping/split-frames' },
  'offline-queue/one-read-one-message': { protocol: 'offline-queue', caseId: 'oq/split-frames' },
  'offline-queue/drop-on-dead-connection': { protocol: 'offline-queue', caseId: 'oq/dead-connection-queues', strict: true },
  // A resource leak: caught by the protocol's named bound (connections-released), which --bounds checks.
  'register-exit/keep-closed-connections': { protocol: 'register-exit', caseId: 're/route', bounds: true },
  'ping-liveness/keep-closed-connections': { protocol: 'ping-liveness', caseId: 'ping/chat-echo', bounds: true },
  'offline-queue/keep-closed-connections': { protocol: 'offline-queue', caseId: 'oq/login', bounds: true },
  // A memory leak: caught by the soak case of memory-returned, on a server in a process of its own
  // (a command target: an in-process server's memory is the harness's too).
  'register-exit/keep-connection-buffers': { protocol: 'register-exit', caseId: 're/soak-users-leave', bounds: true, memory: true },
  'ping-liveness/keep-connection-buffers': { protocol: 'ping-liveness', caseId: 'ping/soak-sessions-end', bounds: true, memory: true },
  'offline-queue/keep-connection-buffers': { protocol: 'offline-queue', caseId: 'oq/soak-accounts-deleted', bounds: true, memory: true },
};

/** Server options that make the suites quick: a short heartbeat for ping-liveness. */
function serverOptions(protocol: SuiteProtocol): ServerOptions {
  return protocol === 'ping-liveness' ? { heartbeatTimeoutMs: 800 } : {};
}

/** Runs a protocol's suite against an in-process reference server (with a defect, or none). */
async function runAgainst(protocol: SuiteProtocol, options: ServerOptions = {}, codec?: string, framing?: string, vars: Record<string, number> = {}, caseIds?: string[]): Promise<CaseResult[]> {
  const server = await startServer(protocol, { port: 0, ...serverOptions(protocol), ...options });
  try {
    const run = await runSuite(shippedSuite(protocol), { target: server.address, codec, framing, replyTimeoutMs: 1000, vars, ...(caseIds !== undefined ? { caseIds } : {}) });
    return run.report.cases;
  } finally {
    await server.close();
  }
}

const summary = (cases: CaseResult[]): string[] => cases.filter((c) => c.verdict !== 'PASS').map((c) => `${c.verdict} ${c.id}: ${c.reason}`);

describe('the defect table', () => {
  it('names a catching case, in that protocol\'s suite, for every defect of every server', () => {
    const missing = defectsFor()
      .map((d) => `${d.protocol}/${d.name}`)
      .filter((key) => catchingCase[key] === undefined);
    expect(missing, 'defects without a catching case in this table').toEqual([]);
    for (const [key, { protocol, caseId }] of Object.entries(catchingCase)) {
      expect(defectsFor().some((d) => `${d.protocol}/${d.name}` === key), `${key} is in the catalogue`).toBe(true);
      expect(shippedSuite(protocol).spec.cases.map((c) => c.id), `${key}: the suite has ${caseId}`).toContain(caseId);
    }
  });
});

describe.concurrent('every reference server passes its suite (address targets)', () => {
  const variants: { protocol: SuiteProtocol; codec?: string; framing?: string; options?: ServerOptions }[] = [
    { protocol: 'kv' },
    { protocol: 'ping-liveness' },
    { protocol: 'register-exit', codec: 'json-lines' },
    { protocol: 'register-exit', codec: 'gob', options: { codec: 'gob' } },
    { protocol: 'offline-queue', framing: 'length-delimited' },
    { protocol: 'offline-queue', framing: 'raw', options: { framing: 'raw' } },
  ];
  for (const v of variants) {
    it(`${v.protocol}${v.codec ? ` ${v.codec}` : ''}${v.framing ? ` ${v.framing}` : ''}`, async () => {
      // with the named bounds checked too (a correct server gives back every connection its clients close)
      const cases = await runAgainst(v.protocol, v.options, v.codec, v.framing, { bounds: 1 });
      expect(summary(cases.filter((c) => c.verdict !== 'SKIP'))).toEqual([]);
      // Process faults need a command target; on an address they are skipped, and say why. So is a
      // soak: the in-process server's memory cannot be told from the harness's (test/conformance/memory-returned.test.ts).
      for (const c of cases.filter((x) => x.verdict === 'SKIP')) expect(c.reason).toMatch(/needs a command target|a read is a message|^memory-returned not checked: the target runs inside protosim's own process/);
      expect(cases.filter((c) => c.verdict === 'PASS').length).toBeGreaterThan(10);
    });
  }
});

describe('a command target: protosim serve started, stopped, killed, paused and restarted by the suite', () => {
  it('register-exit over gob passes every case, the process faults included', async () => {
    const run = await runSuite(shippedSuite('register-exit'), { codec: 'gob', replyTimeoutMs: 1000 });
    expect(summary(run.report.cases)).toEqual([]);
    expect(run.report.cases.find((c) => c.id === 're/server-shutdown')?.verdict).toBe('PASS');
    expect(run.report.cases.find((c) => c.id === 're/restart-fresh')?.verdict).toBe('PASS');
    expect(run.report.cases.find((c) => c.id === 're/paused-server')?.verdict).toBe('PASS');
    expect(run.report.target).toContain('serve register-exit');
  });
});

describe.concurrent('every defect is caught by the case the table names', () => {
  for (const defect of defectsFor()) {
    const key = `${defect.protocol}/${defect.name}`;
    it(key, async () => {
      const entry = catchingCase[key];
      expect(entry, `${key} has a catching case`).toBeDefined();
      let cases: CaseResult[];
      if (defect.name === 'crash-on-disconnect') {
        // The crash is a process exit: run the server as a command, so the harness sees it die,
        // blames the case, and restarts it for the next one.
        const suite = withTarget(shippedSuite('register-exit'), {
          command: ['{protosim}', 'serve', 'register-exit', '--port', '{port}', '--defect', 'crash-on-disconnect'],
          port: 'auto',
          ready: { stdout: 'listening on (\\S+)' },
        });
        cases = (await runSuite(suite, { replyTimeoutMs: 1000, caseIds: [entry!.caseId, 're/route'] })).report.cases;
        const crashed = cases.find((c) => c.id === entry!.caseId)!;
        expect(crashed.reason).toMatch(/the target crashed/);
        expect(crashed.observed).toMatch(/vanished without Exit|exit code 70/);
      } else if (entry!.memory === true) {
        // The suite's own command target, with the defect.
        const suite = shippedSuite(defect.protocol as SuiteProtocol);
        const target = suite.spec.target as { command: string[] };
        cases = (await runSuite(withTarget(suite, { ...target, command: [...target.command, '--defect', defect.name] } as typeof suite.spec.target), { replyTimeoutMs: 1000, vars: { bounds: 1 }, caseIds: [entry!.caseId] })).report.cases;
      } else {
        cases = await runAgainst(defect.protocol as SuiteProtocol, { defect: defect.name }, undefined, undefined, { ...(entry!.strict === true ? { strict: 1 } : {}), ...(entry!.bounds === true ? { bounds: 1 } : {}) }, entry!.bounds === true ? [entry!.caseId] : undefined);
      }
      const caught = cases.find((c) => c.id === entry!.caseId);
      expect(caught, `${entry!.caseId} ran`).toBeDefined();
      expect(caught!.verdict, `${key}: ${entry!.caseId} must not pass`).not.toBe('PASS');
      expect(caught!.reason.length).toBeGreaterThan(10);
      if (entry!.memory === true) expect(caught!.reason).toMatch(/^memory-returned: the target's memory grew by/);
      else if (entry!.bounds === true) expect(caught!.reason).toMatch(/^connections-released: the target kept/);
    });
  }
});
