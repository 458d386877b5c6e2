#!/usr/bin/env node
// The lock-alternation client of seed 000 (PROTOCOLS.md section 1), faithful: flaws included.
//
//   node lock-alternation.mjs http://127.0.0.1:8112/IMserver.php [--poll-ms 500]
//
// Keys: `connected` (absent, 1, 2), `lock` (1, 2), `message`. The first client to find `connected`
// absent sets connected=1 and lock=1 and waits for connected=2; the other sets connected=2. The
// client whose number is in `lock` types a message, writes it and passes the lock.
//
// The flaws are kept on purpose (protosim's tests show them): reading and setting `connected` are
// two requests (two clients started together both become client 1 and wait for ever); a third
// client becomes a second client 2; a client that dies leaves the other polling for ever; keys left
// by an earlier session make the next pair start wrong. No request has a timeout, as in the seed;
// an error from the server ends the program with the error, as an uncaught Python exception would.
import { imServer, parseArgs, sleep, stdinLines, stripNewline } from './im.mjs';

const usage = 'usage: node lock-alternation.mjs URL [--poll-ms N]';
const { url, pollMs } = parseArgs(process.argv.slice(2), { pollMs: 500 }, usage);
const server = imServer(url);
const lines = stdinLines();
const get = async (key) => stripNewline(await server.get(key));

async function main() {
  let me;
  if ((await get('connected')) === '') {
    // The race: another client may read `connected` between this read and the set below.
    await server.set('connected', '1');
    await server.set('lock', '1');
    me = 1;
    console.log('Waiting for client 2 to connect..');
    while ((await get('connected')) !== '2') await sleep(pollMs);
  } else {
    await server.set('connected', '2');
    me = 2;
  }
  const other = me === 1 ? 2 : 1;
  console.log(`You are client ${me}.`);
  if (me === 2) await waitForTurn(me, other);
  for (;;) {
    process.stdout.write('Enter message: ');
    const text = await lines.next();
    if (text === null) process.exit(0);
    await server.set('message', text);
    await server.set('lock', String(other));
    await waitForTurn(me, other);
  }
}

async function waitForTurn(me, other) {
  console.log(`Waiting for client ${other}..`);
  while ((await get('lock')) !== String(me)) await sleep(pollMs);
  console.log(`Client ${other}: ${await get('message')}`);
}

main().catch((error) => {
  console.error(`Traceback (most recent call last): ${error.message}`);
  process.exit(1);
});
