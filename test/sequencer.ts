/**
 * The order vitest starts test files in: longest first, by the durations of an earlier full run
 * (test/durations.json, rewritten from a JSON report by `node scripts/test-durations.mjs`).
 *
 * With two workers, the suite's wall time is set by how the files pack: vitest's own order in a
 * fresh clone (no cache yet, as on CI) is by file size, which started the 160 s corpus test and the
 * 95 s fuzz test late and left one worker running them alone at the end. A file the table does not
 * know (a new one) starts first, as vitest does with files it has no results for.
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

function durations(root: string): Record<string, number> {
  try {
    return JSON.parse(readFileSync(`${root}/test/durations.json`, 'utf8')) as Record<string, number>;
  } catch {
    return {};
  }
}

export default class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const root = this.ctx.config.root;
    const known = durations(root);
    const seconds = (f: TestSpecification): number => known[relative(root, f.moduleId).replaceAll('\\', '/')] ?? Number.POSITIVE_INFINITY;
    // stable: equal durations keep vitest's own order
    const base = await super.sort(files);
    return base.map((f, i) => ({ f, i, s: seconds(f) })).sort((a, b) => (b.s === a.s ? a.i - b.i : b.s - a.s)).map((x) => x.f);
  }
}
