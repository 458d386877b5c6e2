/**
 * The live side the two key-value protocols (lock-alternation, status-handshake) share: `kv`, the
 * course's IM key-value server over HTTP (im-http.ts), and its reference server (server-program.ts).
 * protosim's kv harness speaks the IM interface itself: the kv oracle for suites, and the IM server
 * it plays for client programs (src/conformance).
 */
import { defaultMemoryReturned } from '../live-bounds.js';
import type { LiveProtocol } from '../package.js';
import { kvDefects, kvServer } from './server-program.js';

export const kvLive: LiveProtocol = {
  name: 'kv',
  summary: "the course's IM key-value server (serves lock-alternation and status-handshake)",
  transport: 'http',
  exampleAddress: 'http://127.0.0.1:PORT/IMserver.php',
  codecs: [{ name: 'im-http', format: 'im-http' }],
  stores: true,
  // a connection its client left is closed within 2 s (a socket left in CLOSE_WAIT is a leaked descriptor)
  // and a soak's rounds that leave the model as they found it leave the server's memory where it was
  bounds: { connectionsReleasedMs: 2000, memoryReturned: defaultMemoryReturned },
  server: {
    defects: kvDefects,
    options: [],
    // Keys are short names, values are chat messages.
    limitDefaults: { maxNameChars: 256, maxMessageChars: 16 * 1024, maxFrameBytes: 64 * 1024 },
    program: { transport: 'http', configure: kvServer },
    // Every client holds its connection; a loop of set(k_i, v_seq) then get(k_i) == v_seq; keys at the end.
    bench: {
      setup: (i) => [{ send: `/?action=set&key=k${i}&value=v0` }],
      operation: (i, _n, seq) => [
        { send: `/?action=set&key=k${i}&value=v${seq + 1}` },
        { send: `/?action=get&key=k${i}`, outcome: (body) => (body === `v${seq + 1}\n` ? 'ok' : 'lost') },
      ],
      finish: {
        send: '/?action=keys',
        lost(body, n) {
          const keys = String(body).split('\n').filter((k) => k !== '');
          return keys.length === n ? { lost: 0 } : { lost: Math.abs(n - keys.length), note: `keys listed ${keys.length}, expected ${n}` };
        },
      },
    },
  },
};
