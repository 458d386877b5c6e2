/**
 * The quic-go programs of corpus/ping-liveness-quic for tests: builds them once (Debian's Go in
 * GOPATH mode with Debian's quic-go, no module download) into a temp folder, starts them each in
 * its own process group, and kills and waits for every one it started.
 */
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(__dirname, '../..');
const corpus = join(root, 'corpus/ping-liveness-quic');
const gocode = '/usr/share/gocode';

/** Why the Go tests cannot run here, or '' when they can. */
export function goMissing(): string {
  if (spawnSync('sh', ['-c', 'command -v go'], { stdio: 'ignore' }).status !== 0) return 'go (Debian golang-go) is not installed';
  if (!existsSync(join(gocode, 'src/github.com/lucas-clemente/quic-go'))) return 'quic-go (Debian golang-github-lucas-clemente-quic-go-dev) is not installed';
  return '';
}

export type GoProgram = 'server-go-a' | 'server-go-faithful' | 'server-go-defective' | 'client-go-a';

export class GoPrograms {
  readonly dir = mkdtempSync(join(tmpdir(), 'protosim-quic-go-'));
  private readonly running = new Set<ChildProcess>();

  /** Builds the programs in parallel (about 5 s with a warm Go build cache, ~60 s cold). */
  async build(programs: GoProgram[]): Promise<void> {
    await Promise.all(
      programs.map(
        (program) =>
          new Promise<void>((resolveBuild, reject) => {
            execFile(
              'go',
              ['build', '-o', join(this.dir, program), '.'],
              { cwd: join(corpus, program), env: { ...process.env, GO111MODULE: 'off', GOPATH: gocode, GOPROXY: 'off', GOFLAGS: '' }, timeout: 240_000 },
              (error, _stdout, stderr) => (error ? reject(new Error(`go build ${program}: ${error.message}\n${stderr}`)) : resolveBuild()),
            );
          }),
      ),
    );
  }

  /**
   * Builds a twin written for a test: a corpus program's main.go with `edit` applied, built as
   * `name` in this folder (GOPATH mode finds quic-go wherever the source is). Returns its path.
   */
  async buildTwin(name: string, of: GoProgram, edit: (source: string) => string): Promise<string> {
    const source = join(this.dir, `${name}-src`);
    mkdirSync(source, { recursive: true });
    const original = readFileSync(join(corpus, of, 'main.go'), 'utf8');
    const edited = edit(original);
    if (edited === original) throw new Error(`buildTwin ${name}: the edit changed nothing in ${of}/main.go`);
    writeFileSync(join(source, 'main.go'), edited);
    await new Promise<void>((resolveBuild, reject) => {
      execFile(
        'go',
        ['build', '-o', join(this.dir, name), '.'],
        { cwd: source, env: { ...process.env, GO111MODULE: 'off', GOPATH: gocode, GOPROXY: 'off', GOFLAGS: '' }, timeout: 240_000 },
        (error, _stdout, stderr) => (error ? reject(new Error(`go build ${name}: ${error.message}\n${stderr}`)) : resolveBuild()),
      );
    });
    return join(this.dir, name);
  }

  /** Starts a built program in its own process group. */
  start(program: GoProgram, args: string[]): RunningProgram {
    const child = spawn(join(this.dir, program), args, { detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
    this.running.add(child);
    const run = new RunningProgram(child);
    void run.exited.then(() => this.running.delete(child));
    return run;
  }

  /** Starts a server on a port it picks and resolves with that port once it listens. */
  async startServer(program: GoProgram, extraArgs: string[] = []): Promise<{ run: RunningProgram; port: number }> {
    const run = this.start(program, ['-l', '127.0.0.1', '-p', '0', ...extraArgs]);
    const line = await run.waitFor(/^listening on .*:(\d+)$/m, 10_000);
    return { run, port: Number(/:(\d+)$/m.exec(line)![1]) };
  }

  /** Kills every program still running (SIGKILL to its group), waits for each, removes the folder. */
  async cleanup(): Promise<void> {
    await Promise.all([...this.running].map((child) => new RunningProgram(child, false).kill()));
    rmSync(this.dir, { recursive: true, force: true });
  }

  runningCount(): number {
    return this.running.size;
  }
}

export class RunningProgram {
  stdout = '';
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly watchers = new Set<() => void>();

  constructor(
    readonly child: ChildProcess,
    listen = true,
  ) {
    this.exited =
      child.exitCode !== null || child.signalCode !== null
        ? Promise.resolve({ code: child.exitCode, signal: child.signalCode })
        : new Promise((resolveExit) => child.once('exit', (code, signal) => resolveExit({ code, signal })));
    if (!listen) return;
    child.stdout!.setEncoding('utf8').on('data', (text: string) => {
      this.stdout += text;
      for (const watcher of this.watchers) watcher();
    });
    child.stderr!.setEncoding('utf8').on('data', (text: string) => (this.stderr += text));
  }

  /** Resolves with the first match of `pattern` in stdout (from the start). */
  waitFor(pattern: RegExp, timeoutMs: number): Promise<string> {
    return new Promise((resolveWait, reject) => {
      const check = (): boolean => {
        const match = pattern.exec(this.stdout);
        if (match === null) return false;
        this.watchers.delete(watcher);
        clearTimeout(timer);
        resolveWait(match[0]);
        return true;
      };
      const watcher = (): void => void check();
      const timer = setTimeout(() => {
        this.watchers.delete(watcher);
        reject(new Error(`no ${pattern} within ${timeoutMs} ms; stdout: ${JSON.stringify(this.stdout)} stderr: ${this.stderr.slice(-500)}`));
      }, timeoutMs);
      this.watchers.add(watcher);
      void this.exited.then(() => setTimeout(() => check() || undefined, 50));
      check();
    });
  }

  type(line: string): void {
    this.child.stdin!.write(`${line}\n`);
  }

  /** SIGKILL to the process group, then waits for the exit. */
  async kill(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      try {
        process.kill(-this.child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await this.exited;
  }
}
