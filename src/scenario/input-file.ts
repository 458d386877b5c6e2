/**
 * Reading the files a user gives protosim (scenarios, suites, adapters, manifests, target files,
 * traces, reports): one reader with a named size limit checked before anything is read, and a
 * check that the bytes are text, so a huge or binary file gets one clear line (exit 2), never a
 * parser that runs for minutes or prints hundreds of errors.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { InputError } from '../errors.js';

/** The named limits on input files, in bytes. */
export const inputLimits = {
  /** a YAML file a person writes: scenario, suite, adapter, manifest, target file */
  maxInputFileBytes: 1024 * 1024,
  /** a file protosim wrote itself and reads back: a trace (`replay`), a JSON report (`merge`) */
  maxTraceFileBytes: 256 * 1024 * 1024,
} as const;

export type InputLimitName = keyof typeof inputLimits;

/** What kind of file it is, for messages: `cannot read the ${kind}`. */
export type InputKind = 'scenario' | 'suite' | 'adapter' | 'manifest' | 'target file' | 'trace' | 'report' | 'file';

/** A file that cannot be read, is too large or is not text: its name and the reason, no position. */
export class InputFileError extends InputError {
  readonly file: string;
  constructor(file: string, message: string, code = 'invalid-input-file') {
    super(`${file}: ${message}`, code);
    this.file = file;
  }
}

/** Human size: 1.0 MiB, 12.3 KiB, 512 bytes. */
export function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${(n / (1024 * 1024)).toFixed(1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} byte${n === 1 ? '' : 's'}`;
}

function describeErrno(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  switch (e.code) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'a folder, not a file';
    case 'ENOTDIR':
      return 'a part of the path is not a folder';
    default:
      return e.code ? `${e.code}` : String((error as Error).message ?? error);
  }
}

/**
 * Reads a text input file. `shownAs` is the name used in messages (the path as typed). Throws
 * InputFileError (exit 2) when the file is missing, a folder, over `limit`, or not UTF-8 text.
 */
export function readInputFile(path: string, shownAs: string, kind: InputKind, limit: InputLimitName = 'maxInputFileBytes'): string {
  const max = inputLimits[limit];
  let size: number;
  try {
    const st = statSync(path);
    if (st.isDirectory()) throw Object.assign(new Error('EISDIR'), { code: 'EISDIR' });
    size = st.size;
  } catch (error) {
    throw new InputFileError(shownAs, `cannot read the ${kind}: ${describeErrno(error)}`, 'cannot-read');
  }
  if (size > max) throw tooLarge(shownAs, kind, size, limit);
  let bytes: Buffer;
  try {
    // Read at most max+1 bytes: a file that grows (or a FIFO, /dev/zero) cannot exceed the limit.
    const fd = openSync(path, 'r');
    try {
      const chunks: Buffer[] = [];
      let total = 0;
      for (;;) {
        const chunk = Buffer.allocUnsafe(Math.min(1024 * 1024, max + 1 - total));
        const n = chunk.length === 0 ? 0 : readSync(fd, chunk, 0, chunk.length, null);
        if (n === 0) break;
        chunks.push(chunk.subarray(0, n));
        total += n;
        if (total > max) throw tooLarge(shownAs, kind, total, limit, true);
      }
      bytes = Buffer.concat(chunks, total);
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    if (error instanceof InputFileError) throw error;
    throw new InputFileError(shownAs, `cannot read the ${kind}: ${describeErrno(error)}`, 'cannot-read');
  }
  return decodeText(bytes, shownAs, kind);
}

function tooLarge(shownAs: string, kind: InputKind, size: number, limit: InputLimitName, atLeast = false): InputFileError {
  return new InputFileError(
    shownAs,
    `the ${kind} is ${atLeast ? 'over ' : ''}${formatBytes(size)}${atLeast ? '' : ` (${size} bytes)`}, over the limit ${limit}=${inputLimits[limit]} bytes (${formatBytes(inputLimits[limit])}); protosim reads no larger ${kind}`,
    'input-too-large',
  );
}

/** Position (1-based line and column) of a byte offset in a buffer, counting lines only. */
function lineColOf(bytes: Buffer, offset: number): { line: number; col: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset; i++) {
    if (bytes[i] === 0x0a) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, col: offset - lineStart + 1 };
}

/** UTF-8 text with no NUL bytes, or one InputFileError that says where the binary data starts. */
export function decodeText(bytes: Buffer, shownAs: string, kind: InputKind): string {
  const nul = bytes.indexOf(0);
  if (nul >= 0) {
    const { line, col } = lineColOf(bytes, nul);
    throw new InputFileError(shownAs, `not a text file: binary data (a NUL byte) at line ${line}, column ${col}; a ${kind} is UTF-8 text`, 'binary-input');
  }
  try {
    let text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    return text;
  } catch {
    const { line, col } = lineColOf(bytes, firstInvalidUtf8(bytes));
    throw new InputFileError(shownAs, `not UTF-8 text: an invalid byte near line ${line}, column ${col}; a ${kind} is UTF-8 text`, 'binary-input');
  }
}

/** The offset of the first byte that is not part of a well-formed UTF-8 sequence. */
function firstInvalidUtf8(bytes: Buffer): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    const n = b < 0x80 ? 0 : b >= 0xc2 && b <= 0xdf ? 1 : b >= 0xe0 && b <= 0xef ? 2 : b >= 0xf0 && b <= 0xf4 ? 3 : -1;
    if (n < 0) return i;
    for (let k = 1; k <= n; k++) {
      const c = bytes[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) return i;
    }
    i += n + 1;
  }
  return Math.max(0, bytes.length - 1);
}

/** Like readInputFile, but null for any problem: for sniffing a file's kind before loading it. */
export function tryReadInputFile(path: string, limit: InputLimitName = 'maxInputFileBytes'): string | null {
  try {
    return readInputFile(path, path, 'file', limit);
  } catch {
    return null;
  }
}
