/**
 * Where a live implementation is and how to talk to it: the `target` of a scenario or suite file
 * (live mode). Either an address of a server already running, or a command protosim starts itself.
 */
import { z } from 'zod';

/** How messages become bytes on the wire. */
export const codecNames = ['json-lines', 'gob', 'protobuf', 'im-http'] as const;
export type CodecName = (typeof codecNames)[number];

/** How protobuf messages are delimited: a varint byte count, or one message per write (the seed). */
export const framingNames = ['length-delimited', 'raw'] as const;
export type FramingName = (typeof framingNames)[number];

/** How protosim knows a started command is ready. */
export const readySchema = z.union([
  /** a regular expression over stdout lines; its first group, if any, is the address */
  z.strictObject({ stdout: z.string().min(1) }),
  /** the same over stderr lines */
  z.strictObject({ stderr: z.string().min(1) }),
  /** the port accepts connections */
  z.strictObject({ port: z.number().int().min(1).max(65535) }),
]);

const targetFields = {
  /** `tcp://127.0.0.1:9000` or `http://127.0.0.1:8112/IMserver.php`; loopback only */
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
  codec: z.enum(codecNames).optional(),
  framing: z.enum(framingNames).optional(),
  /** how long an `expect` waits by default */
  replyTimeoutMs: z.number().int().positive().optional(),
};

/** A target as a mapping (also the whole of a target file). */
export const targetMappingSchema = z.strictObject(targetFields);

/** A target: an address string, or a mapping. */
export const targetSchema = z.union([z.string().min(1), targetMappingSchema]);
export type TargetFile = z.infer<typeof targetSchema>;
