/**
 * Bad input to `protosim grade` is refused before anything runs (exit 2), every problem of every
 * manifest at once with file:line:col; `--fail-under` turns a low score into exit 1.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/program.js';
import { scoreUnder } from '../../src/cli/commands/grade.js';
import { makeSuiteReport } from '../../src/report/case-result.js';
import { csvField, renderSummaryCsv } from '../../src/report/grade-summary.js';
import { loadSubmissions } from '../../src/conformance/grading/load-submissions.js';
import { programSpec } from '../../src/conformance/clients/adapter.js';
import { setWarningSink, undeclaredWarning } from '../../src/scenario/file-format.js';

const root = resolve(__dirname, '../..');
const serverSuite = join(root, 'scenarios/conformance/register-exit/suite.yaml');

/** Folders made by the tests, removed at the end (nothing is left in the temp folder). */
const made: string[] = [];
afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

/** A folder of submissions: name -> manifest text (written as protosim.yaml), or null for none. */
function submissions(manifests: Record<string, string | null>): string {
  const dir = mkdtempSync(join(tmpdir(), 'protosim-grade-input-'));
  made.push(dir);
  for (const [name, text] of Object.entries(manifests)) {
    mkdirSync(join(dir, name));
    if (text !== null) writeFileSync(join(dir, name, 'protosim.yaml'), text);
  }
  return dir;
}

async function grade(args: string[], cwd: string): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(['grade', ...args], { stdout: (s) => (out += s), stderr: (s) => (err += s), cwd });
  return { code, out, err };
}

describe('protosim grade: bad input', () => {
  it('reports every bad manifest at once with file:line:col and exits 2 before running anything', async () => {
    const dir = submissions({
      alice: 'name: alice\nserver:\n  comand: [node, server.mjs, "{port}"]\n',
      bob: 'server:\n  command: [node, server.mjs, "8080"]\n',
      carol: 'server:\n  command: [node, s.mjs, "{port}"]\nclient:\n  adapter: a.yaml\n',
      dave: 'server:\n  command: [node, s.mjs, "{port}"]\n  ready: { stdout: "listening (" }\n',
    });
    const r = await grade([dir, '--suite', serverSuite, '--out', join(dir, '_out')], dir);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/alice\/protosim\.yaml:3:3: server\.comand: unknown field "comand".*did you mean "command"/);
    expect(r.err).toMatch(/bob\/protosim\.yaml:2:12: server\.command: the server must listen on the port protosim gives it: put \{port\}/);
    expect(r.err).toMatch(/carol\/protosim\.yaml:1:1: a manifest needs exactly one of server/);
    expect(r.err).toMatch(/dave\/protosim\.yaml:3:20: server\.ready\.stdout: not a valid regular expression/);
    expect(r.err).not.toMatch(/at .*\.ts:\d+/); // no stack trace
    expect(r.out).not.toMatch(/grading/);
  });

  it('points into the manifest for an inline adapter, and at a missing adapter file', async () => {
    const dir = submissions({
      inline: [
        'client:',
        '  adapter:',
        '    adapter: inline',
        '    protocol: lock-alternation',
        '    command: ["{node}", c.mjs, "{url}"]',
        '    patterns:',
        '      prompt: "> $"',
        '      message: "^(unclosed"',
        '',
      ].join('\n'),
      missing: 'client:\n  adapter: nowhere.yaml\n',
    });
    const r = await grade([dir, '--suite', join(root, 'scenarios/conformance/lock-alternation')], dir);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/inline\/protosim\.yaml:8:16: patterns\.message: not a valid regular expression/);
    expect(r.err).toMatch(/missing\/protosim\.yaml:2:12: client\.adapter: no adapter file at .*nowhere\.yaml/);
  });

  it('refuses a folder without submissions, a submission without a manifest, and the wrong kind of suite', async () => {
    const empty = submissions({});
    let r = await grade([empty, '--suite', serverSuite], empty);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/no submissions: expected one folder per submission/);

    const noManifest = submissions({ erin: null });
    r = await grade([noManifest, '--suite', serverSuite], noManifest);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/erin\/protosim\.yaml: no manifest: .*has neither protosim\.yaml nor submission\.yaml/);

    const client = submissions({ frank: `client:\n  adapter: ${join(root, 'adapters/lock-alternation.yaml')}\n` });
    r = await grade([client, '--suite', serverSuite], client);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/frank\/protosim\.yaml: a client program; .*tests servers/);

    r = await grade([client, '--suite', join(root, 'scenarios/conformance/status-handshake/clients.yaml')], client);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/the adapter lock-alternation-example is for lock-alternation; .* tests status-handshake clients/);

    r = await grade([client, '--suite', join(root, 'scenarios/conformance/lock-alternation'), '--case', 'no/such-case'], client);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--case: no case "no\/such-case"/);

    r = await grade([client, '--suite', join(root, 'scenarios/conformance/lock-alternation'), '--fail-under', 'lots'], client);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--fail-under expects points \(12\) or a percentage \(80%\)/);
  });

  it("refuses --report (run's and check's) and says where grade writes its reports, as README.md does", async () => {
    const dir = submissions({ alice: "server:\n  command: ['{protosim}', serve, register-exit, --port, '{port}']\n" });
    const r = await grade([dir, '--suite', serverSuite, '--out', join(dir, '_out'), '--report', 'junit=class.xml'], dir);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^protosim: --report junit=class\.xml: grade takes no --report \(that is run's and check's\): it writes every report itself, under --out \(now .*_out\)/);
    expect(r.err).toMatch(/summary\.csv and summary\.json for the class, and for each submission <submission>\/report\.html, junit\.xml, results\.json, report\.json/);
    expect(r.out).toBe(''); // nothing graded
    // README.md says the same: --report on run and check; grade's reports in --out
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const row = readme.split('\n').find((l) => l.startsWith('| `--report FORMAT=FILE`'))!;
    expect(row).toMatch(/on `run` and `check`/);
    expect(row).toMatch(/`grade` takes no `--report`/);
  });
});

