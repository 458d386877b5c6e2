// A submission that floods its output: a debug line for ever, as fast as the pipe takes it.
import { createServer } from 'node:net';

const port = Number(process.argv[2]);
const server = createServer((socket) => {
  socket.on('error', () => undefined);
  socket.resume();
});
server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`listening on tcp://127.0.0.1:${port}\n`);
  const line = Buffer.from(`DEBUG waiting for messages ${'.'.repeat(100)}\n`.repeat(512));
  const pump = () => {
    while (process.stdout.write(line));
    process.stdout.once('drain', pump);
  };
  pump();
});
