/**
 * Parsing a target address (`tcp://127.0.0.1:9000`, `http://127.0.0.1:8112/IMserver.php`) and the
 * rule that only loopback addresses are ever network targets.
 */
import { liveProtocolNamed } from '../models/registry.js';

export interface TargetAddress {
  scheme: 'tcp' | 'http';
  host: string;
  port: number;
  /** path and query of an http address (`/IMserver.php`); `/` when none */
  path: string;
  /** the address as written */
  text: string;
}

/** True for 127.0.0.0/8, ::1 and localhost. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  const m = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(h);
  return m !== null && m.slice(1).every((x) => Number(x) <= 255);
}

/** Parses an address; returns the problem in words when it is not a valid loopback address. */
export function parseTargetAddress(text: string): TargetAddress | string {
  const m = /^(tcp|http):\/\/(\[[^\]]+\]|[^/:]+):(\d{1,5})(\/.*)?$/.exec(text);
  if (m === null) {
    return `expected an address like tcp://127.0.0.1:9000 or http://127.0.0.1:8112/IMserver.php, got ${JSON.stringify(text)}`;
  }
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return `port must be 1..65535, got ${port}`;
  const host = m[2]!.replace(/^\[|\]$/g, '');
  if (!isLoopbackHost(host)) {
    return `only loopback addresses (127.0.0.0/8, ::1, localhost) may be targets; ${JSON.stringify(host)} is not one`;
  }
  return { scheme: m[1] as 'tcp' | 'http', host, port, path: m[4] ?? '/', text };
}

/** The scheme a protocol's targets use, from its package: the IM key-value store is HTTP, the others a TCP stream. */
export function targetScheme(protocol: string): 'tcp' | 'http' {
  return liveProtocolNamed(protocol)?.transport === 'http' ? 'http' : 'tcp';
}

/** An address of the protocol's targets, for examples in messages. */
export function exampleAddress(protocol: string): string {
  return liveProtocolNamed(protocol)?.exampleAddress ?? 'tcp://127.0.0.1:PORT';
}

/** An address of the wrong scheme for `protocol`, in words; null when it fits. */
export function schemeProblem(protocol: string, address: TargetAddress): string | null {
  const scheme = targetScheme(protocol);
  if (address.scheme === scheme) return null;
  return `${protocol} targets are ${scheme}:// addresses (${scheme === 'http' ? 'the IM HTTP interface' : 'a TCP stream'}), got ${address.text}`;
}
