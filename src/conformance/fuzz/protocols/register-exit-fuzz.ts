/**
 * register-exit servers (docs/protocols.md section 4): users register names, route messages to each
 * other (to names that exist, that left, that nobody has), fill `From` with another name, send Exit
 * for themselves or someone else, register a name in use (as often as their own), join late (a user
 * the setup left out registers in the body, as itself or under another's name: `lateSetup`), and
 * write garbage. `Message{To, From,
 * Content, Register, Exit}`: the protocol's separators are the ones of its text client
 * (`send <user> <text>`, `<From>: <Content>`).
 */
import fc from 'fast-check';
import { nameBase, streamFaults, type ProtocolFuzz } from '../case-arbitrary.js';
import { fieldText, hostileText, ladderText, unfixedLimitChars } from '../hostile-data.js';

const separators = [' ', ': ', '\n', 'EXIT', 'send '];

function message(users: number): fc.Arbitrary<unknown> {
  const someone = fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 0, max: users }).map((i) => ({ $user: i })) }, { weight: 1, arbitrary: fc.constant({ $self: true }) });
  const from = fc.oneof({ weight: 5, arbitrary: fc.constant({ $self: true }) }, { weight: 1, arbitrary: someone });
  return fc.oneof(
    { weight: 8, arbitrary: fc.record({ From: from, To: someone, Content: fieldText(separators, unfixedLimitChars) }) },
    // a registration names someone else (a name in use, one that left, one nobody has) as often as its sender
    { weight: 2, arbitrary: fc.record({ From: fc.oneof(fc.constant({ $self: true }), someone), Register: fc.constant(true) }) },
    // an Exit names its sender as often as someone else (an identity field naming another user)
    { weight: 2, arbitrary: fc.record({ From: fc.oneof(fc.constant({ $self: true }), someone), Exit: fc.constant(true) }) },
  );
}

/** A message to user `to` (after it left, or was named by another's message). */
const messageTo = (to: number): fc.Arbitrary<unknown> => fc.record({ From: fc.constant({ $self: true }), To: fc.constant({ $user: to }), Content: fieldText(separators, unfixedLimitChars) });

export const registerExitFuzz: ProtocolFuzz = {
  protocol: 'register-exit',
  maxUsers: 3,
  name: nameBase(),
  setup: () => [{ From: { $self: true }, Register: true }],
  // a user left out of the setup registers later: its own name, or one in use, that left or nobody has
  lateSetup: true,
  message,
  messageTo,
  raw: fc.oneof(hostileText(separators), ladderText()),
  rawEnd: '\n',
  faults: streamFaults,
  waits: [0, 50, 300],
  // Exit ends the sender's connection (whoever it names: its own exit, or refused and closed).
  hooks: { leaves: (msg) => (msg as { Exit?: boolean }).Exit === true },
};
