/**
 * Link faults between client programs and the suite's server command (the chat protocols' whole
 * live systems): in a case that puts a link fault on a client, that client's program reaches the
 * server through its own message proxy, the transport's: over TCP the fault proxy (../fault-proxy.ts),
 * which cuts the stream into messages with the server's codec; over QUIC the terminating QUIC proxy
 * (../proxy/quic-proxy.ts), which cuts each stream into JSON objects (the seed's framing). Either
 * merges, splits, delays, drops, duplicates or holds messages in either direction (the same code,
 * ../proxy/message-proxy.ts). `direction: to-client` (the default: how a program reads what it is
 * sent) or `to-server`, or `both`.
 *
 * Over QUIC the program's TLS ends at the proxy, which presents protosim's own self-signed
 * certificate: loopback clients that do not verify (the corpus's quic-go client without `-ca`, as
 * protosim's client) connect unchanged. A server address that asks its clients to verify (`verify=true`
 * or `ca=` in the quic:// address) makes the fault step SKIP, saying why: the proxy cannot present
 * the certificate the program was told to trust.
 *
 * What this makes certain that timing only makes likely: `fault: merge, client: bob, messages: 3`
 * delivers the server's next three messages to bob in one write, which a program that decodes one
 * message per read loses (the seed's register-exit client does). TCP gives no message boundaries,
 * so a correct program reads them all.
 */
import { FaultProxy, type ProxyDirection } from '../fault-proxy.js';
import type { MessageProxy } from '../proxy/message-proxy.js';
import { QuicFaultProxy } from '../proxy/quic-proxy.js';
import { parseTargetAddress } from '../../scenario/target-address.js';
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

/** One message proxy per client a case puts a link fault on, in front of the suite's server command. */
export class ClientLinks {
  private readonly proxies = new Map<string, MessageProxy>();

  private constructor(
    private readonly names: ReadonlySet<string>,
    private readonly codec: LiveCodec | null,
  ) {}

  /**
   * The links of a case, or undefined when it has no link fault. A case with one needs a server
   * command; over QUIC (`transport: quic`) each faulted program gets a QUIC message proxy.
   */
  static of(suite: ClientSuite, c: ClientCaseFile, transport: string | undefined): ClientLinks | undefined {
    const steps = c.steps.filter(isLinkFault);
    if (steps.length === 0) return undefined;
    const command = suite.spec.server?.command;
    // (a suite without a server command is refused when it loads: load-client-suite.ts)
    if (command === undefined) return new ClientLinks(new Set(), null).refusing('link faults need the suite\'s server command');
    const names = new Set(steps.map((s) => s.client!));
    // QUIC carries one JSON object per stream write: the QUIC proxy cuts the streams itself
    if (transport === 'quic') return new ClientLinks(names, null);
    const protocol = liveProtocolNamed(suite.spec.protocol);
    const codecName = optionIn(command, '--codec') ?? protocol?.codecs[0]?.name ?? 'json-lines';
    const framing = (optionIn(command, '--framing') ?? 'length-delimited') as FramingName;
    return new ClientLinks(names, liveCodecFor(suite.spec.protocol, codecName, framing));
  }

  private refusal: string | undefined;

  private refusing(why: string): this {
    this.refusal = why;
    return this;
  }

  /** Where client `name` connects: through its proxy when the case faults its link, else the server itself. */
  async addressFor(name: string, serverAddress: string): Promise<string> {
    if (!this.names.has(name)) return serverAddress;
    if (serverAddress.startsWith('quic://')) return this.quicAddressFor(name, serverAddress);
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
    } else proxy.retarget(m[2]!.replace(/^\[|\]$/g, ''), Number(m[3])); // a restarted server may listen elsewhere
    return `${m[1]}://127.0.0.1:${proxy.port}`;
  }

  /** Client `name`'s QUIC message proxy, in front of the QUIC server at `serverAddress`. */
  private async quicAddressFor(name: string, serverAddress: string): Promise<string> {
    const a = parseTargetAddress(serverAddress);
    if (typeof a === 'string' || a.scheme !== 'quic') throw new StepSkip(`link faults need a quic://host:port server address; the server command printed ${serverAddress} (${typeof a === 'string' ? a : 'not quic'})`);
    const quic = a.quic ?? {};
    if (quic.verify === true || quic.ca !== undefined) {
      // the program would verify the proxy's certificate against the server's CA, and fail
      this.refusal = `link faults over QUIC: the server's address ${serverAddress} tells its clients to verify its certificate, and the proxy between them can present only protosim's own self-signed certificate, not the one ${name} was told to trust`;
      return serverAddress;
    }
    let proxy = this.proxies.get(name);
    if (proxy === undefined) {
      proxy = await QuicFaultProxy.start({ targetHost: a.host, targetPort: a.port, quic });
      this.proxies.set(name, proxy);
    } else proxy.retarget(a.host, a.port); // a restarted server may listen elsewhere
    const query = /\?.*$/.exec(serverAddress)?.[0] ?? '';
    return `quic://127.0.0.1:${proxy.port}${query}`;
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
