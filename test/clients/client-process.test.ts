/**
 * ClientProcess: a program under a pseudo-terminal (and with pipes), typed into, read, killed,
 * paused, restarted; its exit reported with code or signal.
 */
import { describe, expect, it } from 'vitest';
import { ClientProcess, type IoMode } from '../../src/conformance/clients/client-process.js';
import { TargetError } from '../../src/errors.js';

// A tiny interactive program: a prompt, echoes each line back in upper case, `exit N` exits with N.
const program = `
process.stdout.write('\\u001b[32mready\\u001b[0m\\n> ');
process.stdin.setEncoding('utf8');
let buf = '';
process.stdin.on('data', (d) => {
  buf += d;
  let i;
  while ((i = buf.indexOf('\\n')) >= 0) {
    const line = buf.slice(0, i).replace(/\\r$/, '');
    buf = buf.slice(i + 1);
    if (line.startsWith('exit ')) process.exit(Number(line.slice(5)));
    process.stdout.write('got ' + line.toUpperCase() + '\\n> ');
  }
});
setInterval(() => process.stdout.write('tick\\n'), 40);
`;

function start(io: IoMode): ClientProcess {
  return new ClientProcess({ name: 't', io, command: [process.execPath, '-e', program], promptPatterns: [/> $/] });
}

const find = (p: ClientProcess, re: RegExp, from = 0, timeoutMs = 3000) =>
  p.waitFor((s) => (re.test(s.text) ? s.text : undefined), { from, timeoutMs });

for (const io of ['pty', 'pipes'] as const) {
  describe(`ClientProcess over ${io}`, () => {
    it('types a line, reads the answer without ANSI codes, and reports the exit code', async () => {
      const p = start(io);
      await p.start();
      expect(p.io).toBe(io);
      expect((await find(p, /^ready$/)).ok).toBe(true);
      const prompt = await p.waitFor((s) => (s.kind === 'prompt' ? true : undefined), { from: 0, timeoutMs: 3000 });
      expect(prompt.ok).toBe(true);
      p.type('hello\n');
      const got = await find(p, /^got HELLO$/);
      expect(got.ok).toBe(true);
      if (io === 'pty') expect(p.log.since(0).some((s) => s.kind === 'echo' && s.text === 'hello')).toBe(true);
      p.type('exit 7\n');
      const exit = await p.waitForExit();
      expect(exit).toMatchObject({ code: 7, signal: null, expected: false });
    });

    it('kill -9 ends it with SIGKILL; pause stops its output until resume; restart runs it again', async () => {
      const p = start(io);
      await p.start();
      expect((await find(p, /^tick$/)).ok).toBe(true);
      p.pause();
      // Timing is the subject (a real process under SIGSTOP; no clock to inject): output written
      // before the stop may still drain for a moment, then a quiet window of 300 ms.
      await new Promise((r) => setTimeout(r, 100));
      const before = p.log.cursor;
      await new Promise((r) => setTimeout(r, 300));
      expect(p.log.cursor).toBe(before); // stopped: no tick for 300 ms (ticks every 40 ms)
      p.resume();
      expect((await find(p, /^tick$/, before)).ok).toBe(true);
      await p.restart();
      expect(p.exits[0]).toMatchObject({ signal: 'SIGKILL', expected: true });
      expect(p.running).toBe(true);
      const again = await p.waitFor((s) => (s.run === 1 && s.text === 'ready' ? true : undefined), { from: 0, timeoutMs: 3000 });
      expect(again.ok).toBe(true);
      const exit = await p.kill();
      expect(exit).toMatchObject({ code: null, signal: 'SIGKILL', run: 1 });
    });

    it('a wait for output that never comes ends at its timeout, or when the program exits', async () => {
      const p = start(io);
      await p.start();
      const none = await find(p, /^never printed$/, 0, 200);
      expect(none).toMatchObject({ ok: false, reason: 'timeout' });
      const waiting = find(p, /^never printed$/, 0, 5000);
      p.type('exit 3\n');
      expect(await waiting).toMatchObject({ ok: false, reason: 'exited', exit: { code: 3 } });
    });
  });
}

describe('ClientProcess', () => {
  it('a flood of output keeps memory bounded', async () => {
    const p = new ClientProcess({
      name: 'flood',
      io: 'pipes',
      command: [process.execPath, '-e', "const s='y'.repeat(99)+'\\n'; for (let i=0;i<50000;i++) process.stdout.write(s); console.log('done')"],
      promptPatterns: [],
      limits: { maxSegments: 200, maxLineChars: 200 },
    });
    await p.start();
    expect((await find(p, /^done$/, 0, 10_000)).ok).toBe(true);
    expect(p.log.since(0).length).toBe(200);
    expect(p.log.dropped).toBeGreaterThan(49_000);
    await p.waitForExit();
  });

  it('a program that does not exist is a TargetError naming it', async () => {
    const p = new ClientProcess({ name: 'x', io: 'auto', command: ['/nonexistent/student-client'], promptPatterns: [] });
    await expect(p.start()).rejects.toThrow(TargetError);
    await expect(p.start()).rejects.toThrow(/\/nonexistent\/student-client does not exist or is not executable/);
    const q = new ClientProcess({ name: 'y', io: 'auto', command: ['no-such-program-protosim'], promptPatterns: [] });
    await expect(q.start()).rejects.toThrow(/"no-such-program-protosim" is not on the PATH/);
  });
});
