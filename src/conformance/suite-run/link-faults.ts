/**
 * The `fault` steps of a case against a live target: link faults on a client's fault proxy (the
 * message proxy of its transport, TCP or QUIC; over QUIC, datagram faults on a UDP proxy) and
 * process faults on a command target protosim started.
 */
import { linkFaultKinds, type StepFile } from '../../scenario/suite-schema.js';
import { TargetError } from '../../errors.js';
import { StepError, StepFailure, StepSkip } from '../engine/verdicts.js';
import { FaultProxy, type MessageProxy, type ProxyDirection } from '../fault-proxy.js';
import { QuicFaultProxy } from '../proxy/quic-proxy.js';
import { UdpFaultProxy } from '../proxy/udp-proxy.js';
import type { CaseContext } from './case-context.js';

/**
 * Over QUIC, the faults that act on datagrams: the client's UDP proxy (udp-proxy.ts), between its
 * message proxy (if it has one) and the target. QUIC's recovery is part of what they test: a
 * partition holds datagrams and QUIC sends them again; latency and jitter delay every packet.
 * Every other link fault acts on messages, at the client's QUIC message proxy (quic-proxy.ts).
 */
const datagramFaults: ReadonlySet<string> = new Set(['latency', 'jitter', 'partition', 'heal', 'timeout']);

/**
 * Starts a fault proxy for each client the case puts a link fault on: TCP, one message proxy;
 * QUIC, a message proxy for message faults and a UDP proxy for datagram faults (chained when the
 * case has both: client, message proxy, UDP proxy, target).
 */
export async function setupProxies(cx: CaseContext): Promise<void> {
  const kinds = new Map<string, Set<string>>();
  for (const s of cx.c.steps) {
    if (s.fault === undefined || s.client === undefined || !(linkFaultKinds as readonly string[]).includes(s.fault)) continue;
    if (!kinds.has(s.client)) kinds.set(s.client, new Set());
    kinds.get(s.client)!.add(s.fault);
  }
  for (const [name, used] of kinds) {
    if (cx.target.transport === 'quic') {
      await setupQuicProxies(cx, name, used);
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

async function setupQuicProxies(cx: CaseContext, name: string, used: ReadonlySet<string>): Promise<void> {
  let upstream = { host: cx.host, port: cx.port };
  if ([...used].some((k) => datagramFaults.has(k))) {
    const udp = await UdpFaultProxy.start({ targetHost: cx.host, targetPort: cx.port });
    cx.udpProxies.set(name, udp);
    upstream = { host: udp.host, port: udp.port };
  }
  if ([...used].some((k) => !datagramFaults.has(k) && k !== 'clear')) {
    cx.proxies.set(name, await QuicFaultProxy.start({ targetHost: upstream.host, targetPort: upstream.port, quic: cx.target.quic ?? {}, maxMessageBytes: cx.limits.maxFrameBytes }));
  }
}

export async function fault(cx: CaseContext, s: StepFile): Promise<void> {
  const kind = s.fault!;
  // either way: without a delimiter, neither the target nor protosim can tell split or merged messages apart
  if ((kind === 'split' || kind === 'merge') && cx.codec?.oneInFlight === true) {
    throw new StepSkip(`fault ${kind} needs messages that can be told apart in a byte stream; in ${cx.codec.name} framing a read is a message (no delimiter), so run the case with a delimited framing (--framing length-delimited)`);
  }
  if (!(linkFaultKinds as readonly string[]).includes(kind)) return processFault(cx, s);
  if (cx.target.transport !== 'quic') return linkFault(cx, s);
  // QUIC: datagram faults on the UDP proxy, the others on the message proxy; clear on both
  if (datagramFaults.has(kind) || kind === 'clear') datagramFault(cx, s);
  if (!datagramFaults.has(kind) && cx.proxies.has(s.client!)) linkFault(cx, s);
}

/** A link fault on the client's message proxy (TCP, or QUIC for all but the datagram faults). */
function linkFault(cx: CaseContext, s: StepFile): void {
  const kind = s.fault!;
  const proxy = cx.proxies.get(s.client!)!;
  // What the model may no longer take for granted on this link.
  // (held or delayed requests reach the server at a moment the case does not know: the model takes them as maybe read)
  if (kind === 'timeout' || kind === 'cut' || kind === 'drop' || ((kind === 'hold' || kind === 'delay') && s.direction !== 'from-target')) cx.lossy.add(s.client!);
  if (kind === 'clear' || kind === 'heal') cx.lossy.delete(s.client!);
  // a partition (TCP, here) holds what the client writes and delivers it when it heals: the model takes it then
  if (kind === 'partition' && !cx.partitioned.has(s.client!)) cx.partitioned.set(s.client!, []);
  if (kind === 'timeout') cx.partitionEnds(s.client!, 'lost');
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
      proxy.heal();
      return cx.partitionEnds(s.client!, 'delivered');
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
      proxy.clear();
      return cx.partitionEnds(s.client!, 'delivered');
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
      // a message proxy in front of a UDP proxy keeps its upstream: the UDP proxy follows the target
      for (const [name, proxy] of cx.proxies) if (!cx.udpProxies.has(name)) proxy.retarget(cx.host, cx.port);
      for (const proxy of cx.udpProxies.values()) proxy.retarget(cx.host, cx.port);
      return cx.processStarted();
    }
  }
}

/** `fault: release`: the held messages, oldest first, or in the step's order (indices into what is held). */
function proxyRelease(proxy: MessageProxy, s: StepFile): void {
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
 * A datagram fault on a QUIC target's link: latency, jitter, partition, heal and timeout on the
 * client's UDP proxy; `clear` ends them (the message proxy's part of it is linkFault's).
 */
function datagramFault(cx: CaseContext, s: StepFile): void {
  const kind = s.fault!;
  const name = s.client!;
  const proxy = cx.udpProxies.get(name);
  if (proxy === undefined) return;
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
      cx.lossy.delete(name);
      proxy.set({ latencyMs: 0, jitterMs: 0 });
      proxy.heal();
      return proxy.clearMessageOps();
  }
}
