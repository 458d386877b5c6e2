/**
 * Runs a protocol package's server program (src/models/server-program.ts) on the generic hosts:
 * the stream host (stream-host.ts, TCP) or the HTTP host (http-host.ts). This is where the rules'
 * effects meet the world: the byte codec of the wire format the package names (src/wire), the
 * server's clock (clock.ts: its `now()` passed to the rules, its timers for theirs, all cancelled at
 * shutdown), writes whose flushing the rules asked to hear of, closes, logs and a defect's crash.
 * What the rules did beyond a request (a write flushed, a timer fired) is told as a server event.
 * Nothing here knows a protocol.
 */
import type { HttpServer, HttpStep, ServerEffect, ServerStep, StreamServer, StreamWire } from '../models/server-program.js';
import type { Clock, ClockTimer } from './clock.js';
import { encodeGobMessage, GobDecoder } from '../wire/gob.js';
import { LineFramer } from '../wire/line-framer.js';
import { decodeProtobuf, delimit, encodeProtobuf, LengthDelimitedFramer, RawFramer, type Framer } from '../wire/protobuf.js';
import type { HttpCodec, HttpProtocol, HttpRulesRunner } from './http-host.js';
import type { Decoded, HostApi, RulesRunner, StreamCodec, StreamProtocol } from './stream-host.js';

/** The stream codec of a wire format: framing and bytes here, messages by the package. */
export function streamCodec<Req, Out>(wire: StreamWire<Req, Out>): StreamCodec<Req, Out> {
  const decoded = (d: { request: Req } | { problem: string; fatal: boolean }): Decoded<Req> =>
    'request' in d ? { kind: 'request', request: d.request } : { kind: 'error', reason: d.problem, fatal: d.fatal };
  switch (wire.format) {
    case 'json-lines':
      return {
        decoder(limits) {
          const framer = new LineFramer(limits.maxFrameBytes);
          return {
            push: (chunk) =>
              framer.push(chunk).flatMap((event): Decoded<Req>[] => {
                if (event.kind === 'too-long') return [{ kind: 'error', reason: `message longer than maxFrameBytes=${limits.maxFrameBytes}`, fatal: true }];
                return event.text.trim() === '' ? [] : [decoded(wire.decode(event.text))];
              }),
            hasPartialFrame: () => framer.hasPartialFrame(),
          };
        },
        encode: (out) => wire.encode(out),
        errorReply: (text) => wire.errorReply(text),
      };
    case 'gob':
      return {
        decoder(limits) {
          const decoder = new GobDecoder(wire.struct, limits.maxFrameBytes);
          return {
            push: (chunk) =>
              decoder.push(chunk).map((e): Decoded<Req> => (e.kind === 'message' ? decoded(wire.decode(e.message)) : { kind: 'error', reason: `bad gob stream: ${e.reason}`, fatal: true })),
            hasPartialFrame: () => decoder.hasPartialFrame(),
          };
        },
        encode: (out) => encodeGobMessage(wire.struct, wire.encode(out) as Record<string, string | boolean>),
        errorReply: (text) => wire.errorReply(text),
      };
    case 'protobuf': {
      const { schema, framing } = wire;
      return {
        decoder(limits) {
          const framer: Framer = framing === 'raw' ? new RawFramer(limits.maxFrameBytes) : new LengthDelimitedFramer(limits.maxFrameBytes);
          return {
            push: (chunk) =>
              framer.push(chunk).map((event): Decoded<Req> => {
                if (event.kind === 'error') return event;
                try {
                  return decoded(wire.decode(decodeProtobuf(schema, 'request', event.bytes)));
                } catch (error) {
                  return { kind: 'error', reason: `bad request: not a ${schema.request.name} message (${(error as Error).message})`, fatal: false };
                }
              }),
            hasPartialFrame: () => framer.hasPartialFrame(),
          };
        },
        encode: (out) => {
          const bytes = encodeProtobuf(schema, 'reply', wire.encode(out));
          return framing === 'raw' ? bytes : delimit(bytes);
        },
        errorReply: (text) => wire.errorReply(text),
      };
    }
  }
}

