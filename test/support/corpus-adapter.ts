/**
 * A corpus client's adapter, as `npm run corpus` writes it from the program's manifest
 * (scripts/corpus/translate.mjs), in a work copy of the program under `work`.
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import YAML from 'yaml';

const root = resolve(__dirname, '../..');

export async function corpusAdapter(work: string, protocol: string, impl: string): Promise<string> {
  const translate = join(root, 'scripts/corpus/translate.mjs');
  const { clientAdapter } = (await import(translate)) as { clientAdapter: (m: unknown, cwd: string, name: string) => { adapter: Record<string, unknown> } };
  const copy = join(work, `${protocol}--${impl}`);
  cpSync(join(root, 'corpus', protocol, impl), copy, { recursive: true });
  const manifest = JSON.parse(readFileSync(join(copy, 'impl.json'), 'utf8')) as unknown;
  const file = join(copy, 'adapter.yaml');
  writeFileSync(file, YAML.stringify({ kind: 'adapter', version: 1, ...clientAdapter(manifest, copy, impl).adapter }));
  return file;
}
