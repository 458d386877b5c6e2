/**
 * The tests of __NAME__ (vitest): the scenario holds what it expects, the default check finds
 * nothing, and the flawed variant is caught. Run them with `npx vitest run` in this folder
 * (after `npm install`, which installs protosim and vitest).
 */
import { checkProtocol, runScenarioFile } from 'protosim/testing';
import { describe, expect, it } from 'vitest';
import protocol from './index.js';

describe('__NAME__', () => {
  it('holds what scenario.yaml expects', async () => {
    const run = await runScenarioFile(new URL('./scenario.yaml', import.meta.url));
    expect(run.expectations.filter((e) => !e.ok)).toEqual([]);
  });

  it('passes the default check (every default fault, nothing found)', () => {
    const run = checkProtocol(protocol, { seeds: 50 });
    expect(run.findings).toEqual([]);
  });

  it('catches the no-dedupe client showing a reply twice', () => {
    const run = checkProtocol(protocol, { variant: 'no-dedupe', seeds: 200 });
    expect(run.findings.map((f) => f.id)).toContain('invariant:shown-once');
  });
});
