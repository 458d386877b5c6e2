/** What every command gets: where to write, and a slot for the exit code it decided on. */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  /** True when stdout is a terminal (colour, progress bars); false for pipes and tests. */
  isTTY?: boolean;
  /** True when stderr is a terminal (progress lines are rewritten in place). */
  stderrIsTTY?: boolean;
  /** Terminal width for diagrams; default 100. */
  columns?: number;
  /** Working directory for relative paths; defaults to process.cwd(). */
  cwd?: string;
}

export interface CliContext {
  io: CliIo;
  /** Set by a command's action; runCli returns it. */
  exitCode: number;
}
