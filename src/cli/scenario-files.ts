/**
 * Finding scenario files: the ones shipped with protosim and the ones in the user's folder.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** protosim's own `scenarios/` folder (next to dist/ in the package). */
export const bundledScenariosDir = fileURLToPath(new URL('../../scenarios', import.meta.url));

/** Every *.yaml / *.yml under `dir`, sorted, recursively. */
export function findScenarioFiles(dir: string): string[] {
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
