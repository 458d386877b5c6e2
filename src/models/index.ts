/**
 * The registry of protocol models, by name.
 */
import type { ProtocolModel } from './types.js';
import { lockAlternation } from './lock-alternation/index.js';
import { offlineQueue } from './offline-queue/index.js';
import { pingLiveness } from './ping-liveness/index.js';
import { registerExit } from './register-exit/index.js';
import { statusHandshake } from './status-handshake/index.js';

export const models: Readonly<Record<string, ProtocolModel>> = {
  [lockAlternation.name]: lockAlternation,
  [statusHandshake.name]: statusHandshake,
  [pingLiveness.name]: pingLiveness,
  [registerExit.name]: registerExit,
  [offlineQueue.name]: offlineQueue,
};

export type * from './types.js';
