/**
 * The models layer's entry: the registry of protocol packages (registry.ts) and the types every
 * layer shares.
 */
export { builtinPackages, models, protocolNamed } from './registry.js';

export type * from './types.js';
export type * from './package.js';
