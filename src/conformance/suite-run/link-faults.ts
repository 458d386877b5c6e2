/**
 * The `fault` steps of a case against a live target: link faults on a client's fault proxy (TCP:
 * message operations and link conditions; QUIC: what a UDP proxy can do, the rest SKIP saying why)
 * and process faults on a command target protosim started.
 */
import { linkFaultKinds, type StepFile } from '../../scenario/suite-schema.js';
import { TargetError } from '../../errors.js';
import { StepError, StepFailure, StepSkip } from '../engine/verdicts.js';
import { FaultProxy, type ProxyDirection } from '../fault-proxy.js';
import { UdpFaultProxy } from '../proxy/udp-proxy.js';
import type { CaseContext } from './case-context.js';

/**
 * Why a link fault is skipped over QUIC. The UDP proxy sees encrypted datagrams, not messages, and
 * QUIC recovers whatever happens to a datagram (sent again, put back in order, a copy discarded):
 * faults that change which messages arrive have no QUIC link equivalent.
 */
const quicSkips: Readonly<Record<string, string>> = {
  drop: 'a message cannot be lost on a QUIC link: the UDP proxy drops datagrams and QUIC sends them again (a message is lost only with its stream reset); the case needs a link that loses messages',
  duplicate: 'a message cannot be duplicated on a QUIC link: QUIC discards a duplicated datagram; the case needs a link that duplicates messages',
  reorder: 'the UDP proxy reorders datagrams, which QUIC puts back in order; messages on different streams have no order to swap',
  hold: 'the UDP proxy cannot tell one message from another in encrypted datagrams; holding one message needs a TCP link',
  release: 'the UDP proxy cannot tell one message from another in encrypted datagrams; holding one message needs a TCP link',
  delay: 'the UDP proxy cannot tell one message from another in encrypted datagrams; use fault: latency to delay the whole link',
  merge: 'over QUIC several messages go in one stream write with msgs: in a send step; the UDP proxy cannot merge encrypted datagrams',
  reset: 'a QUIC connection cannot be reset from outside (its packets are authenticated); disconnect: mode: reset makes the client vanish instead',
  cut: 'a QUIC connection cannot be cut after N bytes from outside (its packets are authenticated and counted in datagrams)',
  'slow-close': 'slow close is a TCP notion (FIN after a delay); a QUIC connection closes with one CONNECTION_CLOSE',
  bandwidth: 'the UDP proxy does not pace datagrams (a bandwidth limit needs a TCP link)',
};

/** Starts a fault proxy (UDP for a QUIC target) for each client the case puts a link fault on. */
export async function setupProxies(cx: CaseContext): Promise<void> {
  const names = new Set<string>();
  for (const s of cx.c.steps) if (s.fault !== undefined && s.client !== undefined && (linkFaultKinds as readonly string[]).includes(s.fault)) names.add(s.client);
  for (const name of names) {
    if (cx.target.transport === 'quic') {
      cx.udpProxies.set(name, await UdpFaultProxy.start({ targetHost: cx.host, targetPort: cx.port }));
      continue;
    }
    const codec = cx.codec;
    const proxy = await FaultProxy.start({
      targetHost: cx.host,
      targetPort: cx.port,
      splitter: codec === null ? undefined : (direction) => codec.splitter(direction, cx.limits.maxFrameBytes),
    });
    cx.proxies.set(name, proxy);
  }
}

export async function fault(cx: CaseContext, s: StepFile): Promise<void> {
  const kind = s.fault!;
  // either way: without a delimiter, neither the target nor protosim can tell split or merged messages apart
  if ((kind === 'split' || kind === 'merge') && cx.codec?.oneInFlight === true) {
    throw new StepSkip(`fault ${kind} needs messages that can be told apart in a byte stream; in ${cx.codec.name} framing a read is a message (no delimiter), so run the case with a delimited framing (--framing length-delimited)`);
  }
  if ((linkFaultKinds as readonly string[]).includes(kind) && cx.target.transport === 'quic') return quicFault(cx, s);
  if ((linkFaultKinds as readonly string[]).includes(kind)) return linkFault(cx, s);
  return processFault(cx, s);
}

