#!/usr/bin/env node
// A fixed status-handshake client: the behaviour of seed 001 (the first user sends first, the second
// waits, a third is turned away, a user who leaves is announced) without its flaws, over the plain
// course IM server (get/set/unset/keys).
//
//   node status-handshake-fixed.mjs http://127.0.0.1:8112/IMserver.php [--poll-ms 500] [--lease-ms 5000]
//
// What it repairs (see leased-pair.mjs for how): the check-then-set race on `status` (each client
// writes its own join key); the one `received` flag written by both sides (each message has its own
// key, written by its author and removed by its reader); the `two` left by a killed client (a dead
// client's lease runs out, so later users are not turned away, and its peer is told it left);
// white-space messages (values are `m:<text>`, never stripped). Requests have a timeout and retry.
import { imServer, parseArgs, stdinLines, sleep } from './im.mjs';
import { leasedPair, lineOrPeerGone } from './leased-pair.mjs';

const usage = 'usage: node status-handshake-fixed.mjs URL [--poll-ms N] [--lease-ms N]';
const { url, pollMs, leaseMs } = parseArgs(process.argv.slice(2), { pollMs: 500, leaseMs: 5000 }, usage);
const say = (line) => console.log(line);
const pair = leasedPair(imServer(url, { timeoutMs: 5000 }), { prefix: 'handshake', pollMs, leaseMs, say });
const lines = stdinLines();

async function quit(code = 0) {
  await pair.leave();
  process.exit(code);
}
process.on('SIGINT', () => void quit(0));

async function main() {
  const joined = await pair.join({ onWaiting: () => say('Waiting for the second user to connect...') });
  if (joined.busy) {
    say('The server is currently in use; try again later');
    return quit(1);
  }
  say('Connected.');
  const first = joined.first;
  for (let n = 0; ; n++) {
    const mine = (n % 2 === 0) === first;
    if (mine) {
      process.stdout.write('Your message: ');
      const got = await lineOrPeerGone(lines, pair, pollMs);
      if (got.peerLeft) break;
      if (got.line === null) return quit(0);
      await pair.write(n, got.line);
      continue;
    }
    say('The other user is typing...');
    let text = null;
    while ((text = await pair.read(n)) === null) {
      if (!(await pair.peerAlive())) break;
      await sleep(pollMs);
    }
    if (text === null) break;
    say(`Other user: ${text}`);
  }
  say('The other user has left the conversation; closing.');
  await pair.forgetPeer();
  return quit(0);
}

main().catch((error) => {
  console.error(`error: ${error.message}`);
  void quit(1);
});
