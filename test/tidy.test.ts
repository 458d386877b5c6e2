/**
 * Tidy (TigerBeetle style): banned APIs per folder and the import direction of DESIGN.md.
 * src/models and src/sim must be deterministic: no wall clock, no Math.random, no timers, no I/O.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, dirname, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(__dirname, '..');
const src = join(root, 'src');

function files(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...files(p));
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

/** Code without comments and string contents, so a comment that mentions Date.now is fine. */
function codeOnly(text: string): string {
  return text
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/(^|[^:])\/\/.*$/gm, '$1')
    .replace(/`(?:\\[\s\S]|[^`\\])*`/g, '``')
    .replace(/'(?:\\.|[^'\\\n])*'/g, "''")
    .replace(/"(?:\\.|[^"\\\n])*"/g, '""');
}

const banned: { pattern: RegExp; what: string }[] = [
  { pattern: /\bMath\.random\b/, what: 'Math.random (use the seeded Prng)' },
  { pattern: /\bDate\.now\b|\bnew Date\b|\bDate\(/, what: 'the wall clock (Date)' },
  { pattern: /\bperformance\.now\b|\bprocess\.hrtime\b/, what: 'the wall clock (performance/hrtime)' },
  { pattern: /\bsetTimeout\b|\bsetInterval\b|\bsetImmediate\b|\bqueueMicrotask\b/, what: 'real timers' },
  { pattern: /\bprocess\.(env|argv|stdout|stderr|exit)\b/, what: 'process I/O' },
  { pattern: /\bcreateActor\b/, what: 'createActor (step machines with transition/initialTransition)' },
];

const importRe = /(?:import|export)\s+(?:type\s+)?(?:[^'"]*?\s+from\s+)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(importRe)) out.push((m[1] ?? m[2])!);
  return out;
}

/** Which layers (top folders of src/) and packages each layer may import. */
const allowed: Record<string, { layers: string[]; packages: RegExp }> = {
  models: { layers: ['models'], packages: /^xstate$/ },
  sim: { layers: ['sim', 'models'], packages: /^(xstate|fast-check)$/ },
  scenario: { layers: ['scenario', 'models', 'sim'], packages: /^(yaml|zod|node:fs|node:path)$/ },
  wire: { layers: ['wire', 'models'], packages: /^(node:.*|protobufjs)$/ },
  conformance: { layers: ['conformance', 'models', 'sim', 'scenario', 'report', 'wire'], packages: /^(node:.*|protobufjs|@lydell\/node-pty|yaml|zod|xstate)$/ },
  servers: { layers: ['servers', 'models', 'wire'], packages: /^(node:.*|protobufjs)$/ },
  report: { layers: ['report', 'sim', 'models'], packages: /^(node:.*|xmlbuilder2)$/ },
  runner: { layers: ['runner', 'sim', 'models', 'scenario'], packages: /^(node:.*)$/ },
  bench: { layers: ['bench', 'sim', 'models', 'scenario', 'servers', 'conformance', 'runner', 'report', 'wire'], packages: /^(node:.*|xstate|protobufjs)$/ },
  cli: { layers: ['cli', 'models', 'sim', 'scenario', 'conformance', 'servers', 'report', 'runner', 'wire'], packages: /^(node:.*|commander|yaml|zod|xstate|playwright-core)$/ },
};

function layerOf(file: string): string | null {
  const rel = relative(src, file);
  if (!rel.includes('/')) return null; // src/errors.ts: a leaf any layer may import
  return rel.split('/')[0]!;
}

describe('tidy', () => {
  it('src/models and src/sim use no wall clock, randomness, timers or I/O', () => {
    const offences: string[] = [];
    for (const dir of ['models', 'sim']) {
      for (const file of files(join(src, dir))) {
        const code = codeOnly(readFileSync(file, 'utf8'));
        for (const { pattern, what } of banned) {
          const lines = code.split('\n');
          lines.forEach((line, i) => {
            if (pattern.test(line)) offences.push(`${relative(root, file)}:${i + 1}: ${what}`);
          });
        }
        for (const spec of imports(file)) {
          if (spec.startsWith('node:') || ['fs', 'net', 'http', 'child_process', 'worker_threads'].includes(spec)) {
            offences.push(`${relative(root, file)}: imports ${spec} (I/O)`);
          }
        }
      }
    }
    expect(offences).toEqual([]);
  });

  it('the tidy scan itself catches an offence (it can fail)', () => {
    const code = codeOnly("const x = Math.random(); // Date.now in a comment is fine\nconst s = 'setTimeout in a string is fine';");
    expect(banned.filter((b) => b.pattern.test(code)).map((b) => b.what)).toEqual(['Math.random (use the seeded Prng)']);
  });

  it('imports follow the layer direction of DESIGN.md; nothing imports src/cli', () => {
    const offences: string[] = [];
    for (const file of files(src)) {
      const layer = layerOf(file);
      for (const spec of imports(file)) {
        if (spec.startsWith('.')) {
          const target = resolve(dirname(file), spec);
          const targetLayer = layerOf(target.replace(/\.js$/, '.ts'));
          if (targetLayer === null || layer === null) continue; // errors.ts
          const rule = allowed[layer];
          if (!rule) offences.push(`${relative(root, file)}: layer ${layer} is not in DESIGN.md`);
          else if (!rule.layers.includes(targetLayer)) offences.push(`${relative(root, file)}: ${layer} must not import ${targetLayer} (${spec})`);
        } else if (layer !== null) {
          const rule = allowed[layer];
          const pkg = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
          if (rule && !rule.packages.test(spec) && !rule.packages.test(pkg)) offences.push(`${relative(root, file)}: ${layer} must not import package ${spec}`);
        }
      }
    }
    expect(offences).toEqual([]);
  });
});
