/**
 * The client side of each stream protocol's wire, for model clients that talk to a live server:
 * a model client's request becomes a wire message (what the live codec encodes), and a wire reply
 * becomes the model message its machine expects (docs/protocols.md sections 3, 4, 5).
 *
 * Identifiers the server picks (ping-liveness session ids) are translated through `ids`: the model
 * side uses the ids of the server model run in shadow (`s1`), bound to the wire's on first sight,
 * so a counterexample's `!as s1` names the live session the model's s1 stands for.
 */
import type { ProtocolMessage } from '../models/types.js';
import { canonicalJson } from '../sim/canonical-json.js';
import { PingMtype } from '../wire/pingLivenessWire.js';
import { routeMessageOfWire } from './registerExitMapping.js';

/** Session ids: model value <-> canonical wire value. */
export interface IdTable {
  /** the wire value for a model id, if bound */
  wireOf(modelId: string): unknown;
  /** the model id for a wire value (binding a new one when unknown) */
  modelOf(wireValue: unknown): string;
}

/** A model client's request as a wire message; null when it has no wire form (the fixed offline-queue model's confirmation). */
export function requestToWire(protocol: string, msg: ProtocolMessage, ids: IdTable, nowMs: number): unknown {
  switch (protocol) {
    case 'ping-liveness':
      switch (msg.type) {
        case 'VERSION_REQUEST':
          return { mtype: PingMtype.versionRequest, payload: { supported_versions: msg.versions } };
        case 'LOGIN_REQUEST':
          return { mtype: PingMtype.loginRequest, payload: { username: msg.username, password: msg.password } };
        case 'CHAT':
          return { mtype: PingMtype.chatMessage, payload: { id: ids.wireOf(String(msg.id)), time: Math.floor(nowMs / 1000), message: msg.message } };
        case 'LOGOUT':
          return { mtype: PingMtype.logout, payload: { id: ids.wireOf(String(msg.id)) } };
        case 'PING':
          return { mtype: PingMtype.ping, payload: { id: ids.wireOf(String(msg.id)) } };
        default:
          return null;
      }
    case 'register-exit':
      return { To: msg.to, From: msg.sender, Content: msg.content, Register: msg.register === true, Exit: msg.exit === true };
    case 'offline-queue':
      // The fixed model's delivery confirmation (opcode 8) is not on docs/protocols.md's wire.
      if (msg.opcode === 8) return null;
      return { opcode: msg.opcode, sender: msg.sender ?? '', receiver: msg.receiver ?? '', msg: msg.msg ?? '' };
    default:
      return null;
  }
}

/** A wire reply as the model message a client machine expects; null when it is none. */
export function replyFromWire(protocol: string, wire: unknown, ids: IdTable): ProtocolMessage | null {
  const w = (wire ?? {}) as Record<string, unknown>;
  switch (protocol) {
    case 'ping-liveness': {
      const p = (typeof w.payload === 'object' && w.payload !== null ? w.payload : {}) as Record<string, unknown>;
      switch (w.mtype) {
        case PingMtype.versionResponse:
          return { type: 'VERSION_RESPONSE', selected: typeof p.selected_version === 'string' ? p.selected_version : null, success: p.success === true };
        case PingMtype.loginResponse:
          return { type: 'LOGIN_RESPONSE', auth: p.auth === 0 ? 0 : 1, id: p.auth === 0 ? ids.modelOf(p.id) : '' };
        case PingMtype.chatMessage:
          return { type: 'CHAT', id: ids.modelOf(p.id), message: typeof p.message === 'string' ? p.message : '' };
        case PingMtype.error:
          return { type: 'ERROR', id: p.id === null || p.id === undefined ? '' : ids.modelOf(p.id), code: typeof p.error_code === 'number' ? p.error_code : 0, message: typeof p.message === 'string' ? p.message : '' };
        default:
          return null;
      }
    }
    case 'register-exit':
      return routeMessageOfWire(wire) as unknown as ProtocolMessage;
    case 'offline-queue':
      return typeof w.opcode === 'number' ? { type: 'REPLY', opcode: w.opcode, msg: typeof w.msg === 'string' ? w.msg : '' } : null;
    default:
      return null;
  }
}

/** An id table over a binding source (the shadow server model), with its own ids for what it never bound. */
export class SessionIds implements IdTable {
  private readonly modelToWire = new Map<string, string>();
  private next = 1;

  constructor(private readonly bindings: () => Readonly<Record<string, string>>) {}

  private sync(): void {
    for (const [m, w] of Object.entries(this.bindings())) if (!this.modelToWire.has(m)) this.modelToWire.set(m, w);
  }

  wireOf(modelId: string): unknown {
    this.sync();
    const w = this.modelToWire.get(modelId);
    if (w !== undefined) return JSON.parse(w) as unknown;
    const unknownWire = /^wire:(.*)$/s.exec(modelId);
    return unknownWire ? (JSON.parse(unknownWire[1]!) as unknown) : modelId;
  }

  modelOf(wireValue: unknown): string {
    this.sync();
    const key = canonicalJson(wireValue ?? null);
    for (const [m, w] of this.modelToWire) if (w === key) return m;
    // The shadow model did not bind it (it no longer follows the live server): a name of our own.
    const m = `live${this.next++}`;
    this.modelToWire.set(m, key);
    return m;
  }
}
