/**
 * Finding scenario files: the ones shipped with protosim and the ones in the user's folder.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** protosim's own `scenarios/` folder (next to dist/ in the package). */
export const bundledScenariosDir = fileURLToPath(new URL('../../scenarios', import.meta.url));

/** A conformance suite (a YAML file with `cases:`), live rather than a model scenario. */
function isSuite(file: string): boolean {
  try {
    return /^cases\s*:/m.test(readFileSync(file, 'utf8'));
  } catch {
    return false;
  }
}

/** Every model scenario (*.yaml / *.yml without `cases:`) under `dir`, sorted, recursively. */
export function findScenarioFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  if (statSync(dir).isFile()) return [dir];
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (/\.ya?ml$/.test(name) && !isSuite(p)) out.push(p);
    }
  };
  walk(resolve(dir));
  return out;
}
