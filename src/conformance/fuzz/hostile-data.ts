/**
 * Data a fuzzed case writes into the fields of a protocol: ordinary text most of the time, and text
 * that breaks naive storage, quoting, templating, parsing or routing: the protocol's own separators
 * and delimiters (each protocol passes its own), whitespace only, empty, control characters, astral
 * Unicode, quotes and markup, and a size ladder from 0 to 1 MiB (past common buffer sizes).
 *
 * A value is a string, or `{ $repeat, times }` (the step language's long string) for the sizes
 * where a literal would make the saved case unreadable. Nothing here names a defect: the same
 * generators serve every protocol and every target.
 */
import fc from 'fast-check';

/** A field value as a step writes it: literal text, or a repeated unit. */
export type FuzzText = string | { $repeat: string; times: number };

/** The size ladder, in characters: around the common buffer sizes, up to 1 MiB. */
export const sizeLadder = [0, 1, 2, 100, 255, 256, 1023, 1024, 1025, 4096, 65_536, 1_048_576] as const;

/** Sizes past this are written as `{ $repeat }` in a case. */
export const literalSizeMax = 200;

/** Text people type: short words (the common case a generator should still mostly produce). */
export const plainWord = (maxLength = 8): fc.Arbitrary<string> =>
  fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'), minLength: 1, maxLength });

/** Characters that mean something to a parser, a template, a shell, a format or a terminal. */
const hostileUnits = [' ', '\t', '\n', '\r', '\r\n', '\u0000', '\u0001', '\u001b', '\u007f', '"', "'", '`', '\\', '/', '%', '%00', '%0A', '&', '=', '?', '#', '+', ';', ',', ':', '|', '<', '>', '{', '}', '[', ']', '*', '_', '.', '(', ')', '^', '$', '@', '!', '~', '\u00e9', '\u00a0', '\u200b', '\u2028', '\ufeff', '\u{1f600}', '\u{10348}', '\u{1f469}\u200d\u{1f4bb}', 'null', 'true', '0', '-1', '<script>', '{{x}}', '%s', '%n'];

/** One hostile unit, or one of the protocol's own separators. */
const hostileUnit = (separators: readonly string[]): fc.Arbitrary<string> => fc.constantFrom(...hostileUnits, ...separators);

/** Text mixing plain words with hostile units, up to `maxUnits` pieces. */
export function hostileText(separators: readonly string[] = [], maxUnits = 6): fc.Arbitrary<string> {
  return fc.array(fc.oneof({ weight: 2, arbitrary: plainWord(6) }, { weight: 3, arbitrary: hostileUnit(separators) }), { minLength: 0, maxLength: maxUnits }).map((parts) => safeTemplate(parts.join('')));
}

/** Whitespace only, of a few kinds. */
export const whitespaceOnly: fc.Arbitrary<string> = fc.array(fc.constantFrom(' ', '\t', '\n', '\r\n', '\u00a0'), { minLength: 1, maxLength: 4 }).map((p) => p.join(''));

/** A string of exactly `size` characters (a repeated unit past literalSizeMax). */
export function sizedText(size: number, unit = 'x'): FuzzText {
  return size <= literalSizeMax ? unit.repeat(size) : { $repeat: unit, times: size };
}

/**
 * A value from the size ladder, up to `maxChars` (UTF-16 units): a protocol whose oracle cannot judge
 * a server's own size limit (one the protocol does not fix) keeps its fields under that limit.
 */
export function ladderText(maxChars: number = sizeLadder[sizeLadder.length - 1]!): fc.Arbitrary<FuzzText> {
  const sizes = sizeLadder.filter((s) => s <= maxChars);
  return fc.tuple(fc.constantFrom(...sizes), fc.constantFrom('x', 'é', '\u{1f600}', 'ab ')).map(([size, unit]) => sizedText(Math.floor(size / unit.length), unit));
}

/**
 * Field data: mostly plain, sometimes hostile, empty, whitespace only, or from the size ladder.
 * Shrinks towards a short plain word.
 */
export function fieldText(separators: readonly string[] = [], maxChars?: number): fc.Arbitrary<FuzzText> {
  return fc.oneof(
    { weight: 6, arbitrary: plainWord(10) },
    { weight: 4, arbitrary: hostileText(separators) },
    { weight: 1, arbitrary: fc.constant('') },
    { weight: 1, arbitrary: whitespaceOnly },
    { weight: 2, arbitrary: ladderText(maxChars) },
  );
}

/** The length of a value in characters (UTF-16 units, as the step language repeats them). */
export function textLength(text: FuzzText): number {
  return typeof text === 'string' ? text.length : text.$repeat.length * text.times;
}

/**
 * The step language reads `${name}` inside strings as a variable and a whole `$name` as a capture:
 * hostile text keeps its dollar signs, but never in those two shapes (a space breaks them).
 */
export function safeTemplate(text: string): string {
  const broken = text.replaceAll('${', '$ {');
  return /^\$[A-Za-z_][A-Za-z0-9_]*$/.test(broken) ? ` ${broken}` : broken;
}

/**
 * The largest field fuzz writes where the protocol fixes no size limit: servers may refuse longer
 * text (protosim's reference servers refuse past maxMessageChars=4096), and the oracle cannot tell a
 * server's own limit from a defect, so fields stay under it. Raw bytes (not a message) and fields
 * whose limit the protocol fixes (offline-queue's 100 characters) go up the whole ladder.
 */
export const unfixedLimitChars = 4096;
