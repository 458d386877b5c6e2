/**
 * The files `protosim init protocol NAME` writes, read from protosim's `templates/protocol/` (docs/
 * models.md walks through them): a protocol package of two roles (index.js, plain ES module
 * JavaScript with JSDoc types: it runs as it is, without a build step), a scenario that runs it, a
 * vitest test, and a package.json that makes the folder an ES module package. `__NAME__` in them is
 * the protocol's name, `__VERSION__` protosim's version.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The template folder: from src/ (tests) and dist/ alike, `templates/protocol/` at protosim's root. */
export const protocolTemplateDir = fileURLToPath(new URL('../../templates/protocol/', import.meta.url));

/** The files of the template, by name, for a protocol named `name`; `version` is protosim's. */
export function protocolTemplate(name: string, version: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (const file of readdirSync(protocolTemplateDir).sort()) {
    files[file] = readFileSync(`${protocolTemplateDir}${file}`, 'utf8').replaceAll('__NAME__', name).replaceAll('__VERSION__', version);
  }
  return files;
}
