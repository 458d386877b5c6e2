/**
 * Finding scenario files: the ones shipped with protosim and the ones in the user's folder.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { tryReadInputFile } from '../scenario/input-file.js';
import { looksLikeSuite } from '../scenario/load-suite.js';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** protosim's own `scenarios/` folder (next to dist/ in the package). */
export const bundledScenariosDir = fileURLToPath(new URL('../../scenarios', import.meta.url));

/** Every model scenario (*.yaml / *.yml without `cases:`) under `dir`, sorted, recursively. */
export function findScenarioFiles(dir: string): string[] {
  return findYamlFiles(dir).filter((f) => !isSuite(f));
}

/** Every conformance suite (a YAML file with `cases:`) under `dir`, sorted, recursively. */
export function findSuiteFiles(dir: string): string[] {
  return findYamlFiles(dir).filter(isSuite);
}

function isSuite(file: string): boolean {
  const text = tryReadInputFile(file);
  return text !== null && looksLikeSuite(text);
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
