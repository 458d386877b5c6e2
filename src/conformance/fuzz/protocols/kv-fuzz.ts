/**
 * The key-value IM server (docs/protocols.md section 1): gets, sets, unsets, keys and clears from
 * several users at once (requests in flight together), over a few shared keys so operations meet,
 * with hostile keys and values (the query string's own separators `&`, `=`, `%`, `+`, `?`, `#`,
 * newlines that meet the body's trailing newline, the size ladder up to 1 MiB). Each case starts
 * with a clear, so it runs on a store it knows, and so does what follows a restart of the target.
 *
 * Under `--strict`, protosim's own extensions too (PROTOCOLS.md has neither): each user names a store
 * of its own or shares one (`store=S`, new for each run of a case, so empty on any target; the model
 * keeps one store per name), and requests the rules cannot take (an unknown or missing action, a
 * missing or empty key) get its error reply, `error: <reason>`, and change nothing.
 */
import fc from 'fast-check';
import type { ProtocolFuzz } from '../case-arbitrary.js';
import { nameBase } from '../case-arbitrary.js';
import { fieldText, hostileText, unfixedLimitChars } from '../hostile-data.js';

const separators = ['&', '=', '%', '%26', '+', '?', '#', '/', '\n', '\n\n', ' '];

const key = fc.oneof({ weight: 4, arbitrary: fc.constantFrom('k', 'message', 'lock') }, { weight: 1, arbitrary: hostileText(separators, 3).filter((k) => k !== '') });

function message(): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 5, arbitrary: fc.record({ type: fc.constant('SET'), key, value: fieldText(separators, unfixedLimitChars) }) },
    { weight: 5, arbitrary: fc.record({ type: fc.constant('GET'), key }) },
    { weight: 1, arbitrary: fc.record({ type: fc.constant('UNSET'), key }) },
    { weight: 2, arbitrary: fc.constant({ type: 'KEYS' }) },
    { weight: 1, arbitrary: fc.constant({ type: 'CLEAR' }) },
  );
}

/** Stores a user may name (`--strict`): a few, so users share one as often as not. */
const store = fc.constantFrom('a', 'b', 'c').map((s) => ({ store: `${s}-\${run}` }));

/** Requests protosim's server refuses with `error: <reason>` (`--strict`): the IM interface's action names, misspelt or missing, and keys missing. */
const refused: fc.Arbitrary<unknown> = fc.oneof(
  fc.record({ action: fc.constantFrom('drop-table', 'GET', 'Set', 'list', 'delete', ''), key }),
  fc.record({ action: fc.constantFrom('get', 'unset'), key: fc.constantFrom('', undefined) }).map((m) => (m.key === undefined ? { action: m.action } : m)),
  fc.record({ action: fc.constant('set'), value: fieldText(separators, 64) }),
  fc.record({ key, value: fieldText(separators, 64) }),
);

const errorReply = { status: 200, body: { $regex: '^error: ' } };

const base: ProtocolFuzz = {
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
  // a user leaving closes nothing the model follows (each request is an HTTP exchange of its own)
  hooks: { unjudgedLeave: true },
};

export const kvFuzz: ProtocolFuzz = {
  ...base,
  strict: { ...base, connect: store, checks: refused.map((msg) => ({ msg, expect: errorReply })) },
};
