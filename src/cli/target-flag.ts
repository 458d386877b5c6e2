/**
 * `--target ADDRESS|FILE`, wherever it is accepted (`run` with a suite or a model scenario,
 * `replay`): an address (tcp://..., http://...), or a target file — a suite's `target:` mapping on
 * its own (a command protosim starts, with its port, readiness, stdin and shutdown; or an address).
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { InputError } from '../errors.js';
import { loadTargetFile } from '../scenario/load-suite.js';
import type { SuiteProtocol } from '../scenario/suite-schema.js';
import { exampleAddress } from '../scenario/target-address.js';
import type { TargetFile } from '../scenario/target-schema.js';

/** The target file `flag` names, or undefined when it is an address (or absent). */
export function targetFileOf(flag: string | undefined, protocol: SuiteProtocol, cwd: string): (TargetFile & object) | undefined {
  if (flag === undefined || flag.includes('://')) return undefined;
  const path = resolve(cwd, flag);
  if (!existsSync(path)) {
    const example = exampleAddress(protocol);
    throw new InputError(`--target: expected an address (${example}) or a target file (YAML: command: [...], port: auto, ready: {...}); ${JSON.stringify(flag)} is neither (no such file)`, 'bad-target');
  }
  return loadTargetFile(path, flag, protocol);
}
