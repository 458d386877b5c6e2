#!/usr/bin/env node
// An offline-queue client (seed 004, PROTOCOLS.md section 5) with the seed's numbered menu, speaking
// the seed's protobuf messages (Client2Server / Server2Client, version "0.1") over TCP, framed as
// `protosim serve offline-queue` does by default (a varint byte count before each message; `--raw`
// for the seed's one-message-per-write framing).
//
//   node offline-queue.mjs tcp://127.0.0.1:8080 [--raw]
//
// Each step it shows the seven actions and asks `Choose an action: `; then `Account name: `,
// `Recipient: ` and `Message: `, or `Pattern: ` as the action needs. Messages pushed by the server
// and the unread messages `check` returns are shown as `<sender>: <text>`.
import net from 'node:net';
import protobuf from 'protobufjs';

const args = process.argv.slice(2);
const m = /^tcp:\/\/([^:/]+):(\d+)$/.exec(args[0] ?? '');
if (!m) {
  console.error('usage: node offline-queue.mjs tcp://HOST:PORT [--raw]');
  process.exit(2);
}
const raw = args.includes('--raw');

const root = new protobuf.Root();
const Client2Server = new protobuf.Type('Client2Server')
  .add(new protobuf.Field('version', 1, 'string'))
  .add(new protobuf.Field('opcode', 2, 'int32'))
  .add(new protobuf.Field('sender', 3, 'string'))
  .add(new protobuf.Field('receiver', 4, 'string'))
  .add(new protobuf.Field('msg', 5, 'string'));
const Server2Client = new protobuf.Type('Server2Client')
  .add(new protobuf.Field('version', 1, 'string'))
  .add(new protobuf.Field('opcode', 2, 'int32'))
  .add(new protobuf.Field('msg', 3, 'string'));
root.define('example').add(Client2Server).add(Server2Client);

const socket = net.connect({ host: m[1], port: Number(m[2]) });
let account = '';
let leaving = false;

function request(opcode, fields = {}) {
  const bytes = Client2Server.encode({ version: '0.1', opcode, sender: account, ...fields }).finish();
  if (raw) socket.write(bytes);
  else {
    const prefix = [];
    let n = bytes.length;
    do {
      prefix.push((n & 0x7f) | (n > 0x7f ? 0x80 : 0));
      n >>>= 7;
    } while (n > 0);
    socket.write(Buffer.concat([Buffer.from(prefix), Buffer.from(bytes)]));
  }
  waitingReply = true;
}

// Output starts on a line of its own, also after a prompt answered by lines typed ahead.
let atPrompt = false;
/** the question on screen, asked again after a message pushed in between */
let shownPrompt = '';
const prompt = (text) => {
  if (atPrompt) process.stdout.write('\n');
  process.stdout.write(text);
  atPrompt = true;
  shownPrompt = text;
};
const say = (text) => {
  if (atPrompt) process.stdout.write('\n');
  atPrompt = false;
  console.log(text);
};

const menu = ['(1) Create an account', '(2) Log in', '(3) Send a message', '(4) Check unread message', '(5) Delete an account', '(6) List accounts', '(7) Quit'];
/** what the next typed line is: an action, or a field of the action being built */
let asking = null;
let waitingReply = false;
let draft = {};
function showMenu() {
  say(menu.join('\n'));
  asking = 'action';
  prompt('Choose an action: ');
}
function ask(field, text) {
  asking = field;
  prompt(text);
}

const showLetters = (text) => {
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const at = line.indexOf(':');
    say(at < 0 ? line : `${line.slice(0, at)}: ${line.slice(at + 1)}`);
  }
};

function onReply(reply) {
  const msg = reply.msg ?? '';
  switch (reply.opcode) {
    case 17: // pushed to us while online
      showLetters(msg);
      if (asking !== null) prompt(shownPrompt);
      return;
    case 1:
      say(`Account ${msg} created.`);
      break;
    case 13:
    case 16:
      say(`Logged in as ${draft.name}.`);
      account = draft.name;
      break;
    case 3:
      say('Sent.');
      break;
    case 6:
      if (msg === '') say('No unread messages.');
      else showLetters(msg);
      break;
    case 8:
      say(`Account ${account} deleted.`);
      showLetters(msg);
      account = '';
      break;
    case 10:
      say(`Accounts: ${msg.split('\n').filter((n) => n !== '').join(', ') || '(none)'}`);
      break;
    case 11:
      if (!waitingReply) {
        // Not an answer: this account was opened elsewhere.
        say(`Logged out: ${msg}`);
        account = '';
        return;
      }
      account = '';
      if (leaving) process.exit(0);
      say('Logged out.');
      break;
    default:
      say(`Error ${reply.opcode}: ${msg}`);
      if (leaving) process.exit(0);
  }
  waitingReply = false;
  showMenu();
}

let pending = Buffer.alloc(0);
socket.on('data', (chunk) => {
  pending = Buffer.concat([pending, chunk]);
  if (raw) {
    const bytes = pending;
    pending = Buffer.alloc(0);
    try {
      onReply(Server2Client.decode(bytes));
    } catch {
      say('error: a reply that is not a Server2Client');
    }
    return;
  }
  for (;;) {
    let length = 0;
    let shift = 0;
    let i = 0;
    for (; i < pending.length && i < 5; i++) {
      length |= (pending[i] & 0x7f) << shift;
      shift += 7;
      if (pending[i] < 0x80) break;
    }
    if (i >= pending.length || pending.length < i + 1 + length) return;
    const frame = pending.subarray(i + 1, i + 1 + length);
    pending = pending.subarray(i + 1 + length);
    onReply(Server2Client.decode(frame));
  }
});
socket.on('connect', showMenu);
socket.on('close', () => {
  if (!leaving) say('Connection to the server lost, exiting...');
  process.exit(leaving ? 0 : 1);
});
socket.on('error', (error) => console.error(`error: ${error.message}`));

process.stdin.setEncoding('utf8');
let typed = '';
process.stdin.on('data', (chunk) => {
  typed += chunk;
  let i;
  while ((i = typed.search(/\r?\n/)) >= 0) {
    const line = typed.slice(0, i);
    typed = typed.slice(typed[i] === '\r' ? i + 2 : i + 1);
    onLine(line.trim());
  }
});
process.stdin.on('end', () => process.exit(0));

function onLine(line) {
  switch (asking) {
    case 'action':
      asking = null;
      draft = {};
      switch (line) {
        case '1':
        case '2':
          draft.op = Number(line);
          return ask('name', 'Account name: ');
        case '3':
          return ask('to', 'Recipient: ');
        case '4':
          return request(4);
        case '5':
          return request(5);
        case '6':
          return ask('pattern', 'Pattern: ');
        case '7':
          leaving = true;
          return request(7);
        default:
          say('Choose 1 to 7.');
          return showMenu();
      }
    case 'name':
      asking = null;
      draft.name = line;
      return request(draft.op, { msg: line });
    case 'to':
      draft.to = line;
      return ask('text', 'Message: ');
    case 'text':
      asking = null;
      return request(3, { receiver: draft.to, msg: line });
    case 'pattern':
      asking = null;
      return request(6, { msg: line });
    default:
      return; // typed while waiting for a reply
  }
}
