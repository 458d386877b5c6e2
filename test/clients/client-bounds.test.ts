/**
 * The named bound of key-value client programs, `idle-requests` (src/models/live-bounds.ts): the
 * fixed example clients, which pass every case at their usual poll interval (./*-fixed.test.ts run
 * with the bounds on), fail it when they poll without pausing (`pollMs=0`) while waiting alone, and
 * only because of the bound: without `bounds` the same run passes.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { idleRequestsViolation } from '../../src/conformance/clients/idle-requests.js';
import type { ImRequestRecord } from '../../src/conformance/clients/im-server.js';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadAdapterFile } from '../../src/conformance/clients/adapter.js';
import { loadClientSuiteFile } from '../../src/conformance/clients/load-client-suite.js';
import { runClientSuite } from '../../src/conformance/clients/run-client-suite.js';
import { protosimLauncher } from '../../src/conformance/managed-process.js';

const root = resolve(__dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'protosim-client-bounds-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** `n` GETs of `client`, evenly from `fromMs` to `toMs`. */
function polls(client: string, n: number, fromMs: number, toMs: number, seq0 = 0): ImRequestRecord[] {
  return Array.from({ length: n }, (_, i) => ({ seq: seq0 + i, atMs: fromMs + ((toMs - fromMs) * i) / n, client, action: 'get', key: 'lock', store: '', reply: { status: 200, body: '1\n' } }));
}

describe('idle-requests, measured on the requests protosim\'s IM server recorded', () => {
  const bound = { perSecond: 100, windowMs: 250 };

  it('a program polling 400 times a second between two steps breaks it, and the reason says who, how many and what', () => {
    const v = idleRequestsViolation(polls('c2', 400, 1000, 2000), [0, 1000], 2500, bound);
    expect(v).toMatch(/^idle-requests: c2 made (9\d|100) requests in 250 ms while the case did nothing \(from \d+ ms; the bound is 100 per second\): GET lock$/);
  });

  it('polling every 20 ms holds it; so does a burst of 20 requests right after a step', () => {
    expect(idleRequestsViolation(polls('c1', 50, 0, 1000), [], 1000, bound)).toBeNull();
    expect(idleRequestsViolation([...polls('c1', 20, 500, 520), ...polls('c1', 10, 520, 1500, 20)], [500], 1500, bound)).toBeNull();
  });

  it('a stretch shorter than the window is not measured: a step that acts cuts it', () => {
    const flood = polls('c1', 60, 0, 200);
    expect(idleRequestsViolation(flood, [200], 400, bound)).toBeNull();
    expect(idleRequestsViolation(flood, [], 400, bound)).toMatch(/c1 made 60 requests/);
  });
});

/**
 * A case with a stretch where nothing happens for sure: c1 waits alone for 800 ms (a wait is not
 * a step that acts), polling for its peer; the shipped suite's own cases may act too often on a
 * loaded machine to leave a 250 ms stretch.
 */
function waitingAloneSuite(protocol: string): string {
  const file = join(dir, `${protocol}-waiting-alone.yaml`);
  const text = readFileSync(join(root, `scenarios/conformance/${protocol}/clients.yaml`), 'utf8')
    .replace(/^adapter: .*$/m, `adapter: ${join(root, 'adapters', `${protocol}-fixed.yaml`)}`)
    .replace(/^cases:[\s\S]*$/m, 'cases:\n  - id: waiting-alone\n    title: c1 waits alone\n    steps:\n      - start: c1\n      - expect: c1\n        kind: waiting\n      - wait: 800\n');
  writeFileSync(file, text);
  return file;
}

async function waitingAlone(protocol: string, pollMs: string, bounds: boolean): Promise<{ verdict: string; reason: string }> {
  const suite = loadClientSuiteFile(waitingAloneSuite(protocol));
  const report = await runClientSuite(suite, { adapter: loadAdapterFile(join(root, 'adapters', `${protocol}-fixed.yaml`)), vars: { pollMs }, io: 'pty', protosimLauncher: protosimLauncher(), bounds });
  return report.cases[0]!;
}

describe.each(['lock-alternation', 'status-handshake'] as const)('%s: the fixed example client waiting alone', (protocol) => {
  it('fails idle-requests when it polls without a pause (with the bounds on only), and holds it at its usual 50 ms', async () => {
    const flood = await waitingAlone(protocol, '0', true);
    expect(flood.verdict, flood.reason).toBe('FAIL');
    expect(flood.reason).toMatch(/^idle-requests: c1 made \d+ requests in 250 ms while the case did nothing/);
    const off = await waitingAlone(protocol, '0', false);
    expect(off.verdict, off.reason).toBe('PASS');
    const usual = await waitingAlone(protocol, '50', true);
    expect(usual.verdict, usual.reason).toBe('PASS');
  }, 60_000);
});
