/**
 * The key-value IM server (docs/protocols.md section 1): gets, sets, unsets, keys and clears from
 * several users at once (requests in flight together), over a few shared keys so operations meet,
 * with hostile keys and values (the query string's own separators `&`, `=`, `%`, `+`, `?`, `#`,
 * newlines that meet the body's trailing newline, the size ladder up to 1 MiB). Each case starts
 * with a clear, so it runs on a store it knows, and so does what follows a restart of the target.
 */
import fc from 'fast-check';
import type { ProtocolFuzz } from '../case-arbitrary.js';
import { nameBase } from '../case-arbitrary.js';
import { fieldText, hostileText, unfixedLimitChars } from '../hostile-data.js';

const separators = ['&', '=', '%', '%26', '+', '?', '#', '/', '\n', '\n\n', ' '];

function message(): fc.Arbitrary<unknown> {
  const key = fc.oneof({ weight: 4, arbitrary: fc.constantFrom('k', 'message', 'lock') }, { weight: 1, arbitrary: hostileText(separators, 3).filter((k) => k !== '') });
  return fc.oneof(
    { weight: 5, arbitrary: fc.record({ type: fc.constant('SET'), key, value: fieldText(separators, unfixedLimitChars) }) },
    { weight: 5, arbitrary: fc.record({ type: fc.constant('GET'), key }) },
    { weight: 1, arbitrary: fc.record({ type: fc.constant('UNSET'), key }) },
    { weight: 2, arbitrary: fc.constant({ type: 'KEYS' }) },
    { weight: 1, arbitrary: fc.constant({ type: 'CLEAR' }) },
  );
}

export const kvFuzz: ProtocolFuzz = {
  protocol: 'kv',
  maxUsers: 3,
  name: nameBase(),
  setup: (user) => (user === 0 ? [{ type: 'CLEAR' }] : []),
  message,
  faults: fc.oneof(
    fc.record({ fault: fc.constant('latency' as const), ms: fc.constantFrom(1, 20, 100) }),
    fc.record({ fault: fc.constant('split' as const), direction: fc.constantFrom('to-target' as const, 'from-target' as const), parts: fc.integer({ min: 2, max: 4 }) }),
  ),
  waits: [0, 50],
  // the course's IM server keeps its keys across a restart (a file), protosim's does not: a clear
  // after a restart makes the store's state known either way
  afterRestart: [{ type: 'CLEAR' }],
};
