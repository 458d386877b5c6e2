/**
 * Adapter files: bad ones get file:line:col errors; good ones classify output and build commands.
 */
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { classify, loadAdapterFile, messageKeys, parseAdapter, programSpec } from '../../src/conformance/clients/adapter.js';
import { ScenarioError } from '../../src/scenario/load.js';

const root = resolve(__dirname, '../..');

function errorsOf(text: string): string[] {
  try {
    parseAdapter(text, 'student.yaml', '/tmp');
  } catch (error) {
    expect(error).toBeInstanceOf(ScenarioError);
    return (error as Error).message.split('\n');
  }
  throw new Error('expected the adapter to be refused');
}

const good = `adapter: student-7
protocol: lock-alternation
command: ["python3", "client.py", "{url}", "--poll", "{pollMs}"]
vars: { pollMs: 500 }
patterns:
  prompt: '>>> $'
  message: ['^Them: (?<text>.*)$', '^\\[(?<from>\\w+)\\] (?<text>.*)$']
  peerLeft: 'left'
input:
  message: "{text}\\n"
`;

describe('adapter files', () => {
  it('point at the bad field: unknown field with a suggestion, bad regex, message without a group, unknown placeholder', () => {
    const errors = errorsOf(`adapter: s
protocol: lock-alternation
command: ["python3", "c.py", "{ulr}"]
patterns:
  prompt: 'Enter ('
  message: 'Them: .*'
`);
    expect(errors).toEqual([
      'student.yaml:5:11: patterns.prompt: not a valid regular expression: /Enter (/: Unterminated group',
      'student.yaml:6:12: patterns.message: the message pattern needs a group for the text: (.*) or (?<text>.*)',
      expect.stringMatching(/^student\.yaml:3:30: command\[2\]: unknown placeholder \{ulr\}; known: .* \(did you mean "url"\?\)$/),
    ]);
    expect(errorsOf('adapter: s\nprotocol: lock-alternation\ncommand: [x]\npatterns:\n  mesage: "(.*)"\n')).toEqual([
      expect.stringMatching(/^student\.yaml:5:3: patterns\.mesage: unknown field "mesage"; expected one of prompt, message, .*\(did you mean "message"\?\)$/),
    ]);
    expect(errorsOf('adapter: s\nprotocol: chat\ncommand: [x]\npatterns: {}\n')[0]).toMatch(/^student\.yaml:2:11: protocol: expected one of "lock-alternation", "status-handshake"/);
    expect(errorsOf('adapter: s\nprotocol: lock-alternation\ncommand: [x\n')[0]).toMatch(/^student\.yaml:\d+:\d+: YAML syntax/);
  });

  it('classifies lines by kind, capturing message text and author; echo is never classified', () => {
    const a = parseAdapter(good, 'student.yaml', '/tmp');
    const seg = (text: string, kind: 'line' | 'prompt' | 'echo' = 'line') => ({ index: 0, text, atMs: 0, kind, run: 0 });
    expect(classify(a, seg('Them: hi there'))).toEqual([{ kind: 'message', text: 'hi there' }]);
    expect(classify(a, seg('[c2] yo'))).toEqual([{ kind: 'message', text: 'yo', from: 'c2' }]);
    expect(classify(a, seg('>>> ', 'prompt'))).toEqual([{ kind: 'prompt' }]);
    expect(classify(a, seg('Them: typed', 'echo'))).toEqual([]);
    expect(classify(a, seg('nothing special'))).toEqual([]);
  });

  it('fills placeholders: the server URL, vars and --var overrides; cwd is relative to the adapter file', () => {
    const a = parseAdapter(good, 'student.yaml', '/home/grader/adapters');
    const spec = programSpec(a, { address: 'http://127.0.0.1:4242/IMserver.php', name: 'c2', vars: { pollMs: '50' } }, ['node', 'protosim.js']);
    expect(spec.command).toEqual(['python3', 'client.py', 'http://127.0.0.1:4242/IMserver.php', '--poll', '50']);
    expect(spec.cwd).toBe('/home/grader/adapters');
    expect(() => programSpec(a, { address: 'x', name: 'c1', vars: { polMs: '1' } }, [])).toThrow(/has no variable "polMs"; it has pollMs \(did you mean "pollMs"\?\)/);
    expect(messageKeys(a, 'hello {to}', 'c2')).toBe('hello {to}\n');
  });

  it('the shipped adapters load', () => {
    for (const name of ['lock-alternation', 'lock-alternation-fixed', 'status-handshake', 'status-handshake-fixed']) {
      const a = loadAdapterFile(resolve(root, 'adapters', `${name}.yaml`));
      expect(a.patterns.prompt).toBeDefined();
      expect(a.patterns.message).toBeDefined();
    }
  });
});
