/**
 * Typed errors shared by every layer. Library code throws these; only `src/cli` maps them to exit
 * codes (DESIGN.md: 0 ok, 1 expectation failed, 2 invalid input, 3 target error, 70 internal).
 * This file is a leaf: it imports nothing, so any layer may import it.
 */
export const ExitCode = {
  ok: 0,
  expectationFailed: 1,
  invalidInput: 2,
  targetError: 3,
  internal: 70,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** Base class: a stable `code` (for tests and JSON output) and the exit code the CLI should use. */
export class ProtosimError extends Error {
  readonly code: string;
  readonly exitCode: ExitCodeValue;
  constructor(code: string, message: string, exitCode: ExitCodeValue) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.exitCode = exitCode;
  }
}

/** Bad input from the user: a scenario file, a CLI option, a trace file. Exit code 2. */
export class InputError extends ProtosimError {
  constructor(message: string, code = 'invalid-input') {
    super(code, message, ExitCode.invalidInput);
  }
}

/** A live target could not be started or reached. Exit code 3. */
export class TargetError extends ProtosimError {
  constructor(message: string, code = 'target-error') {
    super(code, message, ExitCode.targetError);
  }
}

/** A named limit was hit where the caller asked for it to be fatal (`maxStates`, `maxSteps`...). */
export class LimitError extends ProtosimError {
  readonly limit: string;
  readonly value: number;
  constructor(limit: string, value: number, what: string) {
    super('limit', `limit ${limit}=${value} reached: ${what}`, ExitCode.internal);
    this.limit = limit;
    this.value = value;
  }
}
