/**
 * The kv-store model as the one oracle of live key-value runs, on literal histories (Maelstrom
 * style): definite replies, requests in flight at once (any order consistent with real time), a
 * request whose reply never came (indefinite), and the bound on possible worlds (an ERROR, never a
 * verdict).
 */
import { describe, expect, it } from 'vitest';
import { KvHistory, KvStoreOracle, maxKvWorlds } from '../../src/conformance/kv-store-oracle.js';
import { OracleLimitError } from '../../src/conformance/server-model-oracle.js';
import type { KvRequest } from '../../src/models/kv-store/messages.js';

const ok = { status: 200, body: '\n' };
const value = (v: string) => ({ status: 200, body: `${v}\n` });
const set = (key: string, v: string): KvRequest => ({ type: 'SET', key, value: v });
const get = (key: string): KvRequest => ({ type: 'GET', key });

/** One request answered before the next goes out. */
function sequential(oracle: KvStoreOracle, client: string, request: KvRequest, wire: Parameters<KvStoreOracle['replied']>[1]) {
  return oracle.replied(oracle.sent(client, '', request), wire);
}

describe('kv-store oracle', () => {
  it('passes replies the store model gives and fails one it does not, saying both', () => {
    const oracle = new KvStoreOracle();
    expect(sequential(oracle, 'c1', set('k', 'v'), ok)).toBeNull();
    expect(sequential(oracle, 'c1', get('k'), value('v'))).toBeNull();
    const bad = sequential(oracle, 'c1', get('k'), value('w'));
    expect(bad).toMatchObject({ expected: 'c1 {"type":"GET","key":"k"} -> status 200, body "v\\n"', observed: 'c1 {"type":"GET","key":"k"} -> status 200, body "w\\n"' });
  });

  it('a missing trailing newline and an error header are not a model reply', () => {
    expect(sequential(new KvStoreOracle(), 'c1', get('k'), { status: 200, body: '' })).not.toBeNull();
    expect(sequential(new KvStoreOracle(), 'c1', set('k', 'v'), { status: 200, body: '\n', error: 'limit' })).not.toBeNull();
  });

  it('keys compare as a set, with the extra empty line', () => {
    const oracle = new KvStoreOracle();
    sequential(oracle, 'c1', set('b', '1'), ok);
    sequential(oracle, 'c1', set('a', '1'), ok);
    expect(sequential(oracle, 'c1', { type: 'KEYS' }, { status: 200, body: 'b\na\n\n' })).toBeNull();
    expect(sequential(oracle, 'c1', { type: 'KEYS' }, { status: 200, body: 'b\na\n' })).not.toBeNull();
  });

  it('a key holding a newline spans two lines of the keys reply (a fuzz case on a correct server)', () => {
    const oracle = new KvStoreOracle();
    sequential(oracle, 'c1', set('\n', ''), ok);
    sequential(oracle, 'c1', set('x\ny', '1'), ok);
    expect(sequential(oracle, 'c1', { type: 'KEYS' }, { status: 200, body: '\n\nx\ny\n\n' })).toBeNull();
    expect(sequential(oracle, 'c1', { type: 'KEYS' }, { status: 200, body: 'x\ny\n\n\n\n' })).toBeNull();
    expect(sequential(oracle, 'c1', { type: 'KEYS' }, { status: 200, body: '\nx\ny\n\n' })).not.toBeNull();
  });

  it('requests in flight together may take effect in either order; the next read decides', () => {
    for (const last of ['1', '2']) {
      const oracle = new KvStoreOracle();
      const a = oracle.sent('c1', '', set('x', '1'));
      const b = oracle.sent('c2', '', set('x', '2'));
      expect(oracle.replied(a, ok)).toBeNull();
      expect(oracle.replied(b, ok)).toBeNull();
      expect(sequential(oracle, 'c1', get('x'), value(last))).toBeNull();
    }
    // A lost update: both writes acknowledged, one of them missing.
    const lost = new KvStoreOracle();
    const a = lost.sent('c1', '', set('a', '1'));
    const b = lost.sent('c2', '', set('b', '2'));
    lost.replied(a, ok);
    lost.replied(b, ok);
    expect(sequential(lost, 'c1', { type: 'KEYS' }, { status: 200, body: 'b\n\n' })).not.toBeNull();
  });

  it('real time is kept: a write answered before a read was sent cannot take effect after it', () => {
    const oracle = new KvStoreOracle();
    sequential(oracle, 'c1', set('x', 'old'), ok);
    expect(sequential(oracle, 'c1', set('x', 'new'), ok)).toBeNull();
    // the read went out after the write's reply came: "old" is a stale read
    expect(sequential(oracle, 'c2', get('x'), value('old'))).not.toBeNull();
  });

  it('a request without a reply may take effect now, later or never; a value nobody wrote fails', () => {
    for (const seen of ['old', 'new']) {
      const oracle = new KvStoreOracle();
      sequential(oracle, 'c1', set('k', 'old'), ok);
      expect(oracle.replied(oracle.sent('c1', '', set('k', 'new')), undefined)).toBeNull();
      expect(sequential(oracle, 'c2', get('k'), value(seen))).toBeNull();
    }
    // it may also take effect after a later read saw the old value
    const late = new KvStoreOracle();
    sequential(late, 'c1', set('k', 'old'), ok);
    late.replied(late.sent('c1', '', set('k', 'new')), undefined);
    expect(sequential(late, 'c2', get('k'), value('old'))).toBeNull();
    expect(sequential(late, 'c2', get('k'), value('new'))).toBeNull();
    const oracle = new KvStoreOracle();
    oracle.replied(oracle.sent('c1', '', set('k', 'new')), undefined);
    expect(sequential(oracle, 'c2', get('k'), value('other'))).not.toBeNull();
  });

  it('stores are independent', () => {
    const oracle = new KvStoreOracle();
    expect(oracle.replied(oracle.sent('c1', 's1', set('k', 'v')), ok)).toBeNull();
    expect(oracle.replied(oracle.sent('c1', 's2', get('k')), value(''))).toBeNull();
    expect(oracle.replied(oracle.sent('c1', 's2', get('k')), value('v'))).not.toBeNull();
  });

  it('running out of possible worlds is an OracleLimitError naming the bound, not a verdict', () => {
    const oracle = new KvStoreOracle();
    // Requests that never got replies, each writing its own key: 2^n worlds.
    const n = Math.ceil(Math.log2(maxKvWorlds)) + 1;
    expect(() => {
      for (let i = 0; i < n; i++) oracle.replied(oracle.sent('c1', '', set(`k${i}`, 'v')), undefined);
    }).toThrow(OracleLimitError);
    expect(() => {
      const fresh = new KvStoreOracle();
      for (let i = 0; i < n; i++) fresh.replied(fresh.sent('c1', '', set(`k${i}`, 'v')), undefined);
    }).toThrow(/maxKvWorlds=512/);
  });

  it('the history hands replies to the oracle in arrival order, once the case says how each is taken', () => {
    const history = new KvHistory(new KvStoreOracle());
    const w = history.send('c1', '', set('x', '1'));
    history.arrived(w, ok);
    const r = history.send('c2', '', get('x'));
    history.arrived(r, value(''));
    // The read arrived after the write was acknowledged and before... it was sent after: stale.
    expect(history.take(r, 'judge')).toEqual([]); // the write's reply is not taken yet: nothing handed on
    const mismatches = history.take(w, 'follow');
    expect(mismatches).toHaveLength(1);
    expect(mismatches[0]!.observed).toContain('GET');
  });
});
