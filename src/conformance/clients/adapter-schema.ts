/**
 * The schema of an adapter file (`adapters/*.yaml`): how to start one client program under test,
 * what its output lines mean, and how to type into it. A grader writes one per submission style;
 * protosim ships adapters for its own example clients (docs/clients.md).
 */
import { z } from 'zod';
import { builtinPackages } from '../../models/registry.js';

/** The protocols whose client programs protosim can drive: the built-in packages with `clients`. */
export const adapterProtocols = builtinPackages.filter((p) => p.clients !== undefined).map((p) => p.name) as [string, ...string[]];
export type AdapterProtocol = string;

/** A regular expression over one output line (ANSI codes already removed), or several (any matches). */
const patternSchema = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]);

/**
 * What output means. Every kind is optional; a case that needs one the adapter lacks is an ERROR
 * saying so. `prompt` also matches an unfinished line (a prompt waits without a newline).
 */
export const patternKinds = {
  prompt: 'the program waits for the person to type (matched on unfinished lines too)',
  message: 'a message from another user is shown; group 1 (or a group named `text`) is the text, an optional group named `from` the author',
  waiting: 'the program waits for a peer (to connect, or to take its turn)',
  joined: 'the program joined the conversation (connected, paired, logged in)',
  peerLeft: 'the program says the other user left',
  serverBusy: 'the program says the server is in use (it was turned away)',
  serverShutdown: 'the program says the server shut down',
  refused: 'the program says a request was refused (unknown user, bad password, name taken)',
  error: 'the program shows an error (a traceback, a connection error)',
} as const;
export type PatternKind = keyof typeof patternKinds;

export const adapterSchema = z.strictObject({
  /** a name for reports: `lock-alternation-example`, `student-42` */
  adapter: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'a name: letters, digits, ., _ or -'),
  protocol: z.enum(adapterProtocols),
  description: z.string().optional(),
  /**
   * The program and its arguments. Placeholders: `{url}` (the IM server URL for protocols 1 and 2),
   * `{address}`, `{host}`, `{port}` (the server), `{name}` (the client's node id: c1, c2...),
   * `{node}` (this Node.js), `{protosim}` (protosim itself), `{adapterDir}`, and `{var}` for each of `vars`.
   */
  command: z.array(z.string()).min(1),
  /** working directory, relative to the adapter file (default: the adapter file's directory) */
  cwd: z.string().optional(),
  env: z.record(z.string(), z.string()).optional(),
  /**
   * How the program reaches its server: `tcp` (default; the IM interface's HTTP for the key-value
   * protocols) or `quic` (TLS, ALPN echo-protocol, one JSON object per stream write, as the seed's
   * chat): the suite's `{protosim} serve` server is then started with `--transport quic` and the
   * program gets its `quic://` address. JSON wires only (ping-liveness, register-exit).
   */
  transport: z.enum(['tcp', 'quic']).optional(),
  /** `auto`: a pseudo-terminal when one can be started, pipes otherwise */
  io: z.enum(['auto', 'pty', 'pipes']).default('auto'),
  /** values for `{name}` placeholders (override with `--var name=value`) */
  vars: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.union([z.string(), z.number()])).optional(),
  patterns: z.strictObject({
    prompt: patternSchema.optional(),
    message: patternSchema.optional(),
    waiting: patternSchema.optional(),
    joined: patternSchema.optional(),
    peerLeft: patternSchema.optional(),
    serverBusy: patternSchema.optional(),
    serverShutdown: patternSchema.optional(),
    refused: patternSchema.optional(),
    error: patternSchema.optional(),
  }),
  input: z
    .strictObject({
      /** what typing a message is: `{text}` the message, `{to}` the recipient (chat protocols) */
      message: z.string().default('{text}\n'),
      /** how the person quits: `ctrl-c`, `eof` (Ctrl-D), or a line to type (`EXIT\n`) */
      quit: z.string().default('ctrl-c'),
      /** lines typed at start, each after the next prompt (a user name, a password) */
      login: z.array(z.string()).optional(),
      /**
       * when the login lines are typed: `prompt` (default) each after the next prompt; `start` all at
       * once as soon as the program runs, for programs that read their login without printing a prompt
       */
      loginAfter: z.enum(['prompt', 'start']).default('prompt'),
      /**
       * what asking for queued messages is (offline-queue: `check\n`, `4\n`, `/check\n`); omit it when
       * the program shows them by itself after logging in
       */
      check: z.string().optional(),
    })
    .default({ message: '{text}\n', quit: 'ctrl-c', loginAfter: 'prompt' }),
  /**
   * Kinds of line the program never prints (a client that shows nothing when it has registered, a
   * client without a prompt). A case that waits for one of them waits `settleMs` instead and goes on
   * if the program still runs: the verdict then comes from what it does on the wire.
   */
  notShown: z.array(z.enum(Object.keys(patternKinds) as [PatternKind, ...PatternKind[]])).default([]),
  /** how long a program that does not show a kind of line is given to get there (see notShown) */
  settleMs: z.number().int().positive().default(1000),
  /**
   * How long this program takes to decide that a silent peer is gone (its lease or heartbeat
   * timeout, in ms). The protocols leave it open, so cases that wait for a peer to be declared gone,
   * or for a dead session to be free again, take it from here (default: the adapter's `leaseMs`
   * variable, else the suite's `leaseMs`).
   */
  leaseMs: z.number().int().nonnegative().optional(),
  /** how long the program has to print its first line */
  startTimeoutMs: z.number().int().positive().default(5000),
  /** how long a case waits for an expected line by default */
  replyTimeoutMs: z.number().int().positive().default(5000),
});
export type AdapterFile = z.infer<typeof adapterSchema>;
