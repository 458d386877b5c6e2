/**
 * offline-queue servers (docs/protocols.md section 5): users create accounts and log in, send to
 * online, offline, unknown and deleted users, check and delete (the queues), list with wildcard
 * patterns (and text that is a regular expression), log in elsewhere, quit, fill `sender` with
 * another name, and send opcodes and versions the protocol does not have. The separators are the
 * ones of its replies (`sender:text\n`) and its patterns (`*`, `_`). Fields go up to 255 characters:
 * past the 100-character limit the protocol fixes, under the 1024-byte read of its raw framing (a
 * larger frame gets a server's own refusal, which the oracle cannot judge; measured: the reference
 * server's opcode 0 where the model says 4).
 */
import fc from 'fast-check';
import { Op } from '../../../models/offline-queue/messages.js';
import { nameBase, streamFaults, type ProtocolFuzz } from '../case-arbitrary.js';
import { fieldText, hostileText, ladderText, type FuzzText } from '../hostile-data.js';

const separators = [':', '\n', ':\n', '*', '_', '.*', '(a+)+$', '[', '\\'];

/**
 * An account name whose fate docs/protocols.md fixes: it says nothing of `*` or control characters
 * in names (the model refuses them; correct servers accept them), nor of white space around a name
 * (a correct server may trim it: the held-out Python server answers `create " "` as a name in use),
 * so those become `-`; `:` and line ends (which would break `sender:text\n`) stay, as names over 25
 * characters and the empty name do.
 */
const fixedFateName = (t: FuzzText): FuzzText => {
  const fair = (x: string): string =>
    x
      // eslint-disable-next-line no-control-regex
      .replace(/[*\u0000-\u0009\u000b-\u001f\u007f]/g, '-')
      .replace(/^[^\S\n]+|[^\S\n]+$/g, (m) => '-'.repeat(m.length));
  return typeof t === 'string' ? fair(t) : { ...t, $repeat: fair(t.$repeat) };
};
const nameText = fieldText(separators, 255).map(fixedFateName);

function message(users: number): fc.Arbitrary<unknown> {
  const user = fc.integer({ min: 0, max: users }).map((i) => ({ $user: i }));
  const someone = fc.oneof({ weight: 4, arbitrary: user }, { weight: 1, arbitrary: fc.constant({ $self: true }) });
  const pattern = fc.oneof(
    { weight: 3, arbitrary: fc.tuple(fc.integer({ min: 0, max: users }), fc.constantFrom('*', '_', '.', '?', '[')).map(([i, wild]) => ({ $user: i, wild })) },
    { weight: 1, arbitrary: fc.constantFrom('*', '_', '') },
    { weight: 1, arbitrary: hostileText(separators) },
  );
  return fc.oneof(
    { weight: 8, arbitrary: fc.record({ opcode: fc.constant(Op.send), receiver: someone, msg: fieldText(separators, 255) }) },
    { weight: 1, arbitrary: fc.record({ opcode: fc.constant(Op.send), receiver: someone, msg: fieldText(separators, 255), sender: user }) },
    { weight: 4, arbitrary: fc.constant({ opcode: Op.check }) },
    { weight: 2, arbitrary: fc.record({ opcode: fc.constantFrom(Op.create, Op.login), msg: someone }) },
    { weight: 1, arbitrary: fc.record({ opcode: fc.constantFrom(Op.create, Op.login), msg: nameText }) },
    { weight: 1, arbitrary: fc.constant({ opcode: Op.delete }) },
    { weight: 2, arbitrary: fc.record({ opcode: fc.constant(Op.list), msg: pattern }) },
    { weight: 1, arbitrary: fc.constant({ opcode: Op.quit }) },
    { weight: 1, arbitrary: fc.record({ opcode: fc.constantFrom(0, 8, 99, -1) }) },
  );
}

/** A message to user `to` (after it quit or left, or was named by another's message). */
const messageTo = (to: number): fc.Arbitrary<unknown> => fc.record({ opcode: fc.constant(Op.send), receiver: fc.constant({ $user: to }), msg: fieldText(separators, 255) });

export const offlineQueueFuzz: ProtocolFuzz = {
  protocol: 'offline-queue',
  maxUsers: 3,
  name: nameBase(),
  setup: () => [
    { opcode: Op.create, msg: { $self: true } },
    { opcode: Op.login, msg: { $self: true } },
  ],
  message,
  messageTo,
  // a user away: quit (or its connection ends), then back: log in again, read the queue
  goOffline: [{ opcode: Op.quit }],
  comeBack: () => [
    { opcode: Op.login, msg: { $self: true } },
    { opcode: Op.check },
  ],
  raw: fc.oneof(hostileText(separators), ladderText()),
  faults: streamFaults,
  waits: [0, 50, 300],
};
