#!/usr/bin/env node
// A ping-liveness chat client (seed 002, PROTOCOLS.md section 3) speaking protosim's encoding of
// the seed's messages: one JSON object per line over TCP, {"mtype", "payload", "version", "sz"}, as
// `protosim serve ping-liveness` does.
//
//   node ping-liveness.mjs tcp://127.0.0.1:55667 [--ping-ms 10000] [--versions 1.0.0]
//
// It offers its versions, then asks `Username: ` and `Password: `, then `> ` for each chat line;
// every line is echoed by the server and shown as `echo: <text>`. `!quit` logs out and exits. It
// pings every 10 s while logged in (the seed's update). Like the seed's client, Ctrl-C ends the
// program without logging out: the server finds out by the missing pings.
import net from 'node:net';

const args = process.argv.slice(2);
const address = args[0];
const option = (name, fallback) => {
  const at = args.indexOf(name);
  return at >= 0 && args[at + 1] !== undefined ? args[at + 1] : fallback;
};
const pingMs = Number(option('--ping-ms', '10000'));
const versions = option('--versions', '1.0.0').split(',');
const m = /^tcp:\/\/([^:/]+):(\d+)$/.exec(address ?? '');
if (!m || !(pingMs > 0)) {
  console.error('usage: node ping-liveness.mjs tcp://HOST:PORT [--ping-ms N] [--versions 1.0.0,...]');
  process.exit(2);
}

const socket = net.connect({ host: m[1], port: Number(m[2]) });
const send = (mtype, payload) => {
  const body = JSON.stringify(payload);
  socket.write(`${JSON.stringify({ mtype, payload, version: '1.0.0', sz: Buffer.byteLength(body) })}\n`);
};

/** negotiating | username | password | waiting-login | chat | waiting-echo | done */
let state = 'negotiating';
let user = '';
let password = '';
let session = null;
let pinger;
let leaving = false;

function ask() {
  if (state === 'username') process.stdout.write('Username: ');
  else if (state === 'password') process.stdout.write('Password: ');
  else if (state === 'chat') process.stdout.write('> ');
}

function loggedOut(text) {
  clearInterval(pinger);
  session = null;
  console.log(text);
  state = 'username';
  ask();
}

function onMessage(message) {
  const p = message.payload ?? {};
  switch (message.mtype) {
    case 8: // VERSION_RESPONSE
      if (p.success) {
        state = 'username';
        ask();
      } else {
        console.log('error: version negotiation failed');
        process.exit(1);
      }
      return;
    case 2: // LOGIN_RESPONSE
      if (p.auth === 0) {
        session = p.id;
        console.log(`Logged in as ${user}.`);
        pinger = setInterval(() => send(6, { id: session }), pingMs);
        state = 'chat';
        ask();
      } else loggedOut('Bad user name or password.');
      return;
    case 3: // CHAT_MESSAGE, the echo
      console.log(`echo: ${p.message}`);
      if (state === 'waiting-echo') state = 'chat';
      ask();
      return;
    case 5: // ERROR
      if (state === 'negotiating') {
        console.log(`error: unsupported version (${p.message ?? 'no common version'})`);
        process.exit(1);
      }
      if (p.error_code === 3) return loggedOut(`Error 3: ${user} is logged in from another location.`);
      if (p.error_code === 2) return loggedOut('Error 2: session timed out; log in again.');
      console.log(`Error ${p.error_code}: ${p.message ?? ''}`);
      if (state === 'waiting-login') state = 'username';
      if (state === 'waiting-echo') state = 'chat';
      ask();
      return;
  }
}

socket.on('connect', () => send(7, { supported_versions: versions }));
let buffer = '';
socket.setEncoding('utf8');
socket.on('data', (chunk) => {
  buffer += chunk;
  let i;
  while ((i = buffer.indexOf('\n')) >= 0) {
    const line = buffer.slice(0, i);
    buffer = buffer.slice(i + 1);
    try {
      onMessage(JSON.parse(line));
    } catch {
      // not a message of the protocol: ignored
    }
  }
});
socket.on('close', () => {
  if (!leaving) console.log('Connection to the server lost, exiting...');
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
    onLine(line);
  }
});
process.stdin.on('end', () => process.exit(0));

function onLine(line) {
  switch (state) {
    case 'username':
      user = line.trim();
      state = 'password';
      ask();
      return;
    case 'password':
      password = line.trim();
      state = 'waiting-login';
      send(1, { username: user, password });
      return;
    case 'chat':
      if (line.trim() === '!quit') {
        leaving = true;
        send(4, { id: session });
        socket.end();
        return;
      }
      state = 'waiting-echo';
      send(3, { id: session, time: Math.floor(Date.now() / 1000), message: line });
      return;
    default:
      return; // typed while waiting: the seed's client reads nothing then
  }
}
