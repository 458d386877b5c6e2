/**
 * Parsing a target address (`tcp://127.0.0.1:9000`, `http://127.0.0.1:8112/IMserver.php`,
 * `quic://127.0.0.1:4433?alpn=echo-protocol&server-name=localhost&ca=ca.pem`) and the rule that
 * only loopback addresses are ever network targets.
 */
import { liveProtocolNamed } from '../models/registry.js';

/** How the harness speaks QUIC to a target. */
export interface QuicTargetOptions {
  /** ALPN protocols offered; default `['echo-protocol']` (the seed's). */
  alpn?: string[];
  /** TLS server name (SNI, and the name verified); default `localhost`. */
  serverName?: string;
  /** Verify the server's certificate; default false (loopback test servers make theirs at start). */
  verify?: boolean;
  /** A PEM file of the CA to verify with (implies verify). */
  ca?: string;
}

/** The query parameters a quic:// address may carry. */
export const quicAddressParams = ['alpn', 'server-name', 'verify', 'ca'] as const;

export interface TargetAddress {
  scheme: 'tcp' | 'http' | 'quic';
  /** quic: the options given in the address's query */
  quic?: QuicTargetOptions;
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
  const q = /^quic:\/\/(\[[^\]]+\]|[^/:?]+):(\d{1,5})\/?(?:\?(.*))?$/.exec(text);
  if (q !== null) return parseQuicAddress(text, q[1]!, Number(q[2]), q[3] ?? '');
  const m = /^(tcp|http):\/\/(\[[^\]]+\]|[^/:]+):(\d{1,5})(\/.*)?$/.exec(text);
  if (m === null) {
    return `expected an address like tcp://127.0.0.1:9000, quic://127.0.0.1:4433 or http://127.0.0.1:8112/IMserver.php, got ${JSON.stringify(text)}`;
  }
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return `port must be 1..65535, got ${port}`;
  const host = m[2]!.replace(/^\[|\]$/g, '');
  if (!isLoopbackHost(host)) {
    return `only loopback addresses (127.0.0.0/8, ::1, localhost) may be targets; ${JSON.stringify(host)} is not one`;
  }
  return { scheme: m[1] as 'tcp' | 'http', host, port, path: m[4] ?? '/', text };
}

function parseQuicAddress(text: string, rawHost: string, port: number, query: string): TargetAddress | string {
  if (port < 1 || port > 65535) return `port must be 1..65535, got ${port}`;
  const host = rawHost.replace(/^\[|\]$/g, '');
  if (!isLoopbackHost(host)) return `only loopback addresses (127.0.0.0/8, ::1, localhost) may be targets; ${JSON.stringify(host)} is not one`;
  const quic: QuicTargetOptions = {};
  for (const [key, value] of new URLSearchParams(query)) {
    if (key === 'alpn') quic.alpn = value.split(',').filter((a) => a !== '');
    else if (key === 'server-name') quic.serverName = value;
    else if (key === 'ca') quic.ca = value;
    else if (key === 'verify') {
      if (value !== 'true' && value !== 'false') return `quic address: verify must be true or false, got ${JSON.stringify(value)}`;
      quic.verify = value === 'true';
    } else return `quic address: unknown parameter ${JSON.stringify(key)}; known: ${quicAddressParams.join(', ')} (quic://127.0.0.1:4433?alpn=echo-protocol&server-name=localhost&ca=ca.pem)`;
    if (value === '') return `quic address: ${key} needs a value`;
  }
  return { scheme: 'quic', host, port, path: '/', text, quic };
}

/**
 * True when `protocol` may be reached over QUIC: a stream protocol with a JSON wire (QUIC carries
 * one JSON object per stream write, the seed's framing of ping-liveness).
 */
export function quicCapable(protocol: string): boolean {
  const live = liveProtocolNamed(protocol);
  return live !== undefined && live.transport !== 'http' && live.codecs.some((c) => c.name === 'json-lines');
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
  if (address.scheme === 'quic') {
    return quicCapable(protocol) ? null : `${protocol} cannot be reached over QUIC (it needs a stream protocol with a JSON wire); give a ${scheme}:// address, got ${address.text}`;
  }
  return `${protocol} targets are ${scheme}:// addresses (${scheme === 'http' ? 'the IM HTTP interface' : 'a TCP stream'}), got ${address.text}`;
}
