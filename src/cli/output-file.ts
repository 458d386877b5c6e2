/**
 * The one way the CLI writes a file the user named (or a default one under the working folder):
 * its folder is created, and a path that cannot be written is bad input (exit 2) naming the option
 * and the path, never an internal error.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { InputError } from '../errors.js';

/** Why a write failed, in words, with the errno code for a search. */
export function describeWriteError(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  const words: Record<string, string> = {
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    EROFS: 'read-only file system',
    ENOTDIR: 'a part of the path is a file, not a folder',
    EISDIR: 'it is a folder',
    ENOENT: 'no such folder',
    ENOSPC: 'no space left on the device',
    EEXIST: 'a file is in the way of a folder',
    ENAMETOOLONG: 'the name is too long',
  };
  return e.code ? `${words[e.code] ?? 'cannot write'} (${e.code})` : String((error as Error)?.message ?? error);
}

/**
 * Writes `text` to `path` (absolute), creating its folder. `label` names the file in the error as
 * the user gave it: `--trace-out out/t.jsonl`, `schema -o x.json`.
 */
export function writeOutputFile(path: string, text: string | Uint8Array, label: string): void {
  try {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
  } catch (error) {
    throw new InputError(`${label}: cannot write the file: ${describeWriteError(error)}`, 'cannot-write');
  }
}

/** Creates an output folder; `label` names it as the user gave it (`--out grades`). */
export function makeOutputDir(path: string, label: string): void {
  try {
    mkdirSync(path, { recursive: true });
  } catch (error) {
    throw new InputError(`${label}: cannot create the folder: ${describeWriteError(error)}`, 'cannot-write');
  }
}
