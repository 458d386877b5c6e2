/**
 * Where a live implementation is and how to talk to it: the `target` of a scenario or suite file
 * (live mode). Either an address of a server already running, or a command protosim starts itself.
 */
import { z } from 'zod';

/** How messages become bytes on the wire. */
export const codecNames = ['json-lines', 'gob', 'protobuf', 'im-http'] as const;
export type CodecName = (typeof codecNames)[number];

/**
 * Other spellings accepted wherever a codec is named (`serve --codec`, `run --codec`, suites,
 * target files, manifests); protosim itself always prints the name in codecNames.
 */
export const codecAliases: Readonly<Record<string, CodecName>> = { json: 'json-lines', jsonl: 'json-lines', 'json-line': 'json-lines' };

/** The codec a name means (an alias becomes its name), or null when it names none. */
export function normalizeCodec(name: string): CodecName | null {
  if ((codecNames as readonly string[]).includes(name)) return name as CodecName;
  return codecAliases[name] ?? null;
}

/** A codec field of a file: any spelling in, the one name out. */
export const codecSchema = z.enum([...codecNames, ...(Object.keys(codecAliases) as ['json', 'jsonl', 'json-line'])]).transform((c) => normalizeCodec(c)!);

/** How protobuf messages are delimited: a varint byte count, or one message per write (the seed). */
export const framingNames = ['length-delimited', 'raw'] as const;
export type FramingName = (typeof framingNames)[number];

/** How protosim knows a started command is ready. */
export const readySchema = z.union([
  /** a regular expression over stdout lines; its first group, if any, is the address */
  z.strictObject({ stdout: z.string().min(1) }),
  /** the same over stderr lines */
  z.strictObject({ stderr: z.string().min(1) }),
  /**
   * the port (default: the target's own) listens: seen in /proc/net/tcp without opening a
   * connection (probe: listen, the default), or accepting one (probe: connect)
   */
  z.strictObject({ port: z.number().int().min(1).max(65535).optional(), probe: z.enum(['listen', 'connect']).optional() }),
]);

/** The program's stdin: a pipe protosim holds open (default), at end of file, or a file's contents. */
export const stdinSchema = z.union([z.literal('open'), z.literal('closed'), z.strictObject({ file: z.string().min(1) })]);

/** Signals a target may be asked to stop with. */
export const shutdownSignals = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGKILL'] as const;

/** How protosim asks a started target to end: a signal (SIGTERM by default), or a line on its console (stdin). */
export const shutdownSchema = z.union([z.strictObject({ signal: z.enum(shutdownSignals) }), z.strictObject({ console: z.string().min(1) })]);

/** How the harness reaches a stream target: a TCP stream, or QUIC (one JSON object per stream write). */
export const targetTransports = ['tcp', 'quic'] as const;
export type TargetTransport = (typeof targetTransports)[number];

/** QUIC options of a target (a quic:// address's query says the same). */
export const quicTargetSchema = z.strictObject({
  /** ALPN protocols offered; default [echo-protocol] */
  alpn: z.array(z.string().min(1)).min(1).optional(),
  /** TLS server name (SNI, and the name verified); default localhost */
  serverName: z.string().min(1).optional(),
  /** verify the server's certificate; default false (loopback test servers make theirs at start) */
  verify: z.boolean().optional(),
  /** a PEM file of the CA to verify with (implies verify); relative to the working directory */
  ca: z.string().min(1).optional(),
});

const targetFields = {
  /** `tcp://127.0.0.1:9000`, `quic://127.0.0.1:4433` or `http://127.0.0.1:8112/IMserver.php`; loopback only */
  address: z.string().min(1).optional(),
  /** a server command protosim starts, stops, kills, pauses and restarts; `{protosim}` is protosim itself, `{port}` the chosen port */
  command: z.array(z.string()).min(1).optional(),
  cwd: z.string().optional(),
  env: z.record(z.string(), z.string()).optional(),
  ready: readySchema.optional(),
  /** `auto`: protosim picks a free loopback port and substitutes it for `{port}` in the command */
  port: z.union([z.literal('auto'), z.number().int().min(1).max(65535)]).optional(),
  /** how long a command has to become ready */
  startTimeoutMs: z.number().int().positive().optional(),
  /** a command's stdin: open (default; a pipe protosim holds), closed (at end of file), or { file: PATH } */
  stdin: stdinSchema.optional(),
  /** how a command is asked to stop: { signal: SIGTERM } (default) or { console: quit } (a line on its stdin); SIGKILL after 2 s */
  shutdown: shutdownSchema.optional(),
  codec: codecSchema.optional(),
  framing: z.enum(framingNames).optional(),
  /** how long an `expect` waits by default */
  replyTimeoutMs: z.number().int().positive().optional(),
  /** a command target's transport: tcp (default) or quic; an address says it by its scheme */
  transport: z.enum(targetTransports).optional(),
  /** QUIC: ALPN, server name, certificate verification, CA */
  quic: quicTargetSchema.optional(),
};

/** A target as a mapping (also the whole of a target file). */
export const targetMappingSchema = z.strictObject(targetFields);

/** A target: an address string, or a mapping. */
export const targetSchema = z.union([z.string().min(1), targetMappingSchema]);
export type TargetFile = z.infer<typeof targetSchema>;
