/**
 * The reference servers' real clock (src/servers/clock.ts): a due timer fires after the input
 * already waiting is read, and still fires when no input comes at all (a silent session must be
 * dropped; a firing that waited for an unref'd turn would wait for the next message).
 */
import { spawnSync } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { realClock } from '../../src/servers/clock.js';

describe('realClock', () => {
  it('fires a timer when nothing else happens but a listening socket (no input comes)', () => {
    // a child process of its own: in vitest's worker other handles keep the loop turning anyway.
    // The compiled clock (dist/, kept fresh by the global setup) is what the CLI's servers run.
    const clock = fileURLToPath(new URL('../../dist/servers/clock.js', import.meta.url));
    const script = `
      import net from 'node:net';
      import { realClock } from ${JSON.stringify(clock)};
      const server = net.createServer().listen(0, '127.0.0.1');
      const started = Date.now();
      realClock.setTimer(50, () => { console.log('fired ' + (Date.now() - started)); server.close(); });
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 10_000 });
    expect(r.stdout, r.stderr).toMatch(/^fired \d+/);
    expect(Number(/fired (\d+)/.exec(r.stdout)![1])).toBeLessThan(5000);
  });

  it('input that arrived while the loop was busy is read before a timer that fell due meanwhile, and its refresh stops it', async () => {
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
    const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    const socket = await accepted;
    try {
      let fired = 0;
      const timer = realClock.setTimer(20, () => fired++);
      const refreshed = new Promise<number>((r) =>
        socket.once('data', () => {
          timer.refresh();
          r(fired);
        }),
      );
      client.write('ping');
      // the loop is busy while the ping arrives and the timer falls due
      const until = Date.now() + 60;
      while (Date.now() < until) {
        // busy
      }
      const firedWhenRead = await refreshed;
      await new Promise((r) => setTimeout(r, 80));
      timer.cancel();
      expect({ firedWhenRead, total: fired }).toEqual({ firedWhenRead: 0, total: 1 });
    } finally {
      client.destroy();
      socket.destroy();
      server.close();
    }
  });
});
