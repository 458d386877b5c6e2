/**
 * Link faults between client programs and the suite's server command (the chat protocols' whole
 * live systems): in a case that puts a link fault on a client, that client's program reaches the
 * server through its own fault proxy (../fault-proxy.ts, the one TCP proxy), which cuts the stream
 * into messages with the server's codec and merges, splits, delays, drops, duplicates or holds them
 * in either direction. `direction: to-client` (the default: how a program reads what it is sent) or
 * `to-server`, or `both`.
 *
 * What this makes certain that timing only makes likely: `fault: merge, client: bob, messages: 3`
 * delivers the server's next three messages to bob in one write, which a program that decodes one
 * message per read loses (the seed's register-exit client does). TCP gives no message boundaries,
 * so a correct program reads them all.
 */
import { FaultProxy, type ProxyDirection } from '../fault-proxy.js';
import { liveCodecFor, type LiveCodec } from '../live-codec.js';
import { defaultConnectionLimits } from '../live-connection.js';
import { liveProtocolNamed } from '../../models/registry.js';
import type { FramingName } from '../../scenario/target-schema.js';
import { StepSkip } from '../engine/verdicts.js';
import { clientLinkFaultKinds, type ClientCaseFile, type ClientStepFile } from './client-suite-schema.js';
import type { ClientSuite } from './load-client-suite.js';
import { optionIn } from './suite-server.js';

/** How long a merge waits for its messages before it writes what it has (a step's `ms` sets it). */
export const mergeWaitMs = 3000;

const isLinkFault = (s: ClientStepFile): boolean => s.fault !== undefined && (clientLinkFaultKinds as readonly string[]).includes(s.fault);

/** The proxy directions of a step's `direction` (the proxy's target is the server). */
function directionsOf(d: ClientStepFile['direction']): ProxyDirection[] {
  if (d === 'to-server') return ['to-target'];
  if (d === 'both') return ['to-target', 'from-target'];
  return ['from-target'];
}

/** One fault proxy per client a case puts a link fault on, in front of the suite's server command. */
export class ClientLinks {
  private readonly proxies = new Map<string, FaultProxy>();

  private constructor(
    private readonly names: ReadonlySet<string>,
    private readonly codec: LiveCodec | null,
  ) {}

  /**
   * The links of a case, or undefined when it has no link fault. A case with one needs a server
   * command over TCP: its fault steps SKIP (with why) over QUIC (encrypted datagrams cannot be merged).
   */
  static of(suite: ClientSuite, c: ClientCaseFile, transport: string | undefined): ClientLinks | undefined {
    const steps = c.steps.filter(isLinkFault);
    if (steps.length === 0) return undefined;
    const command = suite.spec.server?.command;
    // (a suite without a server command is refused when it loads: load-client-suite.ts)
    if (command === undefined) return new ClientLinks(new Set(), null).refusing('link faults need the suite\'s server command');
    if (transport === 'quic') return new ClientLinks(new Set(), null).refusing('link faults on client programs over QUIC are not supported (the UDP proxy cannot merge or split encrypted datagrams)');
    const protocol = liveProtocolNamed(suite.spec.protocol);
    const codecName = optionIn(command, '--codec') ?? protocol?.codecs[0]?.name ?? 'json-lines';
    const framing = (optionIn(command, '--framing') ?? 'length-delimited') as FramingName;
    return new ClientLinks(new Set(steps.map((s) => s.client!)), liveCodecFor(suite.spec.protocol, codecName, framing));
  }

  private refusal: string | undefined;

  private refusing(why: string): this {
    this.refusal = why;
    return this;
  }

  /** Where client `name` connects: through its proxy when the case faults its link, else the server itself. */
  async addressFor(name: string, serverAddress: string): Promise<string> {
    if (!this.names.has(name)) return serverAddress;
    const m = /^(\w+):\/\/([^/:]+|\[[^\]]+\]):(\d+)$/.exec(serverAddress);
    if (m === null) throw new StepSkip(`link faults need a host:port server address; the server command printed ${serverAddress}`);
    let proxy = this.proxies.get(name);
    if (proxy === undefined) {
      const codec = this.codec;
      proxy = await FaultProxy.start({
        targetHost: m[2]!.replace(/^\[|\]$/g, ''),
        targetPort: Number(m[3]),
        splitter: codec === null ? undefined : (direction) => codec.splitter(direction, defaultConnectionLimits.maxFrameBytes),
      });
      this.proxies.set(name, proxy);
    }
    return `${m[1]}://127.0.0.1:${proxy.port}`;
  }

  /** A link fault step, on its client's proxy. */
  apply(step: ClientStepFile): void {
    if (this.refusal !== undefined) throw new StepSkip(this.refusal);
    const proxy = this.proxies.get(step.client!);
    if (proxy === undefined) throw new StepSkip(`fault ${step.fault} on ${step.client}: start ${step.client} first (its program connects through the proxy)`);
    const scope = step.count !== undefined ? { count: step.count } : {};
    for (const d of directionsOf(step.direction)) {
      switch (step.fault) {
        case 'merge':
          // people type a moment apart: wait for all of them (up to ms, default mergeWaitMs)
          proxy.merge(d, { ...scope, waitMsMax: step.ms ?? mergeWaitMs, ...(step.messages !== undefined ? { messages: step.messages } : {}) });
          break;
        case 'split':
          proxy.split(d, { ...scope, ...(step.parts !== undefined ? { parts: step.parts } : {}) });
          break;
        case 'delay':
          proxy.delay(d, step.ms ?? 0, scope);
          break;
        case 'drop':
          proxy.drop(d, step.count ?? 1);
          break;
        case 'duplicate':
          proxy.duplicate(d, scope);
          break;
        case 'hold':
          proxy.hold(d, scope);
          break;
        case 'release':
          proxy.release({ direction: d });
          break;
      }
    }
  }

  /** Whether a step is one of these faults. */
  static handles(step: ClientStepFile): boolean {
    return isLinkFault(step);
  }

  async close(): Promise<void> {
    await Promise.all([...this.proxies.values()].map((p) => p.close().catch(() => undefined)));
  }
}