/** A link fault on a TCP target: on the client's fault proxy. */
function linkFault(cx: CaseContext, s: StepFile): void {
  const kind = s.fault!;
  const proxy = cx.proxies.get(s.client!)!;
  // What the model may no longer take for granted on this link.
  // (held or delayed requests reach the server at a moment the case does not know: the model takes them as maybe read)
  if (kind === 'timeout' || kind === 'partition' || kind === 'cut' || kind === 'drop' || ((kind === 'hold' || kind === 'delay') && s.direction !== 'from-target')) cx.lossy.add(s.client!);
  if (kind === 'clear' || kind === 'heal') cx.lossy.delete(s.client!);
  if (kind === 'reset') cx.sawClosed(s.client!, 'reset');
  const direction: ProxyDirection = s.direction === 'from-target' ? 'from-target' : 'to-target';
  // message operations: one direction, or both; for the next `count` messages, else until cleared
  const both = s.direction ?? 'to-target';
  const scope = s.count !== undefined ? { count: s.count } : {};
  switch (kind) {
    case 'latency':
      return proxy.set({ latencyMs: cx.ms(s.ms, 0) });
    case 'jitter':
      return proxy.set({ jitterMs: cx.ms(s.ms, 0) });
    case 'bandwidth':
      return proxy.set({ bytesPerSecond: s.bytesPerSecond! });
    case 'slow-close':
      return proxy.set({ slowCloseMs: cx.ms(s.ms, 0) });
    case 'timeout':
      return proxy.set({ blackhole: true });
    case 'partition':
      return proxy.set({ partitioned: true });
    case 'heal':
      return proxy.heal();
    case 'reset':
      return proxy.resetAll();
    case 'cut':
      if (s.direction === 'both') {
        proxy.cutAfter('to-target', s.afterBytes!);
        proxy.cutAfter('from-target', s.afterBytes!);
        return;
      }
      return proxy.cutAfter(direction, s.afterBytes!);
    case 'drop':
      return proxy.drop(direction, s.count ?? 1);
    case 'clear':
      return proxy.clear();
    case 'hold':
      return proxy.hold(both, scope);
    case 'release':
      proxyRelease(proxy, s);
      return;
    case 'delay':
      return proxy.delay(both, cx.ms(s.ms, 0), scope);
    case 'duplicate':
      return proxy.duplicate(both, scope);
    case 'split':
      return proxy.split(both, { ...scope, ...(s.parts !== undefined ? { parts: s.parts } : {}) });
    case 'merge':
      return proxy.merge(both, { ...scope, ...(s.messages !== undefined ? { messages: s.messages } : {}) });
    case 'reorder':
      return proxy.reorder(both, { ...scope, ...(s.messages !== undefined ? { overtakenBy: s.messages } : {}) });
  }
  return;
}

/** A process fault: on the command target protosim started; SKIP on an address target. */
async function processFault(cx: CaseContext, s: StepFile): Promise<void> {
  const kind = s.fault!;
  const p = cx.process;
  if (p === undefined) throw new StepSkip(`fault ${kind} needs a command target that protosim starts; ${cx.target.description} is an address`);
  // The server model follows the process: it holds what is sent to a paused server, and a
  // process that ends takes its connections and its state with it.
  switch (kind) {
    case 'kill':
      await p.kill();
      return cx.processEnded(false);
    case 'stop':
      await p.stop();
      return cx.processEnded(true);
    case 'pause':
      await p.pauseStopped();
      return cx.streamOracle?.pause();
    case 'resume':
      p.resume();
      return cx.streamOracle?.resume();
    case 'restart': {
      let address: string;
      if (p.running) cx.processEnded(true);
      try {
        address = await p.restart();
      } catch (error) {
        if (error instanceof TargetError) throw new StepError('start', `the target did not come back after restart: ${error.message.split('\n')[0]}`, undefined, error.message);
        throw error;
      }
      const parsed = new URL(address);
      cx.host = parsed.hostname.replace(/^\[|\]$/g, '');
      cx.port = Number(parsed.port);
      for (const proxy of cx.proxies.values()) proxy.retarget(cx.host, cx.port);
      for (const proxy of cx.udpProxies.values()) proxy.retarget(cx.host, cx.port);
      return cx.processStarted();
    }
  }
}

/** `fault: release`: the held messages, oldest first, or in the step's order (indices into what is held). */
function proxyRelease(proxy: FaultProxy, s: StepFile): void {
  const filter = s.direction !== undefined && s.direction !== 'both' ? { direction: s.direction } : {};
  const held = proxy.held(filter);
  if (held.length === 0) throw new StepFailure(`fault release on ${s.client}'s link: no message is held${s.direction ? ` ${s.direction}` : ''} (did the ${s.direction === 'from-target' ? 'target' : 'client'} send one?)`, 'a held message', 'none');
  if (s.order !== undefined) {
    const bad = s.order.find((i) => i >= held.length);
    if (bad !== undefined) throw new StepFailure(`fault release: order names held message ${bad}, but ${held.length} ${held.length === 1 ? 'is' : 'are'} held`, `at most index ${held.length - 1}`, String(bad));
    proxy.release({ ...filter, order: s.order.map((i) => held[i]!) });
    return;
  }
  proxy.release({ ...filter, ...(s.count !== undefined ? { count: s.count } : {}) });
}

/**
 * A link fault on a QUIC target: latency, jitter, partition, heal and timeout on the client's UDP
 * proxy (datagrams); split on the client's own stream writes (one message across writes); the
 * rest SKIP, saying why (quicSkips).
 */
function quicFault(cx: CaseContext, s: StepFile): void {
  const kind = s.fault!;
  const name = s.client!;
  const proxy = cx.udpProxies.get(name)!;
  switch (kind) {
    case 'latency':
      return proxy.set({ latencyMs: cx.ms(s.ms, 0) });
    case 'jitter':
      return proxy.set({ jitterMs: cx.ms(s.ms, 0) });
    case 'partition':
    case 'timeout':
      cx.lossy.add(name);
      return proxy.set(kind === 'partition' ? { partitioned: true } : { blackhole: true });
    case 'heal':
      cx.lossy.delete(name);
      return proxy.heal();
    case 'clear':
      cx.quicSplits.delete(name);
      return proxy.clearMessageOps();
    case 'split':
      if (s.direction === 'from-target' || s.direction === 'both') throw new StepSkip(`fault split ${s.direction}: over QUIC the target's stream writes are its own; the harness can split only what it sends (direction: to-target)`);
      cx.quicSplits.set(name, { parts: Math.max(2, s.parts ?? 2), remaining: s.count ?? Infinity });
      return;
  }
  throw new StepSkip(`fault ${kind} over QUIC: ${quicSkips[kind] ?? 'no QUIC link equivalent'}`);
}
