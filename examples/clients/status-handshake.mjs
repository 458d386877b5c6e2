#!/usr/bin/env node
// The status-handshake client of seed 001 (PROTOCOLS.md section 2), faithful: flaws included.
//
//   node status-handshake.mjs http://127.0.0.1:8112/IMserver.php [--poll-ms 500]
//
// Keys: `status` (off, one, two), `received` (0, 1), `message`. A client that finds `status` off
// or absent sets `one` and sends first; one that finds `one` sets `two` and waits first; one that
// finds `two` is told the server is in use. A sender writes `message` and sets received=1, then
// waits; a waiter polls `status` (off: the other user left) and `received`, shows the message,
// sets received=0 and sends. Ctrl-C (or the end of input) sets status=off so the other is told.
//
// The flaws are kept on purpose: the check-then-set race on `status` (both become `one` and wait
// for ever); one `received` flag written by both sides (a sender can see its own flag and show its
// own message); a killed client leaves status=two and every later client is turned away; a message
// of only white space is stripped to nothing and the receiver waits for ever. No timeouts.
import { imServer, parseArgs, sleep, stdinLines, stripNewline } from './im.mjs';

const usage = 'usage: node status-handshake.mjs URL [--poll-ms N]';
const { url, pollMs } = parseArgs(process.argv.slice(2), { pollMs: 500 }, usage);
const server = imServer(url);
const lines = stdinLines();
const get = async (key) => stripNewline(await server.get(key));
let joined = false;

async function leave() {
  if (joined) await server.set('status', 'off');
  process.exit(0);
}
process.on('SIGINT', () => {
  leave().catch(() => process.exit(1));
});

async function main() {
  const status = await get('status');
  let state;
  if (status === '' || status === 'off') {
    await server.set('status', 'one');
    joined = true;
    state = 'send';
    console.log('Waiting for the second user to connect...');
    for (;;) {
      const now = await get('status');
      if (now === 'two') break;
      await sleep(pollMs);
    }
  } else if (status === 'one') {
    await server.set('status', 'two');
    joined = true;
    state = 'wait';
  } else {
    console.log('The server is currently in use; try again later');
    process.exit(1);
  }
  console.log('Connected.');
  for (;;) {
    if (state === 'send') {
      process.stdout.write('Your message: ');
      const text = await lines.next();
      if (text === null) return leave();
      await server.set('message', text);
      await server.set('received', '1');
      state = 'wait';
    } else {
      console.log('The other user is typing...');
      for (;;) {
        await sleep(pollMs);
        if ((await get('status')) === 'off') {
          console.log('The other user has left the conversation; closing.');
          process.exit(0);
        }
        if ((await get('received')) !== '1') continue;
        // The flaw: stripped before the check, so a message of white space reads as "none yet".
        const message = (await get('message')).trim();
        if (message === '') continue;
        console.log(`Other user: ${message}`);
        await server.set('received', '0');
        break;
      }
      state = 'send';
    }
  }
}

main().catch((error) => {
  console.error(`Error: the server connection was interrupted (${error.message})`);
  process.exit(1);
});
