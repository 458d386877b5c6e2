/**
 * The protocols fuzz can generate live server cases for, by name (the registry's live protocols
 * that have a model oracle).
 */
import type { ProtocolFuzz } from './case-arbitrary.js';
import { kvFuzz } from './protocols/kv-fuzz.js';
import { offlineQueueFuzz } from './protocols/offline-queue-fuzz.js';
import { pingLivenessFuzz } from './protocols/ping-liveness-fuzz.js';
import { registerExitFuzz } from './protocols/register-exit-fuzz.js';

export const fuzzGenerators: readonly ProtocolFuzz[] = [kvFuzz, pingLivenessFuzz, registerExitFuzz, offlineQueueFuzz];

export function fuzzGeneratorFor(protocol: string): ProtocolFuzz | undefined {
  return fuzzGenerators.find((g) => g.protocol === protocol);
}
