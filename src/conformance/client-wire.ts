/**
 * The client side of each stream protocol's wire, for model clients that talk to a live server:
 * a model client's request becomes a wire message (what the live codec encodes), and a wire reply
 * becomes the model message its machine expects. Each protocol's package says how (`live.clientWire`,
 * read through the registry); this file keeps the session-id table.
 *
 * Identifiers the server picks (ping-liveness session ids) are translated through `ids`: the model
 * side uses the ids of the server model run in shadow (`s1`), bound to the wire's on first sight,
 * so a counterexample's `!as s1` names the live session the model's s1 stands for.
 */
import type { IdTable } from '../models/live-types.js';
import { protocolNamed } from '../models/registry.js';
import type { ProtocolMessage } from '../models/types.js';
import { canonicalJson } from '../sim/canonical-json.js';

export type { IdTable };

/** A model client's request as a wire message; null when it has no wire form (the fixed offline-queue model's confirmation). */
export function requestToWire(protocol: string, msg: ProtocolMessage, ids: IdTable, nowMs: number): unknown {
  return protocolNamed(protocol)?.live?.clientWire?.requestToWire(msg, ids, nowMs) ?? null;
}

/** A wire reply as the model message a client machine expects; null when it is none. */
export function replyFromWire(protocol: string, wire: unknown, ids: IdTable): ProtocolMessage | null {
  return protocolNamed(protocol)?.live?.clientWire?.replyFromWire(wire, ids) ?? null;
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
