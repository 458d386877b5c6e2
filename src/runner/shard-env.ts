/**
 * `--shard auto`: the shard index and count from the environment that existing job engines set (or
 * that their manifests set), so N copies of one command line split a seed range with no
 * per-copy arguments:
 *
 *  - Kubernetes Indexed Jobs set `JOB_COMPLETION_INDEX` (0-based) and no count: the manifest sets
 *    `PROTOSIM_SHARD_COUNT` (= `spec.completions`);
 *  - GitLab `parallel: N` sets `CI_NODE_INDEX` (1-based) and `CI_NODE_TOTAL`;
 *  - GitHub Actions matrices set nothing: the workflow passes `PROTOSIM_SHARD_INDEX` (1-based, like
 *    K in `--shard K/N`) and `PROTOSIM_SHARD_COUNT` from the matrix context.
 *
 * Every index variable that is set must name the same shard, and every count variable the same
 * count; otherwise, or when none is set, an InputError (exit 2) names the variables and values.
 * Pure: it reads only the `env` it is given.
 */
import { InputError } from '../errors.js';
import type { Shard } from './swarm.js';

type Env = Readonly<Record<string, string | undefined>>;

/** The index variables, in the order they are reported, with the base they count from. */
const indexVars = [
  { name: 'PROTOSIM_SHARD_INDEX', base: 1, engine: 'set by you (e.g. a GitHub Actions matrix)' },
  { name: 'JOB_COMPLETION_INDEX', base: 0, engine: 'Kubernetes Indexed Job' },
  { name: 'CI_NODE_INDEX', base: 1, engine: 'GitLab parallel' },
] as const;

const countVars = [
  { name: 'PROTOSIM_SHARD_COUNT', engine: 'set by you (a Kubernetes manifest, a GitHub Actions matrix)' },
  { name: 'CI_NODE_TOTAL', engine: 'GitLab' },
] as const;

/** Every variable `--shard auto` reads, for messages and docs. */
export const shardEnvVariables: readonly string[] = [...indexVars.map((v) => v.name), ...countVars.map((v) => v.name)];

const usage =
  '--shard auto reads the shard from the environment: Kubernetes Indexed Job (JOB_COMPLETION_INDEX, 0-based, with PROTOSIM_SHARD_COUNT set in the manifest), ' +
  'GitLab parallel (CI_NODE_INDEX, 1-based, and CI_NODE_TOTAL), or PROTOSIM_SHARD_INDEX (1-based) and PROTOSIM_SHARD_COUNT (e.g. from a GitHub Actions matrix); or give --shard K/N';

function integer(name: string, value: string): number {
  const trimmed = value.trim();
  if (!/^\d+$/.test(trimmed)) throw new InputError(`--shard auto: ${name}=${JSON.stringify(value)} is not a whole number`);
  return Number(trimmed);
}

/** Where the shard came from, for a note on stderr: `JOB_COMPLETION_INDEX=1, PROTOSIM_SHARD_COUNT=4`. */
export interface ShardFromEnv extends Shard {
  source: string;
}

/** Resolves `--shard auto` against `env`. Throws InputError (exit 2) naming the variables. */
export function shardFromEnv(env: Env): ShardFromEnv {
  const set = (name: string): string | undefined => {
    const v = env[name];
    return v === undefined || v.trim() === '' ? undefined : v;
  };
  const indexes = indexVars.flatMap((v) => {
    const raw = set(v.name);
    return raw === undefined ? [] : [{ ...v, raw, index: integer(v.name, raw) + (1 - v.base) }];
  });
  const counts = countVars.flatMap((v) => {
    const raw = set(v.name);
    return raw === undefined ? [] : [{ ...v, raw, count: integer(v.name, raw) }];
  });
  const show = (xs: readonly { name: string; raw: string }[]): string => xs.map((x) => `${x.name}=${x.raw}`).join(', ');

  if (indexes.length === 0 && counts.length === 0) throw new InputError(`--shard auto: none of ${shardEnvVariables.join(', ')} is set. ${usage}`);
  const firstIndex = indexes[0];
  if (firstIndex && indexes.some((x) => x.index !== firstIndex.index)) {
    throw new InputError(
      `--shard auto: the index variables disagree: ${indexes.map((x) => `${x.name}=${x.raw} (shard ${x.index}, ${x.base}-based)`).join(' but ')}; unset all but one`,
    );
  }
  const firstCount = counts[0];
  if (firstCount && counts.some((x) => x.count !== firstCount.count)) {
    throw new InputError(`--shard auto: the count variables disagree: ${show(counts)}; unset all but one`);
  }
  if (firstCount === undefined) {
    const k8s = indexes.some((x) => x.name === 'JOB_COMPLETION_INDEX');
    throw new InputError(
      `--shard auto: ${show(indexes)} gives the index but no count is set (PROTOSIM_SHARD_COUNT or CI_NODE_TOTAL)${k8s ? '; Kubernetes sets no count: set PROTOSIM_SHARD_COUNT in the manifest to spec.completions' : ''}. ${usage}`,
    );
  }
  const count = firstCount.count;
  if (count < 1) throw new InputError(`--shard auto: ${firstCount.name}=${firstCount.raw}: the count must be at least 1`);
  if (firstIndex === undefined) {
    // GitLab sets CI_NODE_TOTAL=1 (and no CI_NODE_INDEX) in a job without `parallel`: the whole range.
    if (count === 1) return { index: 1, count: 1, source: show(counts) };
    throw new InputError(`--shard auto: ${show(counts)} gives the count but no index is set (${indexVars.map((v) => v.name).join(', ')}). ${usage}`);
  }
  if (firstIndex.index < 1 || firstIndex.index > count) {
    const lo = firstIndex.base;
    throw new InputError(
      `--shard auto: ${firstIndex.name}=${firstIndex.raw} is outside ${lo}..${count - 1 + lo} (${firstIndex.name} counts from ${lo}; ${firstCount.name}=${firstCount.raw})`,
    );
  }
  return { index: firstIndex.index, count, source: `${show(indexes)}, ${show(counts)}` };
}