describe('a manifest declares its kind and version', () => {
  const server = "server:\n  command: ['{protosim}', serve, register-exit, --port, '{port}']\n";

  it('kind: manifest and version: 1 load silently; a manifest without them (protosim 0.x) loads with one warning line', () => {
    const dir = submissions({ current: `kind: manifest\nversion: 1\n${server}`, old: server });
    const warnings: string[] = [];
    const before = setWarningSink((line) => warnings.push(line));
    try {
      expect(loadSubmissions(dir, dir, dir).map((s) => s.name)).toEqual(['current', 'old']);
    } finally {
      setWarningSink(before);
    }
    expect(warnings).toEqual([undeclaredWarning('old/protosim.yaml', 'manifest')]);
    expect(warnings[0]).toMatch(/no kind\/version \(a protosim 0\.x manifest file\); run `protosim migrate old\/protosim\.yaml`/);
  });

  it('another kind, or a version from the future, is exit 2 at file:line:col', async () => {
    const dir = submissions({ future: `kind: manifest\nversion: 9\n${server}`, adapter: `kind: adapter\nversion: 1\n${server}` });
    const r = await grade([dir, '--suite', serverSuite], dir);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/future\/protosim\.yaml:2:10: version: version 9 of the manifest format is newer than this protosim reads/);
    expect(r.err).toMatch(/adapter\/protosim\.yaml:1:7: kind: expected a manifest file here \(a grading manifest .*\), got kind: adapter/);
  });

  it('protosim migrate adds them to a manifest, which then loads without a warning', async () => {
    const dir = submissions({ alice: `# alice's server\nname: alice\n${server}` });
    let out = '';
    const code = await runCli(['migrate', 'alice/protosim.yaml'], { stdout: (t) => (out += t), stderr: () => undefined, cwd: dir });
    expect({ code, out }).toEqual({ code: 0, out: 'alice/protosim.yaml: migrated: added kind: manifest, version: 1\n' });
    expect(readFileSync(join(dir, 'alice/protosim.yaml'), 'utf8')).toBe(`# alice's server\nkind: manifest\nversion: 1\nname: alice\n${server}`);
    const warnings: string[] = [];
    const before = setWarningSink((line) => warnings.push(line));
    try {
      expect(loadSubmissions(dir, dir, dir).map((s) => s.name)).toEqual(['alice']);
    } finally {
      setWarningSink(before);
    }
    expect(warnings).toEqual([]);
  });
});

