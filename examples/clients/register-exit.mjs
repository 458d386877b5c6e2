#!/usr/bin/env node
// A register-exit chat client (seed 003, PROTOCOLS.md section 4) speaking protosim's JSON-lines
// encoding of `Message{To, From, Content, Register, Exit}` over TCP, as `protosim serve
// register-exit` does by default.
//
//   node register-exit.mjs tcp://127.0.0.1:9000 alice
//
// Type `send <user> <text>` to send, `EXIT` to leave. Messages are shown as `<From>: <Content>`; a
// server that shuts down says so and the client exits.
import net from 'node:net';

const [address, name] = process.argv.slice(2);
const m = /^tcp:\/\/([^:/]+):(\d+)$/.exec(address ?? '');
if (!m || !name) {
  console.error('usage: node register-exit.mjs tcp://HOST:PORT NAME');
  process.exit(2);
}
const socket = net.connect({ host: m[1], port: Number(m[2]) });
const write = (message) => socket.write(`${JSON.stringify({ To: '', From: name, Content: '', Register: false, Exit: false, ...message })}\n`);
let leaving = false;

socket.on('connect', () => {
  write({ Register: true });
  console.log(`Registered as ${name}.`);
  process.stdout.write('> ');
});
let buffer = '';
socket.setEncoding('utf8');
socket.on('data', (chunk) => {
  buffer += chunk;
  let i;
  while ((i = buffer.indexOf('\n')) >= 0) {
    const line = buffer.slice(0, i);
    buffer = buffer.slice(i + 1);
    let message;
    try {
      message = JSON.parse(line);
    } catch {
      continue;
    }
    if (message.Exit) {
      console.log('\nServer has shut down, exiting...');
      process.exit(0);
    }
    console.log(`\n${message.From}: ${message.Content}`);
    process.stdout.write('> ');
  }
});
socket.on('close', () => {
  if (!leaving) console.log('\nConnection to the server lost, exiting...');
  process.exit(leaving ? 0 : 1);
});
socket.on('error', (error) => console.error(`error: ${error.message}`));

process.stdin.setEncoding('utf8');
let typed = '';
process.stdin.on('data', (chunk) => {
  typed += chunk;
  let i;
  while ((i = typed.search(/\r?\n/)) >= 0) {
    const line = typed.slice(0, i).trim();
    typed = typed.slice(typed[i] === '\r' ? i + 2 : i + 1);
    const send = /^send\s+(\S+)\s+(.*)$/.exec(line);
    if (line === 'EXIT') {
      leaving = true;
      write({ Exit: true });
      socket.end();
    } else if (send) write({ To: send[1], Content: send[2] });
    else if (line !== '') console.log('commands: send <user> <text>, EXIT');
    if (!leaving) process.stdout.write('> ');
  }
});
