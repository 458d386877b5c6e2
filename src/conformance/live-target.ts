/**
 * Resolves what a suite runs against: the suite file's `target`, overridden by the command line
 * (`--target ADDRESS`, `--codec`, `--framing`), into an address or a command to start, with the
 * codec and framing to speak. Problems are InputErrors (exit 2) that say what would be valid.
 */
import { isAbsolute, resolve as resolvePath } from 'node:path';
import { InputError } from '../errors.js';
import { liveProtocolNamed } from '../models/registry.js';
import { framedProtocols, protocolCodecs, type Suite } from '../scenario/load-suite.js';
import { parseTargetAddress, schemeProblem, targetScheme, type QuicTargetOptions, type TargetAddress } from '../scenario/target-address.js';
import { framingNames, normalizeCodec, type CodecName, type FramingName } from '../scenario/target-schema.js';
import type { CommandTargetSpec } from './managed-process.js';

export interface LiveTargetOverrides {
  /** `--target ADDRESS`: a server already running; replaces the file's target */
  target?: string;
  codec?: string;
  framing?: string;
  replyTimeoutMs?: number;
  /** a command target is killed past this much output (see CommandTargetSpec.maxOutputBytes) */
  maxOutputBytes?: number;
}

export interface ResolvedTarget {
  /** a server already running */
  address?: TargetAddress;
  /** a server protosim starts */
  command?: CommandTargetSpec;
  codec: CodecName;
  framing: FramingName;
  replyTimeoutMs: number;
  /** for reports: the address or the command line */
  description: string;
  /** how the harness reaches it: a TCP stream (or HTTP for kv), or QUIC */
  transport: 'tcp' | 'quic';
  /** QUIC: ALPN, server name, verification and the CA's path (resolved against the working directory) */
  quic?: QuicTargetOptions;
}

/** How long an expect waits by default. */
export const defaultReplyTimeoutMs = 2000;
/** How long a command has to print its ready line by default. */
export const defaultStartTimeoutMs = 10_000;

export function resolveTarget(suite: Suite, overrides: LiveTargetOverrides, cwd: string): ResolvedTarget {
  const protocol = suite.spec.protocol;
  const file = typeof suite.spec.target === 'string' ? { address: suite.spec.target } : (suite.spec.target ?? {});
  const codecs = protocolCodecs(protocol);
  const overrideCodec = overrides.codec !== undefined ? normalizeCodec(overrides.codec) : undefined;
  if (overrideCodec === null) {
    throw new InputError(`--codec: expected one of ${codecs.join(', ')} for ${protocol}, got ${JSON.stringify(overrides.codec)}`);
  }
  if (overrides.framing !== undefined && !(framingNames as readonly string[]).includes(overrides.framing)) {
    throw new InputError(`--framing: expected ${framingNames.join(' or ')}, got ${JSON.stringify(overrides.framing)}`);
  }
  const codec = (overrideCodec ?? ('codec' in file ? file.codec : undefined) ?? codecs[0]!) as CodecName;
  if (!codecs.includes(codec)) throw new InputError(`--codec: ${protocol} speaks ${codecs.join(' or ')}, not ${codec}`);
  const framing = (overrides.framing ?? ('framing' in file ? file.framing : undefined) ?? 'length-delimited') as FramingName;
  if (overrides.framing !== undefined && liveProtocolNamed(protocol)?.framings === undefined) throw new InputError(`--framing applies to ${framedProtocols()} only`);
  const replyTimeoutMs = overrides.replyTimeoutMs ?? ('replyTimeoutMs' in file ? file.replyTimeoutMs : undefined) ?? defaultReplyTimeoutMs;
  const scheme = targetScheme(protocol);
  const addressText = overrides.target ?? ('address' in file ? file.address : undefined);
  if (addressText !== undefined) {
    const address = parseTargetAddress(addressText);
    if (typeof address === 'string') throw new InputError(`${overrides.target !== undefined ? '--target' : `${suite.file}: target`}: ${address}`, 'bad-target');
    const wrongScheme = schemeProblem(protocol, address);
    if (wrongScheme !== null) throw new InputError(wrongScheme, 'bad-target');
    if (address.scheme !== 'quic') return { address, codec, framing, replyTimeoutMs, description: address.text, transport: 'tcp' };
    const fileQuic = 'quic' in file && overrides.target === undefined ? file.quic : undefined;
    return { address, codec: quicCodec(codec), framing, replyTimeoutMs, description: address.text, transport: 'quic', quic: resolveQuic({ ...fileQuic, ...address.quic }, cwd) };
  }
  if ('command' in file && file.command !== undefined) {
    const quic = 'transport' in file && file.transport === 'quic';
    const command: CommandTargetSpec = {
      // `{codec}` and `{framing}` as protosim names them everywhere (serve --codec json-lines too).
      command: file.command.map((a) => (a === '{codec}' ? codec : a === '{framing}' ? framing : a)),
      cwd: file.cwd ?? cwd,
      env: file.env,
      ready: file.ready,
      port: file.port,
      startTimeoutMs: file.startTimeoutMs ?? defaultStartTimeoutMs,
      ...(file.stdin !== undefined ? { stdin: typeof file.stdin === 'object' ? { file: isAbsolute(file.stdin.file) ? file.stdin.file : resolvePath(file.cwd ?? cwd, file.stdin.file) } : file.stdin } : {}),
      ...(file.shutdown !== undefined ? { shutdown: file.shutdown } : {}),
      // a QUIC server is ready when its UDP port is bound (and a ready line's address is read as quic://)
      scheme: quic ? 'quic' : scheme,
      ...(overrides.maxOutputBytes !== undefined ? { maxOutputBytes: overrides.maxOutputBytes } : {}),
    };
    return {
      command,
      codec: quic ? quicCodec(codec) : codec,
      framing,
      replyTimeoutMs,
      description: command.command.join(' '),
      transport: quic ? 'quic' : 'tcp',
      ...(quic ? { quic: resolveQuic(file.quic ?? {}, file.cwd ?? cwd) } : {}),
    };
  }
  throw new InputError(`${suite.file}: no target; give --target tcp://127.0.0.1:PORT (quic://... over QUIC, http://... for kv) or a target: in the suite`, 'no-target');
}

/** Over QUIC the messages are JSON objects: the json-lines codec's messages, without the newline. */
function quicCodec(codec: CodecName): CodecName {
  if (codec !== 'json-lines') throw new InputError(`over QUIC the messages are JSON objects, one per stream write (codec json-lines), not ${codec}`, 'bad-target');
  return codec;
}

/** The CA's path against the working directory; it is read when a connection is made. */
function resolveQuic(quic: QuicTargetOptions, cwd: string): QuicTargetOptions {
  return quic.ca === undefined ? quic : { ...quic, ca: isAbsolute(quic.ca) ? quic.ca : resolvePath(cwd, quic.ca) };
}
