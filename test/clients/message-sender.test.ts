/**
 * Who a message is shown from: an `expect` step's `from` is compared with the sender the adapter
 * reads (its `(?<from>…)` group). A register-exit client that shows every message as from itself
 * (test/fixtures/clients/register-exit-wrong-sender.py) fails a case that states the sender, and the
 * client fuzzer (whose expectations state it) finds it; the example client passes the same case.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/program.js';
import { loadAdapterFile } from '../../src/conformance/clients/adapter.js';
import { parseClientSuite } from '../../src/conformance/clients/load-client-suite.js';
import { runClientSuite } from '../../src/conformance/clients/run-client-suite.js';
import { protosimLauncher } from '../../src/conformance/managed-process.js';
import { ScenarioError } from '../../src/scenario/load.js';

const root = resolve(__dirname, '../..');
const wrongSender = resolve(root, 'test/fixtures/clients/register-exit-wrong-sender.yaml');
const example = resolve(root, 'adapters/register-exit.yaml');
const dir = mkdtempSync(join(tmpdir(), 'protosim-sender-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const suiteText = (from: string): string => `kind: client-suite
version: 1
suite: test/sender
title: who a message is shown from
protocol: register-exit
adapter: ${example}
server:
  command: ['{protosim}', serve, register-exit, --port, '{port}']
expectTimeoutMs: 3000
cases:
  - id: test/sender/from
    title: a message shows from its sender
    steps:
      - start: [c1, c2]
      - expect: c1
        kind: joined
      - expect: c2
        kind: joined
      - wait: 300
      - type: c1
        to: c2
        text: hello there
      - expect: c2
        kind: message
        text: hello there
        from: ${from}
`;

async function runWith(adapter: string, from: string) {
  const report = await runClientSuite(parseClientSuite(suiteText(from), 'sender.yaml', dir), { adapter: loadAdapterFile(adapter), protosimLauncher: protosimLauncher() });
  return report.cases[0]!;
}

describe('expect ... from: who a message is shown from', () => {
  it('passes a client that shows the sender, fails one that shows the wrong sender', async () => {
    expect((await runWith(example, 'c1')).verdict).toBe('PASS');
    const bad = await runWith(wrongSender, 'c1');
    expect(bad.verdict).toBe('FAIL');
    expect(bad.reason).toMatch(/expected c2 to show a message "hello there" from c1/);
    expect(bad.observed).toMatch(/"hello there" \(from c2\)/);
  }, 30_000);

  it('is refused on a kind other than message', () => {
    const text = suiteText('c1').replace('kind: message\n        text: hello there\n', 'kind: refused\n');
    expect(() => parseClientSuite(text, 'sender.yaml', dir)).toThrow(ScenarioError);
    expect(() => parseClientSuite(text, 'sender.yaml', dir)).toThrow(/from is only for kind: message/);
  });

  it('protosim fuzz finds the wrong sender (its expectations state from), and the saved case fails on replay', async () => {
    let out = '';
    let err = '';
    const saved = join(dir, 'found.yaml');
    const io = { stdout: (s: string) => (out += s), stderr: (s: string) => (err += s), cwd: dir };
    const code = await runCli(['fuzz', 'register-exit', '--adapter', wrongSender, '--seed', '1', '--runs', '4', '--time-budget', '5', '--confirm', '1', '--save-case', saved, '--format', 'json', '--no-progress'], io);
    expect(code, out + err).toBe(1);
    const finding = (JSON.parse(out) as { finding: { result: { reason: string } } }).finding;
    expect(finding.result.reason).toMatch(/ from c\d/);
    const replay = await runCli(['run', saved, '--no-progress'], { ...io, stdout: () => undefined });
    expect(replay).toBe(1);
  }, 90_000);
});
