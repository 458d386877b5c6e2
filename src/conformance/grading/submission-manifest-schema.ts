/**
 * The schema of a submission manifest (`protosim.yaml` or `submission.yaml` in each submission's
 * folder, docs/grading.md): a name, and how to run what the student handed in. A server submission
 * gives the command that starts its server (on the port protosim picks: `{port}`); a client
 * submission gives an adapter (a file, or the adapter's fields inline) that says how to start and
 * read its client program.
 */
import { z } from 'zod';
import { codecSchema, framingNames, quicTargetSchema, targetTransports } from '../../scenario/target-schema.js';

/** The file names a manifest may have, in the order they are looked for. */
export const manifestFileNames = ['protosim.yaml', 'submission.yaml'] as const;

/** How protosim knows the server listens. No fixed `port:` here: every submission gets its own. */
const readySchema = z.union([
  /** a regular expression over stdout lines; its first group, if any, is the address */
  z.strictObject({ stdout: z.string().min(1) }),
  /** the same over stderr lines */
  z.strictObject({ stderr: z.string().min(1) }),
]);

export const serverSubmissionSchema = z.strictObject({
  /**
   * The server command. `{port}`: a free loopback port protosim picks for this submission (the
   * server must listen there, or print its address for `ready`); `{node}`: this Node.js;
   * `{protosim}`: protosim itself; `{dir}`: the submission's folder.
   */
  command: z.array(z.string()).min(1),
  /** working directory, relative to the submission's folder (default: the folder) */
  cwd: z.string().optional(),
  env: z.record(z.string(), z.string()).optional(),
  /** default: ready when `{port}` accepts a connection */
  ready: readySchema.optional(),
  /** how long the server has to become ready */
  startTimeoutMs: z.number().int().positive().optional(),
  codec: codecSchema.optional(),
  framing: z.enum(framingNames).optional(),
  /** tcp (default) or quic: the server listens on UDP `{port}` (TLS, ALPN echo-protocol; JSON wires) */
  transport: z.enum(targetTransports).optional(),
  /** QUIC options (ALPN, server name, certificate checks), as in a target file */
  quic: quicTargetSchema.optional(),
  /** how long an `expect` waits by default */
  replyTimeoutMs: z.number().int().positive().optional(),
});
export type ServerSubmission = z.infer<typeof serverSubmissionSchema>;

export const clientSubmissionSchema = z.strictObject({
  /** an adapter file (relative to the submission's folder), or the adapter's fields inline */
  adapter: z.union([z.string().min(1), z.record(z.string(), z.unknown())]),
  /** values for the adapter's `{name}` placeholders (as `--var` does) */
  vars: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.union([z.string(), z.number()])).optional(),
  /** pty, pipes or auto (default: the adapter's) */
  io: z.enum(['auto', 'pty', 'pipes']).optional(),
});
export type ClientSubmission = z.infer<typeof clientSubmissionSchema>;

export const submissionManifestSchema = z.strictObject({
  /** the name in the summary and the folder of its reports (default: the folder's name) */
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'a name: letters, digits, ., _ or -').optional(),
  /** a server protocol's submission: how to start the server */
  server: serverSubmissionSchema.optional(),
  /** a client program's submission: how to drive it */
  client: clientSubmissionSchema.optional(),
  /** free text for the grader (shown nowhere) */
  notes: z.string().optional(),
});
export type SubmissionManifestFile = z.infer<typeof submissionManifestSchema>;
