/**
 * The registry of protocol models, by name.
 */
import type { ProtocolModel } from './types.js';
import { lockAlternation } from './lock-alternation/index.js';

export const models: Readonly<Record<string, ProtocolModel>> = {
  [lockAlternation.name]: lockAlternation,
};

export type * from './types.js';