/** A stream server program as a plug-in of the stream host. */
export function streamProtocolOf<S, Req, Out>(name: string, server: StreamServer<S, Req, Out>): StreamProtocol<Req, Out> {
  return {
    name,
    codec: streamCodec(server.wire),
    ...(server.perRead ? { perRead: (decoded: Decoded<Req>[]) => server.perRead!(decoded) } : {}),
    ...(server.readIsMessage === true ? { readIsMessage: true } : {}),
    ...(server.keepClosedConnections === true ? { keepClosedConnections: true } : {}),
    ...(server.keepConnectionBuffers === true ? { keepConnectionBuffers: true } : {}),
    rules: (host) => runRules(server, host),
  };
}

function runRules<S, Req, Out>(server: StreamServer<S, Req, Out>, host: HostApi<Out>): RulesRunner<Req> {
  const { rules } = server;
  const { clock, events } = host;
  let state = rules.init();
  const timers = new Map<string, ClockTimer>();

  function step(next: ServerStep<S, Out>): void {
    state = next.state;
    for (const effect of next.effects) carryOut(effect);
  }

  function carryOut(e: ServerEffect<Out>): void {
    switch (e.type) {
      case 'send': {
        const tag = e.tag;
        if (tag === undefined || rules.flushed === undefined) host.send(e.conn, e.out);
        else {
          host.send(e.conn, e.out, (error) => {
            step(rules.flushed!(state, e.conn, tag, error === undefined, clock.now()));
            events.emit({ type: 'write-flushed', conn: e.conn, tag, delivered: error === undefined });
          });
        }
        return;
      }
      case 'close':
        return host.close(e.conn, e.reason);
      case 'crash':
        return host.crash(new Error(e.reason));
      case 'log':
        return host.log(e.text);
      case 'timer': {
        timers.get(e.id)?.cancel();
        const timer = clock.setTimer(e.afterMs, () => {
          timers.delete(e.id);
          if (rules.timer !== undefined) step(rules.timer(state, e.id, clock.now()));
          events.emit({ type: 'timer-fired', id: e.id });
        });
        timers.set(e.id, timer);
        return;
      }
      case 'cancel':
        timers.get(e.id)?.cancel();
        timers.delete(e.id);
        return;
    }
  }

  return {
    ...(rules.opened ? { opened: (conn: string) => step(rules.opened!(state, conn)) } : {}),
    ...(rules.heard ? { heard: (conn: string) => step(rules.heard!(state, conn, clock.now())) } : {}),
    request: (conn, request) => step(rules.request(state, conn, request, clock.now())),
    closed: (conn, info) => step(rules.closed(state, conn, info, clock.now())),
    shutdown() {
      if (rules.shutdown) step(rules.shutdown(state));
      for (const timer of timers.values()) timer.cancel();
      timers.clear();
    },
  };
}

/** An HTTP server program as a plug-in of the HTTP host. */
export function httpProtocolOf<S, Req, Out>(name: string, server: HttpServer<S, Req, Out>): HttpProtocol<Req, Out> {
  const codec: HttpCodec<Req, Out> = {
    decode(method, target) {
      const d = server.wire.decode(method, target);
      return 'request' in d ? { kind: 'request', request: d.request } : { kind: 'answer', out: d.answer };
    },
    encode: (out) => server.wire.encode(out),
    internalError: () => server.wire.internalError(),
  };
  return { name, codec, rules: (host) => runHttpRules(server, host.clock) };
}

function runHttpRules<S, Req, Out>(server: HttpServer<S, Req, Out>, clock: Clock): HttpRulesRunner<Req, Out> {
  let state = server.rules.init();
  return {
    request(_conn, request) {
      const first = server.rules.request(state, request);
      state = first.state;
      if ('answer' in first) return first.answer;
      // A defect that yields mid-request: its steps run after the named pauses.
      return (async () => {
        let next: HttpStep<S, Out> = first;
        while ('later' in next) {
          const later: { afterMs: number; then(state: S): HttpStep<S, Out> } = next.later;
          await new Promise<void>((resolve) => clock.setTimer(later.afterMs, resolve));
          next = later.then(state);
          state = next.state;
        }
        return next.answer;
      })();
    },
  };
}
