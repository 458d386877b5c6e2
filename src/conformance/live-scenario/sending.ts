/**
 * Sending in a live scenario run: a client's message goes to the live server, and the shadow models
 * are told. Stream protocols encode it with the live codec and write it on the client's
 * connection (a message sent while the link may lose it is one the server may never see); the
 * key-value protocols send one HTTP request per operation to the IM server and turn its reply
 * into the model's reply, judged by the store's shadow.
 */
import type { ProtocolMessage } from '../../models/types.js';
import type { KvReply, KvRequest } from '../../models/kv-store/messages.js';
import { requestToWire } from '../client-wire.js';
import { kvQuery, kvRequest, type KvWireReply } from '../im-http-client.js';
import { show } from '../message-pattern.js';
import { OracleLimitError } from '../server-model-oracle.js';
import { ClientNodes } from './client-nodes.js';
import type { ClientNode } from './types.js';

export abstract class LiveSending extends ClientNodes {

  protected send(node: ClientNode, msg: ProtocolMessage): void {
    const id = this.nextMessageId++;
    node.lastSent = { t: this.now(), to: this.serverId, msg };
    if (this.o.codec === null) {
      this.sendKv(node, msg as unknown as KvRequest, id);
      return;
    }
    const wire = requestToWire(this.o.protocol, msg, this.ids, this.now());
    if (wire === null) return; // no wire form (the fixed model's delivery confirmation)
    this.record({ k: 'send', t: this.now(), id, from: node.id, to: this.serverId, msg });
    const connection = node.connection;
    if (connection === undefined || connection.isClosed || this.serverStatus === 'crashed') {
      this.record({ k: 'drop', t: this.now(), id, from: node.id, to: this.serverId, msg, reason: this.serverStatus === 'crashed' ? 'crashed' : 'closed' });
      return;
    }
    let bytes: Buffer;
    try {
      bytes = this.o.codec.encode(wire);
    } catch (error) {
      this.notes.push(`${node.id}: ${show(msg)} cannot be encoded: ${(error as Error).message}`);
      return;
    }
    const indefinite = this.lossy.has(node.id) || (node.proxy?.pendingDrops('to-target') ?? 0) > 0;
    this.shadows((o) => o.send(node.id, wire, indefinite));
    connection.write(bytes).catch(() => {
      /* the close comes through the read loop */
    });
  }

  protected sendKv(node: ClientNode, request: KvRequest, id: number): void {
    this.record({ k: 'send', t: this.now(), id, from: node.id, to: this.serverId, msg: request as unknown as ProtocolMessage });
    const shadowId = this.kv!.sent(node.id, '', request);
    node.pendingKv++;
    const epoch = node.epoch;
    let query: string;
    try {
      query = kvQuery(request, undefined);
    } catch (error) {
      this.notes.push(`${node.id}: ${show(request)} has no IM form: ${(error as Error).message}`);
      return;
    }
    void kvRequest(this.host, this.port, this.path, query, this.o.replyTimeoutMs).then((outcome) => {
      node.pendingKv--;
      if (this.stopped) return;
      const wire = outcome.kind === 'reply' ? outcome.reply : undefined;
      let failure: { expected: string; observed: string } | null = null;
      try {
        failure = this.kv!.replied(shadowId, wire, this.judging ? 'judge' : 'follow');
      } catch (error) {
        if (!(error instanceof OracleLimitError)) throw error;
        this.notes.push(`the oracle stopped judging: ${error.message}`);
        this.judging = false;
      }
      if (failure !== null) {
        this.conformanceFinding(`conformance: the live IM server's reply to ${show(request)} from ${node.id} is not what the kv-store model answers in any order of the requests in flight: expected ${failure.expected}, got ${failure.observed}`);
        this.judging = false;
      }
      if (node.epoch !== epoch || node.status === 'crashed') return;
      if (wire === undefined) {
        // No reply: to the program, a failed request (the real clients set no timeout; they would crash or hang).
        this.whenRunning(node, () => {
          this.record({ k: 'conn', t: this.now(), node: node.id, peer: this.serverId, event: 'reset' });
          this.stepNode(node, { type: 'conn.reset', peer: this.serverId });
        });
        return;
      }
      this.deliver(node, kvReplyOf(request, wire) as unknown as ProtocolMessage);
    });
  }
}

/** The model's reply for a live IM reply to `request`. */
function kvReplyOf(request: KvRequest, wire: KvWireReply): KvReply {
  const body = wire.body.endsWith('\n') ? wire.body.slice(0, -1) : wire.body;
  switch (request.type) {
    case 'GET':
      // The IM interface says `\n` both for a missing key and an empty value.
      return { type: 'VALUE', key: request.key, value: body === '' ? null : body };
    case 'KEYS':
      return { type: 'KEY_LIST', keys: body.split('\n').filter((k) => k !== '') };
    case 'SET':
    case 'UNSET':
    case 'CLEAR':
      return { type: 'OK', op: request.type };
    default:
      return { type: 'OK', op: 'SET' };
  }
}
