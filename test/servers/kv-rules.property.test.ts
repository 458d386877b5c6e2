/**
 * One reading of the key-value store: the model (the store machine the oracle and the harness's IM
 * server step) and the reference kv server (the rules on the HTTP host) give the same body, byte for
 * byte, to every request of generated sequences: get, set, unset, clear and keys over keys that are
 * awkward as object properties (`__proto__`, `constructor`, integer-like), astral characters, query
 * syntax, empty values, the named stores, and requests the interface refuses (missing key). Then the
 * rules as the model holds a store (a record) against the server's (a Map), with small limits.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { KvReply, KvRequest } from '../../src/models/kv-store/messages.js';
import { applyToRecord, recordStore, serveKv, storeProblem, type KvData, type KvLimits } from '../../src/models/kv-store/serve.js';
import { storeMachine } from '../../src/models/kv-store/store.js';
import { kvBody } from '../../src/models/kv-store/server-program.js';
import { imErrorBody } from '../../src/models/kv-store/im-http.js';
import { httpGet } from './http-client.js';
import { ModelServer } from './model-server.js';
import { serve } from './server-fixture.js';

const keys = ['lock', 'connected', '__proto__', 'constructor', 'toString', '7', '42', 'é', '😀', 'a b', 'k&store=s1', '+', ''];
const values = ['1', '', 'on\n', 'x&action=clear', '😀é', ' '];

type Req = { action: 'get' | 'set' | 'unset' | 'clear' | 'keys'; key: string; value: string; store: string };

const request: fc.Arbitrary<Req> = fc.record({
  action: fc.constantFrom('get' as const, 'set' as const, 'set' as const, 'unset' as const, 'clear' as const, 'keys' as const, 'keys' as const),
  key: fc.constantFrom(...keys),
  value: fc.constantFrom(...values),
  store: fc.constantFrom('', '', 's1'),
});

const query = (r: Req): string => {
  const params: [string, string][] = [['action', r.action]];
  if (r.action !== 'clear' && r.action !== 'keys') params.push(['key', r.key]);
  if (r.action === 'set') params.push(['value', r.value]);
  if (r.store !== '') params.push(['store', r.store]);
  return '/?' + params.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&');
};

const modelRequest = (r: Req): KvRequest | null => {
  if (r.action === 'clear') return { type: 'CLEAR' };
  if (r.action === 'keys') return { type: 'KEYS' };
  if (r.key === '') return null; // the interface refuses it before any store sees it
  if (r.action === 'get') return { type: 'GET', key: r.key };
  if (r.action === 'unset') return { type: 'UNSET', key: r.key };
  return { type: 'SET', key: r.key, value: r.value };
};

describe('kv: the model and the reference server give the same answers', () => {
  it('over generated request sequences (the store machine vs the live HTTP server)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(request, { minLength: 1, maxLength: 30 }), async (reqs) => {
        const server = await serve('kv');
        const stores = new Map<string, ModelServer<string>>();
        for (const r of reqs) {
          const got = await httpGet(server.address, query(r));
          expect(got.status).toBe(200);
          const req = modelRequest(r);
          if (req === null) {
            expect(got.headers['x-protosim-error'], query(r)).toBe('missing-key');
            continue;
          }
          let model = stores.get(r.store);
          if (model === undefined) stores.set(r.store, (model = new ModelServer<string>(storeMachine, { initial: {}, offersCas: false }, (m: KvReply) => kvBody(m))));
          model.step({ ...req, from: 'client' });
          const expected = model.sent('client').at(-1);
          expect(got.body, `${query(r)} after ${reqs.indexOf(r)} requests`).toBe(expected);
          expect(got.headers['x-protosim-error']).toBeUndefined();
        }
        await server.close();
      }),
      { numRuns: 30, seed: 20240617, endOnFailure: true },
    );
  }, 60_000);

  it('with small limits: the rules over a record (the model) and over the server\'s Maps', async () => {
    const limits: KvLimits = { maxNameChars: 3, maxMessageChars: 2, maxEntries: 2 };
    await fc.assert(
      fc.asyncProperty(fc.array(request, { minLength: 1, maxLength: 30 }), async (reqs) => {
        const server = await serve('kv', { limits: { maxNameChars: 3, maxMessageChars: 2, maxEntries: 2 } });
        let stores: Record<string, KvData> = {};
        for (const r of reqs) {
          const got = await httpGet(server.address, query(r));
          const req = modelRequest(r);
          if (req === null) continue;
          const problem = storeProblem(r.store, r.store in stores, Object.keys(stores).length, limits);
          let expected: string;
          if (problem !== null) expected = imErrorBody(problem);
          else {
            const data = stores[r.store] ?? {};
            const outcome = serveKv(recordStore(data), req, { offersCas: false, limits });
            expected = 'refused' in outcome ? imErrorBody(outcome.refused) : kvBody(outcome.reply);
            stores = { ...stores, [r.store]: 'refused' in outcome ? data : applyToRecord(data, outcome.change) };
          }
          expect(got.body, query(r)).toBe(expected);
        }
        await server.close();
      }),
      { numRuns: 20, seed: 20240618, endOnFailure: true },
    );
  }, 60_000);
});
