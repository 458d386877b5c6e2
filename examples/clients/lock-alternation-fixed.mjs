#!/usr/bin/env node
// A fixed lock-alternation client: the behaviour of seed 000 (two clients take turns, the first to
// arrive sends first) without its flaws, over the plain course IM server (get/set/unset/keys).
//
//   node lock-alternation-fixed.mjs http://127.0.0.1:8112/IMserver.php [--poll-ms 500] [--lease-ms 5000]
//
// What it repairs (see leased-pair.mjs for how): two clients started together (each writes its own
// join key; the key order decides who is client 1); a third client (told two are talking, and
// exits); a client killed mid-conversation (its lease runs out: the other is told and waits for a
// new partner, who can join); keys of an earlier session (stale join keys are ignored and removed,
// message keys are per session). Requests have a timeout and are retried.
import { imServer, parseArgs, stdinLines, sleep } from './im.mjs';
import { leasedPair, lineOrPeerGone } from './leased-pair.mjs';

const usage = 'usage: node lock-alternation-fixed.mjs URL [--poll-ms N] [--lease-ms N]';
const { url, pollMs, leaseMs } = parseArgs(process.argv.slice(2), { pollMs: 500, leaseMs: 5000 }, usage);
const say = (line) => console.log(line);
const pair = leasedPair(imServer(url, { timeoutMs: 5000 }), { prefix: 'lockalt', pollMs, leaseMs, say });
const lines = stdinLines();

async function quit(code = 0) {
  await pair.leave();
  process.exit(code);
}
process.on('SIGINT', () => void quit(0));

async function main() {
  for (;;) {
    const joined = await pair.join({ onWaiting: () => say('Waiting for client 2 to connect..') });
    if (joined.busy) {
      say('Two clients are already connected; try again later.');
      return quit(1);
    }
    const me = joined.first ? 1 : 2;
    const other = 3 - me;
    say(`You are client ${me}.`);
    // Message n is written by client 1 when n is even, by client 2 when n is odd.
    for (let n = 0; ; n++) {
      const mine = (n % 2 === 0) === (me === 1);
      if (mine) {
        process.stdout.write('Enter message: ');
        const got = await lineOrPeerGone(lines, pair, pollMs);
        if (got.peerLeft) break;
        if (got.line === null) return quit(0);
        await pair.write(n, got.line);
        continue;
      }
      say(`Waiting for client ${other}..`);
      let text = null;
      while ((text = await pair.read(n)) === null) {
        if (!(await pair.peerAlive())) break;
        await sleep(pollMs);
      }
      if (text === null) break;
      say(`Client ${other}: ${text}`);
    }
    say(`Client ${other} left the conversation.`);
    await pair.forgetPeer();
  }
}

main().catch((error) => {
  console.error(`error: ${error.message}`);
  void quit(1);
});