describe('a shared adapter file', () => {
  it("runs each student's program in the student's folder when it names no cwd; with a cwd, relative to the adapter file", () => {
    const dir = submissions({ alice: 'client:\n  adapter: ../_shared/client.yaml\n', bob: 'client:\n  adapter: ../_shared/with-cwd.yaml\n' });
    mkdirSync(join(dir, '_shared'));
    const adapter = (extra: string): string =>
      `adapter: class\nprotocol: lock-alternation\ncommand: ["{node}", client.mjs, "{url}"]\n${extra}patterns:\n  prompt: 'Enter message: $'\n  message: '^Client \\d: (?<text>.*)$'\ninput:\n  message: "{text}\\n"\n  quit: ctrl-c\n`;
    writeFileSync(join(dir, '_shared', 'client.yaml'), adapter(''));
    writeFileSync(join(dir, '_shared', 'with-cwd.yaml'), adapter('cwd: programs\n'));
    const loaded = loadSubmissions(dir, dir, dir);
    const cwdOf = (name: string): string => {
      const s = loaded.find((x) => x.name === name)!;
      if (s.kind !== 'client') throw new Error('not a client');
      return programSpec(s.adapter, { address: 'http://127.0.0.1:1/IMserver.php', name: 'c1' }, ['protosim']).cwd ?? '';
    };
    expect(cwdOf('alice')).toBe(join(dir, 'alice'));
    expect(cwdOf('bob')).toBe(join(dir, '_shared', 'programs'));
  });
});

describe('protosim grade --fail-under', () => {
  it('exits 1 when a submission scores under the bound, and names it', async () => {
    const dir = submissions({ spoofable: "server:\n  command: ['{protosim}', serve, register-exit, --port, '{port}', --defect, trust-sender-field]\n  ready: { stdout: 'listening on (\\S+)' }\n" });
    const r = await grade([dir, '--suite', serverSuite, '--case', 're/spoofed-from', '--out', join(dir, '_out'), '--no-progress', '--fail-under', '100%'], dir);
    expect(r.code, r.err).toBe(1);
    expect(r.err).toMatch(/1 submission scored under --fail-under 100%: spoofable/);
    expect(r.out).toMatch(/spoofable +0\/1/);
  }, 30_000);

  it('compares points or a percentage of the maximum', () => {
    const report = makeSuiteReport('t', [{ id: 'a', title: 'a', level: 'required', points: 3, maxPoints: 4, verdict: 'FAIL', reason: '', durationMs: 1 }], 1);
    expect(scoreUnder(report, { value: 3, percent: false })).toBe(false);
    expect(scoreUnder(report, { value: 4, percent: false })).toBe(true);
    expect(scoreUnder(report, { value: 75, percent: true })).toBe(false);
    expect(scoreUnder(report, { value: 80, percent: true })).toBe(true);
  });
});

describe('summary.csv', () => {
  it('quotes fields as RFC 4180 says', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    const report = makeSuiteReport('t', [{ id: 'x,y', title: 'x', level: 'required', points: 1, maxPoints: 1, verdict: 'PASS', reason: '', durationMs: 1 }], 5);
    const csv = renderSummaryCsv([{ id: 'x,y', title: 'x', points: 1 }], [{ name: 'n', report, outcome: 'completed' }]);
    expect(csv).toBe('submission,score,max_score,percent,passed,failed,errors,skipped,flaky,outcome,"x,y"\r\nn,1,1,100,1,0,0,0,,completed,1\r\n');
  });
});
