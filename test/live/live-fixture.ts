/** Running model scenarios and counterexamples live against in-process reference servers. */
import { fileURLToPath } from 'node:url';
import { runScenarioLive } from '../../src/cli/live-scenario.js';
import { runCli } from '../../src/cli/program.js';
import { loadScenarioFile } from '../../src/scenario/load.js';
import type { RunReport } from '../../src/report/run-report.js';
import { startServer, type ServerOptions, type ServerProtocol } from '../../src/servers/index.js';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/** The scenarios' ping-liveness session timeout (model ms): a live server's heartbeat is it, scaled. */
export const scenarioSessionTimeoutMs = 30_000;

/** Server options a scenario needs live, at a time scale: mallory's account, the heartbeat scaled. */
export function serverOptionsFor(protocol: ServerProtocol, timeScale: number, extra: ServerOptions = {}): ServerOptions {
  const base: ServerOptions = protocol === 'ping-liveness' ? { extraAccounts: { mallory: 'secret' }, heartbeatTimeoutMs: Math.round(scenarioSessionTimeoutMs * timeScale) } : {};
  return { port: 0, ...base, ...extra };
}

export interface LiveRunSpec {
  /** under scenarios/ */
  file: string;
  protocol: ServerProtocol;
  defect?: string;
  timeScale: number;
  codec?: string;
  framing?: string;
  server?: ServerOptions;
}

/** Runs a scenario live against a fresh reference server (with a defect, or none). */
export async function runLive(spec: LiveRunSpec): Promise<RunReport> {
  const server = await startServer(spec.protocol, serverOptionsFor(spec.protocol, spec.timeScale, { ...(spec.defect ? { defect: spec.defect } : {}), ...spec.server }));
  try {
    const scenario = loadScenarioFile(`${repoRoot}scenarios/${spec.file}`);
    return await runScenarioLive(
      scenario,
      { target: server.address, timeScale: spec.timeScale, saveTrace: false, ...(spec.codec ? { codec: spec.codec } : {}), ...(spec.framing ? { framing: spec.framing } : {}) },
      spec.file,
      repoRoot,
    );
  } finally {
    await server.close();
  }
}

/** The CLI in-process (STYLE 11). */
export async function cli(argv: string[], cwd = repoRoot): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(argv, { stdout: (s) => void (out += s), stderr: (s) => void (err += s), cwd });
  return { code, out, err };
}

/** What a report found, for failure messages. */
export const summary = (r: RunReport): string =>
  `ok=${r.ok} ${r.findings.map((f) => `${f.id}: ${f.summary}`).join(' | ')}${r.live?.unexplained ? ` | unexplained: ${r.live.unexplained}` : ''}${r.live?.notes.length ? ` | notes: ${r.live.notes.join('; ')}` : ''}`;
