/**
 * The registry of protocol packages (issue 13, item 1): the built-in five are packages of the one
 * interface protocols from outside the tree use (they pass the same shape check), their live sides
 * are found by any name they go by, and the pieces the live layers read come from the packages.
 */
import { describe, expect, it } from 'vitest';
import { defineProtocol } from '../../src/models/public.js';
import { builtinLiveProtocols, builtinPackages, liveProtocolNamed, packagesServedBy, protocolNamed, protocolOrigin, registerProtocol } from '../../src/models/registry.js';
import { packageProblems } from '../../src/models/validate-package.js';

describe('the protocol registry', () => {
  it('the built-in packages pass the shape check external packages must pass', () => {
    expect(builtinPackages.map((p) => p.name)).toEqual(['lock-alternation', 'status-handshake', 'ping-liveness', 'register-exit', 'offline-queue']);
    for (const p of builtinPackages) expect(packageProblems(p), p.name).toEqual([]);
  });

  it('finds a live protocol by its own name or a protocol it serves', () => {
    expect(builtinLiveProtocols.map((l) => l.name)).toEqual(['kv', 'ping-liveness', 'register-exit', 'offline-queue']);
    expect(liveProtocolNamed('lock-alternation')?.name).toBe('kv');
    expect(liveProtocolNamed('kv')?.transport).toBe('http');
    expect(packagesServedBy(liveProtocolNamed('kv')!)).toEqual(['lock-alternation', 'status-handshake']);
    expect(liveProtocolNamed('register-exit')?.codecs.map((c) => c.name)).toEqual(['json-lines', 'gob']);
    expect(liveProtocolNamed('chat')).toBeUndefined();
    // Every live protocol has a server with its defects; stream ones an oracle mapping and a client wire.
    for (const l of builtinLiveProtocols) {
      expect(l.server.defects.length, l.name).toBeGreaterThan(0);
      if (l.transport === 'tcp') expect([l.mapping, l.clientWire].every((x) => x !== undefined), l.name).toBe(true);
    }
  });

  it('adds packages from outside the tree, never under a built-in name', () => {
    const pkg = defineProtocol({
      name: 'registry-test',
      summary: 'a package built in memory',
      variants: { faithful: { ...builtinPackages[0]!.variants.faithful!, summary: 'borrowed' } },
    });
    expect(packageProblems(pkg)).toEqual([]);
    expect(registerProtocol(pkg, '/somewhere/index.js')).toBeNull();
    expect(protocolNamed('registry-test')).toBe(pkg);
    expect(protocolOrigin('registry-test')).toBe('/somewhere/index.js');
    expect(protocolOrigin('lock-alternation')).toBeUndefined();
    expect(registerProtocol({ ...pkg, name: 'offline-queue' })).toMatch(/built-in protocol/);
    expect(protocolNamed('offline-queue')).toBe(builtinPackages[4]);
  });

  it('the shape check names each field that is wrong, and what was expected', () => {
    expect(packageProblems(42)).toEqual(['the export: expected a protocol package { name, summary, source, variants, validateMessage }, got number 42']);
    const problems = packageProblems({ name: 'x', summary: 's', source: 's', validateMessage: () => null, variants: { faithful: { ...builtinPackages[0]!.variants.faithful!, isProgress: 3, invariants: [{ id: 'i' }] } } });
    expect(problems).toEqual([
      'variants.faithful.invariants[0].description: expected a string, got nothing',
      'variants.faithful.invariants[0].check: expected a function (view) => null, or the reason it does not hold, got nothing',
      'variants.faithful.isProgress: expected a function (node, effect) => true when the effect is progress, got number 3',
    ]);
  });
});
