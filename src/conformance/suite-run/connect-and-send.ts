/**
 * The `connect` and `send` steps of a case against a live target: a client's connection (TCP,
 * directly or through its fault proxy, or QUIC), and what it sends: kv requests over HTTP, messages
 * encoded by the codec, or raw bytes. The server model learns what was sent.
 */
import type { StepFile } from '../../scenario/suite-schema.js';
import type { QuicTargetOptions } from '../../scenario/target-address.js';
import { StepError, StepFailure } from '../engine/verdicts.js';
import { kvQuery, kvRequest } from '../im-http-client.js';
import { isModelRequest } from '../kv-store-oracle.js';
import { ConnectError, LiveConnection, QuicLiveConnection } from '../live-connection.js';
import { fillTemplate } from '../message-pattern.js';
import { sleep, type CaseContext, type ClientState } from './case-context.js';
import { quicConnectTimeoutMsMin, rawWriteGapMs } from './constants.js';

export async function connectClient(cx: CaseContext, name: string, store: string | undefined): Promise<void> {
  const state: ClientState = { name, lastWriteMs: 0, pending: [], store: store === undefined ? undefined : fillTemplate(store, cx.captures, cx.vars) as string };
  if (cx.codec !== null) {
    const { host, port } = cx.endpoint(name);
    const previous = cx.clients.get(name)?.connection;
    if (previous !== undefined) {
      // what a partition still holds of the old connection reaches the server at a moment not known
      cx.partitionEnds(name, 'unsure', true);
      if (!previous.isClosed) previous.disconnect('close');
      if (!cx.closedSeen.has(name) && cx.clients.get(name)?.left !== true) cx.streamOracle?.disconnect(name, 'closed');
    }
    cx.closedSeen.delete(name);
    cx.lossy.delete(name);
    try {
      state.connection =
        cx.target.transport === 'quic'
          ? await QuicLiveConnection.open(name, host, port, quicToward(cx, name), cx.limits, Math.max(cx.replyTimeoutMs, quicConnectTimeoutMsMin))
          : await LiveConnection.open(name, host, port, cx.codec, cx.limits, cx.replyTimeoutMs);
      if (!cx.faulted(name)) cx.reachedTarget = true;
      cx.streamOracle?.connected(name);
    } catch (error) {
      if (!(error instanceof ConnectError)) throw error;
      await cx.checkCrashQuietly();
      throw new StepError('unreachable', `the target is unreachable: ${error.message}`);
    }
  }
  cx.clients.set(name, state);
}

export async function sendMessages(cx: CaseContext, name: string, s: StepFile): Promise<void> {
  const c = cx.client(name);
  if (cx.codec === null) {
    const msgs = s.msgs ?? [s.msg];
    for (const m of msgs) {
      const request = fillTemplate(m, cx.captures, cx.vars);
      const query = kvQuery(request, c.store);
      const { host, port } = cx.endpoint(name);
      const handle = isModelRequest(request) ? cx.kvHistory.send(name, c.store ?? '', request) : undefined;
      const outcome = kvRequest(host, port, cx.path, query, cx.replyTimeoutMs);
      void outcome.then((o) => {
        if (o.kind === 'reply') cx.reachedTarget = cx.replied = true;
        if (handle !== undefined) cx.kvHistory.arrived(handle, o.kind === 'reply' ? o.reply : undefined);
      });
      c.pending.push({ request, outcome, ...(handle !== undefined ? { handle } : {}) });
    }
    return;
  }
  const conn = c.connection!;
  let bytes: Buffer;
  if (s.raw !== undefined) {
    const unit = s.raw.hex !== undefined ? Buffer.from(s.raw.hex.replace(/\s+/g, ''), 'hex') : Buffer.from(fillTemplate(s.raw.text ?? '', cx.captures, cx.vars) as string);
    const end = Buffer.from(s.raw.end ?? '');
    bytes = Buffer.alloc(unit.length * (s.raw.repeat ?? 1) + end.length);
    for (let i = 0; i < (s.raw.repeat ?? 1); i++) unit.copy(bytes, i * unit.length);
    end.copy(bytes, bytes.length - end.length);
    // a line protocol reads what follows a line end as a frame of its own; any other framing (a
    // length prefix, gob's self-description, a protobuf varint) may be lost in the garbage; garbage
    // with line ends inside is several garbage lines, each of which the server may answer
    const lines = cx.codec.name === 'json-lines' ? bytes.reduce((n, b) => n + (b === 0x0a ? 1 : 0), 0) : 1;
    const framed = cx.codec.name === 'json-lines' && bytes.at(-1) === 0x0a;
    if (bytes.length > 0) cx.toServer(name, () => cx.streamOracle?.sendUnreadable(name, framed, lines));
  } else {
    const msgs = (s.msgs ?? [s.msg]).map((m) => fillTemplate(m, cx.captures, cx.vars));
    // Several messages go out in one write: back to back, as a hostile or hasty client sends them.
    bytes = Buffer.concat(msgs.map((m) => cx.codec!.encode(m)));
    const lossy = cx.lossy.has(name);
    for (const m of msgs) cx.toServer(name, (unsure) => cx.streamOracle?.send(name, m, lossy || unsure));
  }
  if (cx.codec.oneInFlight) {
    const gap = c.lastWriteMs + rawWriteGapMs - performance.now();
    if (gap > 0) await sleep(gap);
  }
  try {
    await conn.write(bytes);
  } catch (error) {
    await cx.checkCrashQuietly();
    throw new StepFailure(`could not write to the target: ${(error as Error).message}`, 'an open connection', 'the connection was closed');
  }
  c.lastWriteMs = performance.now();
}

/**
 * How a client connects over QUIC: as the target says, or, through its message proxy, to protosim's
 * own proxy (its own certificate, not verified; the proxy verifies the target as the target says).
 */
function quicToward(cx: CaseContext, name: string): QuicTargetOptions {
  const quic = cx.target.quic ?? {};
  if (!cx.proxies.has(name)) return quic;
  return { ...(quic.alpn !== undefined ? { alpn: quic.alpn } : {}), ...(quic.serverName !== undefined ? { serverName: quic.serverName } : {}), verify: false };
}
