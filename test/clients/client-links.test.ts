/**
 * Link faults on client programs (src/conformance/clients/client-links.ts): in a whole live system,
 * `fault: merge` puts the server's next messages to one program in one write, through that
 * program's own proxy. A client that decodes one message per read (the seed's register-exit client's
 * flaw, a known-bad program written here) loses the second and third of three; its twin, which
 * reads lines, shows all three. Link faults where they cannot apply are refused when the suite loads.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadAdapterFile } from '../../src/conformance/clients/adapter.js';
import { loadClientSuiteFile } from '../../src/conformance/clients/load-client-suite.js';
import { runClientSuite } from '../../src/conformance/clients/run-client-suite.js';
import { protosimLauncher } from '../../src/conformance/managed-process.js';

const repoRoot = resolve(import.meta.dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'protosim-links-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A register-exit client over JSON lines; `one-per-read` keeps only the first line of each read. */
const client = String.raw`
import json, os, socket, sys, threading
host, port, name, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
s = socket.create_connection((host, port))
s.sendall((json.dumps({"From": name, "Register": True}) + "\n").encode())
print("Registered as " + name, flush=True)
def reader():
    buf = b""
    while True:
        data = s.recv(65536)
        if not data:
            print("Server has shut down", flush=True)
            os._exit(0)
        if mode == "one-per-read":
            lines = [data.split(b"\n")[0]]
        else:
            buf += data
            *lines, buf = buf.split(b"\n")
        for line in lines:
            if line.strip():
                m = json.loads(line)
                print("%s: %s" % (m.get("From"), m.get("Content")), flush=True)
threading.Thread(target=reader, daemon=True).start()
for line in sys.stdin:
    line = line.rstrip("\n")
    if line == "EXIT":
        break
    if line.startswith("send "):
        _, to, text = line.split(" ", 2)
        s.sendall((json.dumps({"From": name, "To": to, "Content": text}) + "\n").encode())
`;

function adapter(mode: string): string {
  const file = join(dir, `adapter-${mode}.yaml`);
  writeFileSync(join(dir, 'client.py'), client);
  writeFileSync(
    file,
    [
      'kind: adapter',
      'version: 1',
      `adapter: links-${mode}`,
      'protocol: register-exit',
      `command: [/usr/bin/python3, client.py, '{host}', '{port}', '{name}', ${mode}]`,
      'patterns:',
      "  message: '^(?<from>[a-z]\\S*): (?<text>.*)$'",
      "  joined: '^Registered as '",
      "  serverShutdown: '^Server has shut down'",
      'input:',
      '  message: "send {to} {text}\\n"',
      '  quit: "EXIT\\n"',
    ].join('\n'),
  );
  return file;
}

/** The shipped register-exit client suite, with its adapter path made absolute. */
function suiteFile(edit: (text: string) => string = (t) => t): string {
  const file = join(dir, `suite-${Math.random().toString(36).slice(2)}.yaml`);
  const text = readFileSync(resolve(repoRoot, 'scenarios/conformance/register-exit/clients.yaml'), 'utf8').replace(/^adapter: .*$/m, `adapter: ${resolve(repoRoot, 'adapters/register-exit.yaml')}`);
  writeFileSync(file, edit(text));
  return file;
}

/** Three messages to bob a moment apart (so that, unmerged, each comes in a read of its own), optionally merged. */
function spacedCase(merge: boolean): string {
  const type = (n: string) => `      - type: alice\n        to: bob\n        text: ${n} of three\n      - wait: 300\n`;
  const expect = (n: string) => `      - expect: bob\n        kind: message\n        text: ${n} of three\n`;
  return [
    '  - id: links/spaced',
    '    title: three messages a moment apart',
    '    steps:',
    '      - start: [alice, bob]',
    // the program says it registered before the server has it: give the server a moment, as the shipped case does
    '      - expect: alice\n        kind: joined\n      - expect: bob\n        kind: joined\n      - wait: 200',
    ...(merge ? ['      - fault: merge\n        client: bob\n        messages: 3'] : []),
    `${type('first')}${type('second')}${type('third')}${expect('first')}${expect('second')}${expect('third')}`,
  ].join('\n');
}

async function run(mode: string, caseId: string, extra = '') {
  const report = await runClientSuite(loadClientSuiteFile(suiteFile((t) => `${t.trimEnd()}\n${extra}\n`)), {
    adapter: loadAdapterFile(adapter(mode)),
    protosimLauncher: protosimLauncher(),
    caseIds: [caseId],
  });
  return report.cases[0]!;
}

describe('link faults on client programs: merge', () => {
  it('merge puts messages a moment apart in one write: a client that reads one message per read FAILs only then; its twin PASSes', async () => {
    // the control: unmerged, each message comes in a read of its own and the known-bad client copes
    const control = await run('one-per-read', 'links/spaced', spacedCase(false));
    expect(control.verdict, control.reason).toBe('PASS');
    const bad = await run('one-per-read', 'links/spaced', spacedCase(true));
    expect(bad.verdict, bad.reason).toBe('FAIL');
    expect(bad.reason).toMatch(/second of three/);
    const good = await run('lines', 'links/spaced', spacedCase(true));
    expect(good.verdict, good.reason).toBe('PASS');
  }, 90_000);

  it('the shipped quick-succession case merges its three messages: the known-bad client FAILs, its twin PASSes', async () => {
    const bad = await run('one-per-read', 'register-exit/system/quick-succession');
    expect(bad.verdict, bad.reason).toBe('FAIL');
    const good = await run('lines', 'register-exit/system/quick-succession');
    expect(good.verdict, good.reason).toBe('PASS');
  }, 60_000);

  it('link faults are refused where they cannot apply: without client:, in a suite protosim serves itself', () => {
    const noClient = suiteFile((t) => t.replace('      - fault: merge\n        client: bob\n', '      - fault: merge\n'));
    expect(() => loadClientSuiteFile(noClient)).toThrow(/fault merge is on one program's link: name it with client:/);
    const imSuite = join(dir, 'im.yaml');
    writeFileSync(
      imSuite,
      readFileSync(resolve(repoRoot, 'scenarios/conformance/lock-alternation/clients.yaml'), 'utf8').replace(/^( {6}- start: .*)$/m, '$1\n      - fault: merge\n        client: c1'),
    );
    expect(() => loadClientSuiteFile(imSuite)).toThrow(/fault merge is on the link between a program and the suite's server command; this suite has no server command/);
  });
});
