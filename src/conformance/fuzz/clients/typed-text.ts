/**
 * Message texts a person can type on one terminal line, from the hostile data of the server side
 * (../hostile-data.ts): plain words most of the time (several words too: a program must send the
 * whole line), the protocol's separators, quotes, markup, templates, non-ASCII, astral Unicode and
 * ZWJ sequences, and a size ladder up to the protocol's limit. What is fair to type:
 *
 *  - one line: no line ending inside;
 *  - no control characters (C0, DEL, C1): a terminal's line discipline acts on them (Ctrl-C
 *    interrupts, Ctrl-D ends input, Ctrl-U and Ctrl-W erase, DEL erases, Ctrl-V quotes), ESC and
 *    C1 start terminal sequences, so what the program reads is not what the person typed;
 *  - no white space at either end and never blank: programs may trim a typed line, and a blank one
 *    is no message (inside a text, white space of every kind stays, runs of spaces too); except,
 *    where the protocol counts a line of only spaces as a message (`blankIsMessage`), one to five
 *    spaces alone are typed too;
 *  - where the adapter types a message as the whole line (`{text}`), not a command of the program:
 *    no leading `/`, `:` or `!` (the usual command prefixes) and not its quit line.
 *
 * Nothing here names a defect: the same texts go to every program.
 */
import fc from 'fast-check';
import { plainWord, sizedText, type FuzzText } from '../hostile-data.js';

/** What the adapter and the protocol allow a typed text to be. */
export interface TextRules {
  /** the longest text, in code points */
  maxChars: number;
  /** the adapter types the text as the whole line (an echo or a chat line, not `send <to> <text>`) */
  wholeLine: boolean;
  /** the adapter's quit line, when it types one (`EXIT`, `/quit`) */
  quitLine?: string;
  /** the protocol counts a line of only spaces as a message: such lines are typed too */
  blankIsMessage?: boolean;
}

/** Characters a terminal's line discipline or the output's escape handling changes. */
const unfair = /[\u0000-\u001f\u007f-\u009f]/gu;
/** White space at an end of a line (JavaScript's, with ZERO WIDTH SPACE). */
const edgeSpace = /^[\s\u200b]+|[\s\u200b]+$/gu;
/** What programs commonly read as a command when a line starts with it. */
const commandStart = /^[/:!]/u;

/** Hostile pieces: what means something to a parser, a template, a shell, a format, a terminal. */
const hostileUnits = [' ', '  ', '"', "'", '`', '\\', '/', '%', '%s', '%n', '%00', '%0A', '&', '=', '?', '#', '+', ';', ',', ':', '|', '<', '>', '{', '}', '[', ']', '*', '_', '.', '(', ')', '^', '$', '${x}', '@', '!', '~', '\u00e9', '\u00a0', '\u200b', '\u2028', '\ufeff', '\u{1f600}', '\u{10348}', '\u{1f469}\u200d\u{1f4bb}', 'null', 'true', '0', '-1', '<script>', '{{x}}', '\\n', '\\u0000'];

/** A text made fair to type under `rules` (see the file comment); never empty. */
export function fairText(raw: string, rules: TextRules): string {
  const cut = (t: string): string => [...t].slice(0, rules.maxChars).join('').replace(edgeSpace, '');
  let text = cut(raw.replace(unfair, '').replace(edgeSpace, ''));
  if (rules.wholeLine && (commandStart.test(text) || text === rules.quitLine?.trim())) text = cut(`x${text}`);
  return text === '' ? 'x' : text;
}

/** Words a person types, one to five, single spaces between. */
const words: fc.Arbitrary<string> = fc.array(plainWord(8), { minLength: 1, maxLength: 5 }).map((w) => w.join(' '));

/** Words and hostile pieces mixed, with the protocol's separators. */
function hostileLine(separators: readonly string[]): fc.Arbitrary<string> {
  const unit = fc.constantFrom(...hostileUnits, ...separators);
  return fc.array(fc.oneof({ weight: 2, arbitrary: plainWord(6) }, { weight: 3, arbitrary: unit }), { minLength: 1, maxLength: 8 }).map((parts) => parts.join(''));
}

/** A size ladder up to the limit, of one unit (wide characters count as one code point each). */
function ladder(maxChars: number): fc.Arbitrary<string> {
  const sizes = [1, 2, 50, 99, 100, 101, 255, 256, 400].filter((s) => s <= maxChars);
  return fc.tuple(fc.constantFrom(...sizes), fc.constantFrom('x', 'é', '\u{1f600}', 'ab ')).map(([size, unit]) => {
    const text: FuzzText = sizedText(Math.max(1, Math.floor(size / [...unit].length)), unit);
    return typeof text === 'string' ? text : text.$repeat.repeat(text.times);
  });
}

/** Spaces alone, one to five: a message where the protocol says a blank line is one. */
const blank: fc.Arbitrary<string> = fc.integer({ min: 1, max: 5 }).map((n) => ' '.repeat(n));

/** One typed message text: plain words mostly, sometimes hostile or long; shrinks to a short word. */
export function typedText(separators: readonly string[], rules: TextRules): fc.Arbitrary<string> {
  const typed = fc
    .oneof({ weight: 6, arbitrary: words }, { weight: 4, arbitrary: hostileLine(separators) }, { weight: 1, arbitrary: ladder(rules.maxChars) })
    .map((raw) => fairText(raw, rules));
  return rules.blankIsMessage === true ? fc.oneof({ weight: 10, arbitrary: typed }, { weight: 1, arbitrary: blank }) : typed;
}
