/**
 * The kv-store model as oracle, on literal histories (Maelstrom style): definite replies, a
 * concurrent batch, and a request whose reply never came (indefinite).
 */
import { describe, expect, it } from 'vitest';
import { KvModelOracle, type KvOp } from '../../src/conformance/kv-model-oracle.js';

const ok = { status: 200, body: '\n' };
const value = (v: string) => ({ status: 200, body: `${v}\n` });
const op = (client: string, request: KvOp['request'], reply: KvOp['reply']): KvOp => ({ client, store: '', request, reply });

describe('kv model oracle', () => {
  it('passes replies the store model gives and fails one it does not, saying both', () => {
    const oracle = new KvModelOracle();
    expect(oracle.check([op('c1', { type: 'SET', key: 'k', value: 'v' }, ok)])).toEqual({ ok: true });
    expect(oracle.check([op('c1', { type: 'GET', key: 'k' }, value('v'))])).toEqual({ ok: true });
    const bad = oracle.check([op('c1', { type: 'GET', key: 'k' }, value('w'))]);
    expect(bad).toMatchObject({ ok: false, expected: 'c1 {"type":"GET","key":"k"} -> status 200, body "v\\n"', observed: 'c1 {"type":"GET","key":"k"} -> status 200, body "w\\n"' });
  });

  it('a missing trailing newline and an error header are not a model reply', () => {
    const oracle = new KvModelOracle();
    expect(oracle.check([op('c1', { type: 'GET', key: 'k' }, { status: 200, body: '' })]).ok).toBe(false);
    expect(oracle.check([op('c1', { type: 'SET', key: 'k', value: 'v' }, { status: 200, body: '\n', error: 'limit' })]).ok).toBe(false);
  });

  it('keys compare as a set, with the extra empty line', () => {
    const oracle = new KvModelOracle();
    oracle.check([op('c1', { type: 'SET', key: 'b', value: '1' }, ok)]);
    oracle.check([op('c1', { type: 'SET', key: 'a', value: '1' }, ok)]);
    expect(oracle.check([op('c1', { type: 'KEYS' }, { status: 200, body: 'b\na\n\n' })]).ok).toBe(true);
    expect(oracle.check([op('c1', { type: 'KEYS' }, { status: 200, body: 'b\na\n' })]).ok).toBe(false);
  });

  it('a concurrent batch passes when some order explains it, and a lost update does not', () => {
    const oracle = new KvModelOracle();
    const sets = [op('c1', { type: 'SET', key: 'x', value: '1' }, ok), op('c2', { type: 'SET', key: 'x', value: '2' }, ok)];
    expect(oracle.check(sets)).toEqual({ ok: true });
    // Either value is possible now; the next get decides.
    const forked = new KvModelOracle();
    forked.check(sets);
    expect(forked.check([op('c1', { type: 'GET', key: 'x' }, value('2'))]).ok).toBe(true);
    expect(oracle.check([op('c1', { type: 'GET', key: 'x' }, value('1'))]).ok).toBe(true);
    const lost = new KvModelOracle();
    lost.check([op('c1', { type: 'SET', key: 'a', value: '1' }, ok), op('c2', { type: 'SET', key: 'b', value: '2' }, ok)]);
    const verdict = lost.check([op('c1', { type: 'KEYS' }, { status: 200, body: 'b\n\n' })]);
    expect(verdict.ok).toBe(false);
  });

  it('a request without a reply may or may not have happened; both continuations pass, a third does not', () => {
    for (const seen of ['old', 'new']) {
      const oracle = new KvModelOracle();
      oracle.check([op('c1', { type: 'SET', key: 'k', value: 'old' }, ok)]);
      expect(oracle.check([op('c1', { type: 'SET', key: 'k', value: 'new' }, undefined)])).toEqual({ ok: true });
      expect(oracle.check([op('c2', { type: 'GET', key: 'k' }, value(seen))]).ok).toBe(true);
    }
    const oracle = new KvModelOracle();
    oracle.check([op('c1', { type: 'SET', key: 'k', value: 'new' }, undefined)]);
    expect(oracle.check([op('c2', { type: 'GET', key: 'k' }, value('other'))]).ok).toBe(false);
  });
});
