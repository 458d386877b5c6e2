/**
 * A protocol package: everything protosim knows about one protocol, as one record of pure data and
 * pure functions. The built-in protocols export one each from src/models/<protocol>/index.ts and the
 * registry (registry.ts) lists them; a protocol from outside the tree is an ES module exporting the
 * same record (docs/models.md). Only the model part is required: a package without `live` runs in
 * the simulator, the explorers and `protosim check`; `live` adds the live harness, the oracle and a
 * reference server; `clients` adds client programs driven through adapters.
 */
import type { BenchScript } from './bench-script.js';
import type { ClientBounds, ServerBounds } from './live-bounds.js';
import type { ClientReplayMapping, ClientWire, LiveCodecSpec, MappingOptions, WireMapping } from './live-types.js';
import type { ServerLimitValues, ServerProgram } from './server-program.js';
import type { ProtocolModel } from './types.js';

export interface ProtocolPackage extends ProtocolModel {
  /** How protosim meets live implementations of it (absent: simulation only). */
  readonly live?: LiveProtocol;
  /** Client programs of it, driven through adapters (absent: no adapters, no client suites). */
  readonly clients?: ClientPrograms;
}

/**
 * The live side of a protocol: the name its suites and reference server go by, its wire, its oracle
 * and its server. Protocols may share one (lock-alternation and status-handshake share `kv`, the
 * course's IM key-value server).
 */
export interface LiveProtocol {
  /** what suites (`protocol:`), `protosim serve` and reports call it */
  readonly name: string;
  /** one line, for help texts */
  readonly summary: string;
  /**
   * `tcp`: messages over a TCP stream, in one of `codecs`; `http`: the course's IM key-value HTTP
   * interface, which protosim's kv harness speaks (the kv oracle, and the IM server it plays for
   * client programs)
   */
  readonly transport: 'tcp' | 'http';
  /** an address in examples and error messages: `tcp://127.0.0.1:PORT` */
  readonly exampleAddress: string;
  /** the codecs it speaks, the first being the default */
  readonly codecs: readonly LiveCodecSpec[];
  /** framings of its protobuf codec (`length-delimited`, `raw`); absent: `--framing` does not apply */
  readonly framings?: readonly ('length-delimited' | 'raw')[];
  /** suite steps may name a store on connect (`connect: c1, store: s`): protosim's `store=` extension of the IM interface */
  readonly stores?: boolean;
  /** the server model as the live oracle of a stream server (`expect: model`); the IM interface has the kv oracle */
  mapping?(options: MappingOptions): WireMapping;
  /** model clients on the wire (live scenarios play clients from their models) */
  readonly clientWire?: ClientWire;
  /** model counterexamples replayed on live client programs (`protosim replay TRACE --adapter`) */
  readonly clientReplay?: ClientReplayMapping;
  /** the reference server (`protosim serve`) */
  readonly server: ServerPackage;
  /** the named bounds a server of it is held to beyond the oracle (./live-bounds.ts) */
  readonly bounds?: ServerBounds;
}

/** A reference server: its named flaws, its options, its limits and its rules. */
export interface ServerPackage {
  /** flaws it can be started with (`--defect NAME`), so suites can prove they catch each */
  readonly defects: readonly { name: string; description: string }[];
  /** its own options (`protosim serve` flags, `startServer` fields) */
  readonly options: readonly ServerOptionSpec[];
  /** its defaults for the common limits (names at most 25 characters...) */
  readonly limitDefaults?: Partial<ServerLimitValues>;
  readonly program: ServerProgram;
  /** how `npm run bench:servers` loads it */
  readonly bench?: BenchScript;
}

/**
 * One option of a reference server: the `startServer` field, the `protosim serve` flag that sets it
 * and how the flag's text becomes the value. The program's `configure` checks the value (it may come
 * from a library caller too).
 */
export interface ServerOptionSpec {
  /** the field of `startServer`'s options: `heartbeatTimeoutMs` */
  readonly key: string;
  /** the flag, with its value: `--heartbeat-timeout-ms <ms>` */
  readonly flag: string;
  readonly description: string;
  /**
   * `integer`: a whole number at least `min`; `text`: as typed; `codec`: a codec name (aliases such
   * as `json` accepted) among `choices`; `entries`: repeatable `NAME:VALUE`, collected in a record
   */
  readonly kind: 'integer' | 'text' | 'codec' | 'entries';
  readonly min?: number;
  readonly max?: number;
  readonly choices?: readonly string[];
}

/** Client programs of a protocol, as `adapter check` and client suites drive them. */
export interface ClientPrograms {
  /** the pattern kinds `adapter check`'s friendly session provokes (prompt, message, joined...) */
  readonly exercised: readonly string[];
  /** the sender's own program shows what it sent (an echo), and turns do not alternate */
  readonly echo?: boolean;
  /** the named bounds a client program of it is held to beyond the oracle (./live-bounds.ts) */
  readonly bounds?: ClientBounds;
}
