#!/usr/bin/env node
/**
 * Rewrites test/durations.json (the order test/sequencer.ts starts test files in) from a vitest
 * JSON report of a full run: `node scripts/test-durations.mjs [artifacts/vitest.json]`.
 * .ci/run writes that report; commit the new table when files were added or got much slower.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const report = JSON.parse(readFileSync(process.argv[2] ?? resolve(root, 'artifacts/vitest.json'), 'utf8'));
const table = {};
for (const file of report.testResults ?? []) {
  if (typeof file.startTime !== 'number' || typeof file.endTime !== 'number') continue;
  // a report of another clone (CI's) names its files under that clone: keep the part from test/ on
  let name = relative(root, file.name).replaceAll('\\', '/');
  if (name.startsWith('../')) name = name.replace(/^.*?\/(test\/)/, '$1');
  table[name] = Math.round((file.endTime - file.startTime) / 100) / 10;
}
const sorted = Object.fromEntries(Object.entries(table).sort(([a], [b]) => (a < b ? -1 : 1)));
writeFileSync(resolve(root, 'test/durations.json'), `${JSON.stringify(sorted, null, 1)}\n`);
console.log(`test/durations.json: ${Object.keys(sorted).length} files, ${Math.round(Object.values(sorted).reduce((s, v) => s + v, 0))} s in all`);
