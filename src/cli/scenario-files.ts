/**
 * Finding scenario files: the ones shipped with protosim and the ones in the user's folder.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
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
  try {
    return looksLikeSuite(readFileSync(file, 'utf8'));
  } catch {
    return false;
  }
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
