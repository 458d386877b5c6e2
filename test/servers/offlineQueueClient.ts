/** Test clients for offline-queue over a real socket, in either framing. */
import {
  decodeServer2Client,
  delimit,
  encodeClient2Server,
  splitConcatenatedMessages,
  type Client2Server,
  type Server2Client,
} from '../../src/servers/offlineQueueWire.js';
import { StreamClient, type StreamDecoder } from './streamClient.js';

export type Framing = 'length-delimited' | 'raw';
export type OqClient = StreamClient<Server2Client> & {
  request(message: Partial<Client2Server>): void;
  /** Sends and awaits the next reply. */
  ask(message: Partial<Client2Server>): Promise<Server2Client>;
};

export const delimitedReplies: StreamDecoder<Server2Client> = (buffer) => {
  const messages: Server2Client[] = [];
  let offset = 0;
  for (;;) {
    let length = 0;
    let shift = 1;
    let i = offset;
    let complete = false;
    while (i < buffer.length) {
      const b = buffer[i++]!;
      length += (b & 0x7f) * shift;
      shift *= 128;
      if (b < 0x80) {
        complete = true;
        break;
      }
    }
    if (!complete || buffer.length - i < length) break;
    messages.push(decodeServer2Client(buffer.subarray(i, i + length)));
    offset = i + length;
  }
  return { messages, consumed: offset };
};

export const rawReplies: StreamDecoder<Server2Client> = (buffer) => ({
  messages: splitConcatenatedMessages(buffer).map((b) => decodeServer2Client(b)),
  consumed: buffer.length,
});

export async function openOq(port: number, framing: Framing = 'length-delimited'): Promise<OqClient> {
  const client = (await StreamClient.open(port, framing === 'raw' ? rawReplies : delimitedReplies)) as OqClient;
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
