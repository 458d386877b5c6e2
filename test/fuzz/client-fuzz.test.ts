/**
 * `protosim fuzz <protocol> --adapter FILE` (docs/fuzz.md, "Client programs"): every generated case
 * is a valid client suite whose texts are fair to type; the expectations follow the protocol's
 * rules; on programs protosim did not write (corpus/), a defective client is found with a fixed seed
 * and a small budget, shrunk, saved, and its saved case fails on `protosim run`, while its correct
 * twin gives no finding; bad input exits 2. `npm run fuzz:clients` measures the whole corpus.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import fc from 'fast-check';
import YAML from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { loadAdapterFile } from '../../src/conformance/clients/adapter.js';
import type { ClientStepFile } from '../../src/conformance/clients/client-suite-schema.js';
import type { ClientFuzzCase } from '../../src/conformance/fuzz/clients/client-case.js';
import { clientFuzzSuite, referenceServerCommand } from '../../src/conformance/fuzz/clients/client-fuzz-suite.js';
import { clientFuzzFor, clientFuzzGenerators, type ChatProtocolFuzz } from '../../src/conformance/fuzz/clients/client-protocol.js';
import { renderClientCase } from '../../src/conformance/fuzz/clients/client-render.js';
import { clientCaseText, clientFuzzArbitrary } from '../../src/conformance/fuzz/clients/run-client-fuzz.js';
import { fairText } from '../../src/conformance/fuzz/clients/typed-text.js';
import { corpusAdapter } from '../support/corpus-adapter.js';
import { cliIn } from '../support/cli.js';

const root = resolve(__dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'protosim-client-fuzz-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cli = cliIn(dir);

const shippedAdapter = (protocol: string): string => join(root, 'adapters', `${protocol}.yaml`);

describe('client fuzz cases', () => {
  it.each(clientFuzzGenerators.map((g) => [g.protocol, g] as const))('every generated %s case is a valid client suite, its texts fair to type', (_, g) => {
    const adapter = loadAdapterFile(shippedAdapter(g.protocol));
    const base = { protocol: g.protocol, adapter: shippedAdapter(g.protocol), server: referenceServerCommand(g.protocol, g.serverArgs), adapterVars: {} };
    const cases = fc.sample(clientFuzzArbitrary({ generator: g, adapter, unframed: false }), { seed: 7, numRuns: 80 });
    let expects = 0;
    for (const [i, c] of cases.entries()) {
      const suite = clientFuzzSuite(clientCaseText({ generator: g, adapter, base }, c, `fuzz/t-${i}`), `case ${i}`, dir);
      for (const step of suite.spec.cases[0]!.steps) {
        if (step.type !== undefined) {
          // blank lines only where the protocol makes them messages (status-handshake), and then spaces alone
          const blankOk = g.blankIsMessage === true && /^ {1,5}$/.test(step.text!);
          if (!blankOk) expect(step.text!).not.toMatch(/[\u0000-\u001f\u007f-\u009f]|^\s|\s$/u);
          expect([...step.text!].length).toBeLessThanOrEqual(g.maxTextChars);
        }
        if (step.expect !== undefined && step.kind === 'message' && step.absent !== true) expects++;
      }
    }
    expect(expects).toBeGreaterThan(40);
  });

  it('makes a typed text fair: one line, no controls, no edge white space, not a command', () => {
    const rules = { maxChars: 5, wholeLine: true, quitLine: '/quit' };
    expect(fairText('a\u0003b\nc', rules)).toBe('abc');
    expect(fairText('  hi  ', rules)).toBe('hi');
    expect(fairText('/quit', rules)).toBe('x/qui');
    expect(fairText('\u0000', rules)).toBe('x');
    expect(fairText('a  b', { maxChars: 10, wholeLine: false })).toBe('a  b');
  });
});

describe('client fuzz expectations follow the protocol', () => {
  const steps = (protocol: string, c: ClientFuzzCase): ClientStepFile[] => renderClientCase(c, { protocol: clientFuzzFor(protocol) as ChatProtocolFuzz, joinedShown: true });
  const expectsOn = (s: ClientStepFile[], who: string): ClientStepFile[] => s.filter((x) => x.expect === who && x.absent !== true);

  it('register-exit: a message shows on its recipient; one to a user who left is refused to the sender', () => {
    const s = steps('register-exit', { rounds: [[{ kind: 'say', from: 0, to: 1, texts: ['hi there', 'again'], together: true }], [{ kind: 'leave', user: 1, how: 'kill' }, { kind: 'say', from: 0, to: 1, texts: ['gone?'], together: false }]] });
    expect(expectsOn(s, 'c2').map((x) => x.text)).toEqual([undefined, 'hi there', 'again']);
    // shown from the user who typed it
    expect(expectsOn(s, 'c2').map((x) => x.from)).toEqual([undefined, 'c1', 'c1']);
    expect(expectsOn(s, 'c1').map((x) => x.kind)).toEqual(['joined', 'refused']);
    expect(s.some((x) => x.kill === 'c2')).toBe(true);
    // the burst typed together reaches c2 in one read
    expect(s.find((x) => x.fault === 'merge')).toMatchObject({ client: 'c2', direction: 'to-client', messages: 2 });
  });

  it('offline-queue: a message to a user who quit is shown by a check after the rejoin, in order', () => {
    const s = steps('offline-queue', { rounds: [[{ kind: 'leave', user: 1, how: 'quit' }, { kind: 'say', from: 0, to: 1, texts: ['one', 'two'], together: false }], [{ kind: 'rejoin', user: 1 }]] });
    const check = s.findIndex((x) => x.check === 'c2');
    expect(check).toBeGreaterThan(s.findIndex((x) => x.restart === 'c2'));
    expect(s.slice(check).filter((x) => x.expect === 'c2' && x.text !== undefined).map((x) => [x.text, x.from])).toEqual([['one', 'c1'], ['two', 'c1']]);
  });

  it('ping-liveness: an echo is shown to the one who typed it, with no sender to check', () => {
    const s = steps('ping-liveness', { rounds: [[{ kind: 'say', from: 0, to: 0, texts: ['echo me'], together: false }]] });
    expect(s.find((x) => x.expect === 'c1' && x.text === 'echo me')).not.toHaveProperty('from');
  });

  it('starts a new round rather than expect an order the protocol leaves open (two senders, one recipient)', () => {
    const s = steps('register-exit', { rounds: [[{ kind: 'say', from: 0, to: 2, texts: ['from a'], together: false }, { kind: 'say', from: 1, to: 2, texts: ['from b'], together: false }]] });
    const second = s.findIndex((x) => x.type === 'c2');
    expect(s.findIndex((x) => x.expect === 'c3' && x.text === 'from a')).toBeLessThan(second);
  });
});

describe('protosim fuzz --adapter on corpus clients (fixed seeds)', () => {
  it('finds register-exit/client-py-defective, shrinks it, and the saved case fails on replay', async () => {
    const adapter = await corpusAdapter(dir, 'register-exit', 'client-py-defective');
    const saved = join(dir, 'defective-case.yaml');
    const r = await cli(['fuzz', 'register-exit', '--adapter', adapter, '--seed', '1', '--runs', '10', '--time-budget', '20', '--save-case', saved, '--format', 'json', '--no-progress']);
    expect(r.err.split('\n')[0]).toMatch(/^seed=1 /);
    expect(r.code, r.out + r.err).toBe(1);
    const outcome = JSON.parse(r.out) as { finding: { shrinks: number; size: { steps: number }; originalSize: { steps: number } } };
    expect(outcome.finding.shrinks).toBeGreaterThanOrEqual(1);
    expect(outcome.finding.size.steps).toBeLessThan(outcome.finding.originalSize.steps);
    const text = readFileSync(saved, 'utf8');
    expect((YAML.parse(text) as { kind: string }).kind).toBe('client-suite');
    const replay = await cli(['run', saved, '--no-progress']);
    expect(replay.code, replay.out + replay.err).toBe(1);
    expect(replay.out).toMatch(/FAIL/);
  }, 90_000);

  it('gives no finding on its correct twin register-exit/client-py-b', async () => {
    const adapter = await corpusAdapter(dir, 'register-exit', 'client-py-b');
    const r = await cli(['fuzz', 'register-exit', '--adapter', adapter, '--seed', '1', '--runs', '4', '--time-budget', '25', '--no-progress']);
    expect(r.code, r.out + r.err).toBe(0);
    expect(r.out).toMatch(/no finding \([1-4] cases run/);
  }, 60_000);
});

describe('protosim fuzz --adapter input errors', () => {
  it('exits 2 for --adapter with --target, a protocol without client fuzzing, an adapter of another protocol, a codec the server lacks', async () => {
    const re = shippedAdapter('register-exit');
    const both = await cli(['fuzz', 'register-exit', '--adapter', re, '--target', 'tcp://127.0.0.1:1']);
    expect(both.code).toBe(2);
    expect(both.err).toMatch(/--target/);
    const kv = await cli(['fuzz', 'kv', '--adapter', shippedAdapter('lock-alternation')]);
    expect(kv.code).toBe(2);
    expect(kv.err).toMatch(/no client fuzzing for "kv"/);
    const other = await cli(['fuzz', 'offline-queue', '--adapter', re]);
    expect(other.code).toBe(2);
    expect(other.err).toMatch(/is for register-exit, not offline-queue/);
    const codec = await cli(['fuzz', 'register-exit', '--adapter', re, '--codec', 'protobuf']);
    expect(codec.code).toBe(2);
    expect(codec.err).toMatch(/--codec/);
    const missing = await cli(['fuzz', 'register-exit', '--adapter', join(dir, 'none.yaml')]);
    expect(missing.code).toBe(2);
  });
});
