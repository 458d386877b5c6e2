// A submission that hangs: it accepts every connection, reads what comes, and never answers.
import { createServer } from 'node:net';

const server = createServer((socket) => {
  socket.on('error', () => undefined);
  socket.resume();
});
server.listen(Number(process.argv[2]), '127.0.0.1');
