/**
 * The client programs of the key-value protocols that protosim did not write: the corpus (its
 * manifests translated to adapters, Go ones built) and the held-out batch (its own adapters), in a
 * work folder. Used by scripts/replay-table.mjs and scripts/explore-table.mjs.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { clientAdapter } from './translate.mjs';

/** Every client program of the two protocols: the corpus (translated) and the held-out batch (its own adapters). */
export function clients(root, work, protocol) {
  const out = [];
  const dir = join(root, 'corpus', protocol);
  for (const impl of readdirSync(dir).filter((d) => d.startsWith('client-')).sort()) {
    const manifest = JSON.parse(readFileSync(join(dir, impl, 'impl.json'), 'utf8'));
    const copy = join(work, `${protocol}--${impl}`);
    cpSync(join(dir, impl), copy, { recursive: true });
    if (manifest.build) {
      const env = { ...process.env, GOCACHE: join(copy, '.gocache'), GOPATH: join(copy, '.gopath'), GOPROXY: 'off', GOTOOLCHAIN: 'local', GOTELEMETRY: 'off' };
      const b = spawnSync(manifest.build[0], manifest.build.slice(1), { cwd: copy, env, encoding: 'utf8' });
      if (b.status !== 0) {
        out.push({ id: `corpus/${protocol}/${impl}`, kind: manifest.kind, broken: `build failed: ${(b.stderr || b.stdout).trim().split('\n').pop()}` });
        continue;
      }
    }
    const twinFile = manifest.twinOf ? join(dir, manifest.twinOf, 'impl.json') : undefined;
    const twin = twinFile && existsSync(twinFile) ? JSON.parse(readFileSync(twinFile, 'utf8')) : undefined;
    const a = clientAdapter(manifest, copy, impl, twin);
    if (a.notRunnable) {
      out.push({ id: `corpus/${protocol}/${impl}`, kind: manifest.kind, broken: a.notRunnable });
      continue;
    }
    const adapterFile = join(copy, 'adapter.yaml');
    writeFileSync(adapterFile, YAML.stringify({ kind: 'adapter', version: 1, ...a.adapter }));
    out.push({ id: `corpus/${protocol}/${impl}`, kind: manifest.kind, adapter: adapterFile });
  }
  const held = join(root, 'corpus-heldout', protocol);
  for (const impl of existsSync(held) ? readdirSync(held).sort() : []) {
    const manifest = JSON.parse(readFileSync(join(held, impl, 'impl.json'), 'utf8'));
    if (existsSync(join(held, impl, 'build.sh'))) {
      const b = spawnSync('bash', ['build.sh'], { cwd: join(held, impl), encoding: 'utf8' });
      if (b.status !== 0) {
        out.push({ id: `heldout/${protocol}/${impl}`, kind: manifest.kind, broken: `build failed: ${b.stderr.trim().split('\n').pop()}` });
        continue;
      }
    }
    out.push({ id: `heldout/${protocol}/${impl}`, kind: manifest.kind, adapter: join(root, 'corpus-heldout', 'runs', `${protocol}--${impl}.yaml`) });
  }
  return out;
}

