/**
 * Link faults on client programs over QUIC (src/conformance/clients/client-links.ts): in the
 * ping-liveness client suite with the adapter's `transport: quic`, a program whose link a case
 * faults connects to its own QUIC message proxy (src/conformance/proxy/quic-proxy.ts), which ends
 * its TLS with protosim's self-signed certificate (the corpus's quic-go client does not verify
 * without -ca) and reaches protosim's reference server over QUIC. `fault: split, direction:
 * to-client` cuts the server's echo across two stream writes; `fault: merge` puts two echoes in one
 * write on the first's stream. The corpus's correct quic-go client decodes its streams with a JSON
 * decoder and passes both. The corpus has no QUIC client twin, so the known-bad one is written here:
 * the same client with its stream reader replaced by one JSON object per Read (the seed's flaw over
 * TCP); it passes the unfaulted echo and fails both faulted cases.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAdapterFile } from '../../src/conformance/clients/adapter.js';
import { ClientLinks } from '../../src/conformance/clients/client-links.js';
import { loadClientSuiteFile } from '../../src/conformance/clients/load-client-suite.js';
import { runClientSuite } from '../../src/conformance/clients/run-client-suite.js';
import { protosimLauncher } from '../../src/conformance/managed-process.js';
import { StepSkip } from '../../src/conformance/engine/verdicts.js';
import { GoPrograms, goMissing } from './go-programs.js';
import { processesNaming } from '../support/cli.js';

const root = resolve(__dirname, '../..');
const adapterFile = join(root, 'corpus/ping-liveness-quic/client-go-a/adapter.yaml');
const dir = mkdtempSync(join(tmpdir(), 'protosim-client-links-quic-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The known-bad twin's reader: one Read, one JSON object (a merged write or a split one is lost). */
const onePerRead = `func (c *client) read(s quic.ReceiveStream, done chan struct{}) {
	buf := make([]byte, 65536)
	for {
		n, err := s.Read(buf)
		if n > 0 {
			var m message
			if json.Unmarshal(buf[:n], &m) == nil {
				c.in <- m
			}
		}
		if err != nil {
			if done != nil {
				close(done)
			}
			return
		}
	}
}
`;

const cases = `
  - id: quic-links/split
    title: the server's echo comes split across two stream writes
    steps:
      - start: c1
      - expect: c1
        kind: joined
      - fault: split
        client: c1
        direction: to-client
        parts: 2
        count: 1
      - type: c1
        text: split in two halves
      # the bound is generous: the case is about the split, not about speed on a loaded machine
      - expect: c1
        kind: message
        text: split in two halves
        withinMs: 6000

  - id: quic-links/merge
    title: two echoes come in one stream write
    steps:
      - start: c1
      - expect: c1
        kind: joined
      - fault: merge
        client: c1
        direction: to-client
        messages: 2
      - type: c1
        text: first of two
      # the server has the first before the second: the merged write keeps that order
      - wait: 300
      - type: c1
        text: second of two
      - expect: c1
        kind: message
        text: first of two
        withinMs: 6000
      - expect: c1
        kind: message
        text: second of two
        withinMs: 6000
`;

/** The shipped ping-liveness client suite, its adapter path absolute, with the two cases above. */
function suiteFile(): string {
  const file = join(dir, 'clients.yaml');
  const text = readFileSync(join(root, 'scenarios/conformance/ping-liveness/clients.yaml'), 'utf8').replace(/^adapter: .*$/m, `adapter: ${adapterFile}`);
  writeFileSync(file, `${text.trimEnd()}\n${cases}`);
  return file;
}


const missing = goMissing();
const go = missing ? undefined : new GoPrograms();
let twin = '';

async function verdicts(bin: string, caseIds: string[]): Promise<Record<string, { verdict: string; reason: string | undefined }>> {
  const report = await runClientSuite(loadClientSuiteFile(suiteFile()), {
    adapter: loadAdapterFile(adapterFile),
    vars: { bin },
    protosimLauncher: protosimLauncher(),
    caseIds,
  });
  return Object.fromEntries(report.cases.map((c) => [c.id, { verdict: c.verdict, reason: c.reason }]));
}

