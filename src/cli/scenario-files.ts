/**
 * Finding scenario files: the ones shipped with protosim and the ones in the user's folder.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileKindOf } from '../scenario/file-format.js';
import { tryReadInputFile } from '../scenario/input-file.js';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** protosim's own `scenarios/` folder (next to dist/ in the package). */
export const bundledScenariosDir = fileURLToPath(new URL('../../scenarios', import.meta.url));

/** Kinds that are neither scenarios nor suites: files of these kinds in a scenario folder are not listed. */
const otherKinds = new Set(['adapter', 'target', 'trace']);

/** Every model scenario (*.yaml / *.yml of kind scenario, or of a kind protosim does not know, which loading reports) under `dir`, sorted, recursively. */
export function findScenarioFiles(dir: string): string[] {
  return findYamlFiles(dir).filter((f) => {
    const kind = fileKindAt(f);
    return kind !== 'suite' && kind !== 'client-suite' && !otherKinds.has(kind ?? '');
  });
}

/** Every conformance suite (kind suite or client-suite) under `dir`, sorted, recursively. */
export function findSuiteFiles(dir: string): string[] {
  return findYamlFiles(dir).filter((f) => {
    const kind = fileKindAt(f);
    return kind === 'suite' || kind === 'client-suite';
  });
}

/**
 * The kind of the YAML file at `path`: the `kind:` it declares, else the one protosim 0.x guessed
 * (file-format.ts); null when it cannot be read (its loader then says why).
 */
export function fileKindAt(path: string): string | null {
  const text = tryReadInputFile(path);
  return text === null ? null : fileKindOf(text).kind;
}

function findYamlFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  if (statSync(dir).isFile()) return [dir];
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (/\.ya?ml$/.test(name)) out.push(p);
    }
  };
  walk(resolve(dir));
  return out;
}

/**
 * The file of a scenario or suite given by the id `protosim list` prints (`lock-alternation/deadlock`,
 * a suite's `suite:` id), searched in the working folder's scenarios/ and then protosim's own; null
 * when none has that id. Only the `id:`/`suite:` line of each file is read.
 */
export function findFileById(id: string, cwd: string): string | null {
  if (!/^[a-z0-9][a-z0-9/_.-]*$/.test(id)) return null;
  for (const dir of [join(cwd, 'scenarios'), bundledScenariosDir]) {
    for (const file of findYamlFiles(dir)) {
      const text = tryReadInputFile(file);
      if (text === null) continue;
      const m = /^(?:id|suite)\s*:\s*['"]?([^'"\s#]+)/m.exec(text);
      if (m?.[1] === id) return file;
    }
  }
  return null;
}
