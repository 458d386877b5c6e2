/** Test clients for offline-queue over a real socket, in either framing. */
import {
  decodeServer2Client,
  delimit,
  encodeClient2Server,
  LengthDelimitedFramer,
  splitConcatenatedMessages,
  type Client2Server,
  type Server2Client,
} from './protocol-wire.js';
import { StreamClient, type StreamDecoder } from './stream-client.js';

export type Framing = 'length-delimited' | 'raw';
export type OqClient = StreamClient<Server2Client> & {
  request(message: Partial<Client2Server>): void;
  /** Sends and awaits the next reply. */
  ask(message: Partial<Client2Server>): Promise<Server2Client>;
};

/** Length-delimited replies, split with the server's own framer (its byte layout is pinned in the tests). */
export function delimitedReplies(): StreamDecoder<Server2Client> {
  const framer = new LengthDelimitedFramer(1 << 20);
  return (buffer) => ({
    messages: framer.push(Buffer.from(buffer)).map((event) => {
      if (event.kind === 'error') throw new Error(event.reason);
      return decodeServer2Client(event.bytes);
    }),
    consumed: buffer.length,
  });
}

export const rawReplies: StreamDecoder<Server2Client> = (buffer) => ({
  messages: splitConcatenatedMessages(buffer).map((b) => decodeServer2Client(b)),
  consumed: buffer.length,
});

export async function openOq(port: number, framing: Framing = 'length-delimited'): Promise<OqClient> {
  const client = (await StreamClient.open(port, framing === 'raw' ? rawReplies : delimitedReplies())) as OqClient;
  const encode = (m: Partial<Client2Server>) => (framing === 'raw' ? Buffer.from(encodeClient2Server(m)) : delimit(encodeClient2Server(m)));
  client.request = (m) => client.write(encode(m));
  client.ask = (m) => {
    client.request(m);
    return client.next();
  };
  return client;
}

/** Creates (if needed) and logs in to `name`; returns the client. */
export async function loggedInOq(port: number, name: string, framing: Framing = 'length-delimited'): Promise<OqClient> {
  const client = await openOq(port, framing);
  const created = await client.ask({ opcode: 1, msg: name });
  if (created.opcode !== 1 && created.opcode !== 2) throw new Error(`create ${name}: ${JSON.stringify(created)}`);
  const login = await client.ask({ opcode: 2, msg: name });
  if (login.opcode !== 13) throw new Error(`login ${name}: ${JSON.stringify(login)}`);
  return client;
}