describe.skipIf(missing !== '')(`client-suite link faults over QUIC on quic-go clients${missing ? ` (skipped: ${missing})` : ''}`, () => {
  beforeAll(async () => {
    await go!.build(['client-go-a']);
    twin = await go!.buildTwin('client-go-one-per-read', 'client-go-a', (src) => src.replace(/func \(c \*client\) read\(s quic\.ReceiveStream, done chan struct\{\}\) \{\n[\s\S]*?\n\}\n/, onePerRead));
  }, 240_000);
  afterAll(() => go?.cleanup());

  it('the correct client passes a split and a merge to-client (its streams are read with a JSON decoder)', async () => {
    const bin = join(go!.dir, 'client-go-a');
    const r = await verdicts(bin, ['quic-links/split', 'quic-links/merge']);
    expect(r['quic-links/split'], r['quic-links/split']?.reason).toMatchObject({ verdict: 'PASS' });
    expect(r['quic-links/merge'], r['quic-links/merge']?.reason).toMatchObject({ verdict: 'PASS' });
    expect(processesNaming(bin)).toEqual([]);
  }, 60_000);

  it('the one-object-per-Read twin can pass the unfaulted echo, and fails the split and the merge, on the lost echo', async () => {
    const r = await verdicts(twin, ['ping-liveness/system/echo', 'quic-links/split', 'quic-links/merge']);
    // Unfaulted, the twin loses an echo only when two server messages happen to share one read (a
    // loaded machine): it must pass in one of three tries, which shows the faults are what catch it.
    let echo = r['ping-liveness/system/echo'];
    for (let i = 0; i < 2 && echo?.verdict !== 'PASS'; i++) echo = (await verdicts(twin, ['ping-liveness/system/echo']))['ping-liveness/system/echo'];
    expect(echo, echo?.reason).toMatchObject({ verdict: 'PASS' });
    expect(r['quic-links/split']?.verdict, r['quic-links/split']?.reason).toBe('FAIL');
    expect(r['quic-links/split']?.reason).toMatch(/expected c1 to show a message "split in two halves"; none within/);
    expect(r['quic-links/merge']?.verdict, r['quic-links/merge']?.reason).toBe('FAIL');
    expect(r['quic-links/merge']?.reason).toMatch(/expected c1 to show a message "first of two"; none within/);
    expect(processesNaming(twin)).toEqual([]);
  }, 90_000);
});

describe('client links over QUIC: where each program connects', () => {
  const links = (): ClientLinks => {
    const suite = loadClientSuiteFile(suiteFile());
    return ClientLinks.of(suite, suite.spec.cases.find((c) => c.id === 'quic-links/split')!, 'quic')!;
  };
  const split = { fault: 'split', client: 'c1', direction: 'to-client', parts: 2 } as const;

  it('the faulted program gets its own QUIC proxy (query kept), the others the server itself', async () => {
    const l = links();
    try {
      const server = 'quic://127.0.0.1:4433?alpn=echo-protocol';
      const c1 = await l.addressFor('c1', server);
      expect(c1).toMatch(/^quic:\/\/127\.0\.0\.1:\d+\?alpn=echo-protocol$/);
      expect(c1).not.toBe(server);
      expect(await l.addressFor('c1', server)).toBe(c1);
      expect(await l.addressFor('c2', server)).toBe(server);
      expect(() => l.apply(split)).not.toThrow();
    } finally {
      await l.close();
    }
  });

  it('a server address that tells its clients to verify: the fault step SKIPs, saying why', async () => {
    for (const server of ['quic://127.0.0.1:4433?verify=true', 'quic://127.0.0.1:4433?ca=/tmp/ca.pem']) {
      const l = links();
      try {
        expect(await l.addressFor('c1', server)).toBe(server);
        expect(() => l.apply(split)).toThrow(StepSkip);
        expect(() => l.apply(split)).toThrow(/tells its clients to verify its certificate, and the proxy between them can present only protosim's own self-signed certificate/);
      } finally {
        await l.close();
      }
    }
  });
});
