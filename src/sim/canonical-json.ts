/**
 * Canonical JSON for the simulator (traces, state hashes). It is the models' function itself, not a
 * copy: the live mappings bind wire values by this text and the oracle compares those bindings with
 * the simulator's, so there is one definition (src/models/canonical-json.ts; sim may import models).
 */
export { canonicalJson } from '../models/canonical-json.js';
