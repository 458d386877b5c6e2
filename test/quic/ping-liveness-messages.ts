/** ping-liveness messages as the seed puts them on the wire (PROTOCOLS.md §3), for the QUIC tests. */
import type { QuicEvent, QuicPeer, QuicStreamHandle } from '../../src/transports/quic-transport.js';

export const mtype = { login: 1, loginResponse: 2, chat: 3, logout: 4, error: 5, ping: 6, versionRequest: 7, versionResponse: 8 } as const;

export interface WireMessage {
  mtype: number;
  payload: Record<string, unknown>;
  version: string;
  sz: number;
}

export function wire(type: number, payload: Record<string, unknown>): string {
  const text = JSON.stringify(payload);
  return JSON.stringify({ mtype: type, payload, version: '1.0.0', sz: Buffer.byteLength(text) });
}

/** The next event that is not a stream ending (streams end quietly all the time). */
export async function nextEvent(peer: QuicPeer, timeoutMs = 3000): Promise<QuicEvent | { kind: 'timeout'; waitedMs: number }> {
  for (;;) {
    const event = await peer.next(timeoutMs);
    if (event.kind !== 'stream-end') return event;
  }
}

/** The next message (fails the test on anything else). */
export async function nextMessage(peer: QuicPeer, timeoutMs = 3000): Promise<{ message: WireMessage; stream: QuicStreamHandle }> {
  const event = await nextEvent(peer, timeoutMs);
  if (event.kind !== 'message') throw new Error(`expected a message, got ${JSON.stringify(event, (k, v) => (k === 'stream' ? undefined : v))}`);
  return { message: event.value as WireMessage, stream: event.stream };
}

/** Sends one message on a new stream and waits for the answer. */
export async function request(peer: QuicPeer, type: number, payload: Record<string, unknown>): Promise<{ message: WireMessage; sent: QuicStreamHandle; stream: QuicStreamHandle }> {
  const sent = await peer.send(wire(type, payload));
  const { message, stream } = await nextMessage(peer);
  return { message, sent, stream };
}

/** Negotiates 1.0.0 and logs in; returns the session id. */
export async function login(peer: QuicPeer, username: string, password: string): Promise<unknown> {
  const version = await request(peer, mtype.versionRequest, { supported_versions: ['1.0.0'] });
  if (version.message.payload.success !== true) throw new Error(`version: ${JSON.stringify(version.message)}`);
  const { message } = await request(peer, mtype.login, { username, password });
  if (message.mtype !== mtype.loginResponse || message.payload.auth !== 0) throw new Error(`login ${username}: ${JSON.stringify(message)}`);
  return message.payload.id;
}
