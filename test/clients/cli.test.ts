/**
 * The CLI of client programs: `adapter check`, `run <client suite>` with reports, and bad input.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/program.js';

const root = resolve(__dirname, '../..');

async function cli(args: string[], cwd = root): Promise<{ code: number; out: string }> {
  let out = '';
  const code = await runCli(args, { stdout: (s) => (out += s), stderr: (s) => (out += s), cwd });
  return { code, out };
}

describe('protosim adapter check', () => {
  it('passes for a shipped adapter, naming the line each pattern matched', async () => {
    const r = await cli(['adapter', 'check', 'adapters/status-handshake-fixed.yaml', '--var', 'pollMs=50', '--var', 'leaseMs=500']);
    expect(r.out).toMatch(/ok {5}message +c\d: "Other user: adapter check one \d"/);
    expect(r.out).toMatch(/ok {5}serverBusy +c3: "The server is currently in use; try again later"/);
    expect(r.out).toMatch(/ok {5}peerLeft +c2: "The other user has left the conversation; closing\."/);
    expect(r.out).toMatch(/adapter check passed/);
    expect(r.code).toBe(0);
  });

  it('fails for an adapter whose patterns do not fit the program, showing the lines no pattern matched', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'protosim-adapter-'));
    const file = join(dir, 'wrong.yaml');
    writeFileSync(
      file,
      `adapter: wrong\nprotocol: lock-alternation\ncommand: ["{node}", "${join(root, 'examples/clients/lock-alternation.mjs')}", "{url}", "--poll-ms", "50"]\npatterns:\n  prompt: 'Enter message: $'\n  message: '^From client \\d: (.*)$'\n  waiting: '^Waiting for client \\d'\nreplyTimeoutMs: 1500\n`,
    );
    const r = await cli(['adapter', 'check', file]);
    expect(r.out).toMatch(/NEVER +message/);
    expect(r.out).toMatch(/showed no message within/);
    expect(r.out).toMatch(/lines no pattern matched:[\s\S]*"Client \d: adapter check one 1"/);
    expect(r.code).toBe(1);
  });
});

describe('protosim run <client suite>', () => {
  it('runs the selected cases against the adapter given and writes JUnit and JSON reports', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'protosim-clients-'));
    const r = await cli([
      'run',
      join(root, 'scenarios/conformance/lock-alternation/clients.yaml'),
      '--adapter',
      join(root, 'adapters/lock-alternation.yaml'),
      '--case',
      'lock-alternation/client/happy-path,lock-alternation/client/leftover-keys',
      '--report',
      `junit=${join(dir, 'junit.xml')}`,
      '--report',
      `json=${join(dir, 'report.json')}`,
    ], dir);
    expect(r.out).toMatch(/PASS {2}lock-alternation\/client\/happy-path/);
    expect(r.out).toMatch(/FAIL {2}lock-alternation\/client\/leftover-keys/);
    expect(r.out).toMatch(/FAILED: 1 passed, 1 failed, 0 errors, 0 skipped; score 2\/3/);
    expect(r.code).toBe(1);
    const junit = readFileSync(join(dir, 'junit.xml'), 'utf8');
    expect(junit).toMatch(/<testcase[^>]*name="[^"]*happy-path/);
    expect(junit).toMatch(/<failure[^>]*>[\s\S]*stale message of yesterday/);
    const json = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as { cases: { id: string; verdict: string }[] };
    expect(json.cases.map((c) => c.verdict)).toEqual(['PASS', 'FAIL']);
  });

  it('a strict case (how a program meets a server error the protocol never sends) runs only with --strict, and says so', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'protosim-clients-'));
    const args = ['run', join(root, 'scenarios/conformance/lock-alternation/clients.yaml'), '--adapter', join(root, 'adapters/lock-alternation.yaml'), '--tag', 'server-fault'];
    const without = await cli(args, dir);
    expect(without.out).toContain('1 strict-only case(s) not run (lock-alternation/client/server-faults)');
    expect(without.out).not.toMatch(/(PASS|FAIL|ERROR) {2}lock-alternation\/client\/server-faults/);
    const strict = await cli([...args, '--strict'], dir);
    expect(strict.out).toMatch(/(PASS|FAIL) {2}lock-alternation\/client\/server-faults/);
    expect(strict.out).not.toContain('strict-only case(s) not run');
  });

  it('a bad client suite is refused with file:line:col (exit 2)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'protosim-clients-'));
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, `suite: clients/x\ntitle: x\nprotocol: lock-alternation\nadapter: ${join(root, 'adapters/lock-alternation.yaml')}\ncases:\n  - id: x/one\n    title: one\n    steps:\n      - type: c1\n        text: hi\n      - start: c1\n        kind: prompt\n`);
    const r = await cli(['run', file], dir);
    expect(r.code).toBe(2);
    expect(r.out).toMatch(/bad\.yaml:12:15: cases\[0\]\.steps\[1\]\.kind: kind is not an option of start; start takes together/);
    writeFileSync(file, `suite: clients/x\ntitle: x\nprotocol: lock-alternation\nadapter: ${join(root, 'adapters/lock-alternation.yaml')}\ncases:\n  - id: x/one\n    title: one\n    steps:\n      - type: c1\n        text: hi\n`);
    const early = await cli(['run', file], dir);
    expect(early.code).toBe(2);
    expect(early.out).toMatch(/bad\.yaml:9:15: cases\[0\]\.steps\[0\]\.type: client "c1" is used before a start step starts it/);
  });
});
