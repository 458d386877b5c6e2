/**
 * Byte fixtures for the gob codec, derived by hand from the gob specification
 * (https://pkg.go.dev/encoding/gob). Each fixture is annotated byte by byte.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  encodeGobMessage,
  encodeGobMessageValue,
  frameGob,
  GobDecoder,
  gobMessageTypeDefinition,
  writeGobInt,
  writeGobUint,
  type GobMessage,
} from './protocol-wire.js';

const hex = (s: string) => s.replace(/\s+/g, '');
const ascii = (s: string) => Buffer.from(s, 'latin1').toString('hex');

/**
 * The type definition message body for `type Message struct{To, From, Content string; Register, Exit bool}`:
 *
 *   ff 81          int -65: uint 129 (= (^-65 << 1) | 1 = 64*2+1), >= 128 so 0xff (-1: one byte follows) then 0x81
 *   03             wireType: field delta 3 -> field 2, StructT (ArrayT=0, SliceT=1 are nil and omitted)
 *   01             structType: delta 1 -> field 0, the embedded CommonType
 *   01 07 "Message"  CommonType.Name: delta 1, string of length 7
 *   01 ff 82       CommonType.Id: delta 1, int 65 = uint 130 = ff 82
 *   00             end of CommonType
 *   01             structType: delta 1 -> field 1, Field []fieldType
 *   05             slice length 5
 *   01 02 "To" 01 0c 00        fieldType{Name: "To", Id: 6 (string) = int 12}, end
 *   01 04 "From" 01 0c 00
 *   01 07 "Content" 01 0c 00
 *   01 08 "Register" 01 02 00  Id 1 (bool) = int 2
 *   01 04 "Exit" 01 02 00
 *   00             end of structType
 *   00             end of wireType
 */
const typeDefinitionHex = hex(`
  ff81 03 01
  01 07 ${ascii('Message')} 01 ff82 00
  01 05
  01 02 ${ascii('To')} 01 0c 00
  01 04 ${ascii('From')} 01 0c 00
  01 07 ${ascii('Content')} 01 0c 00
  01 08 ${ascii('Register')} 01 02 00
  01 04 ${ascii('Exit')} 01 02 00
  00 00`);

describe('gob primitives', () => {
  it.each([
    [0, '00'],
    [127, '7f'],
    [128, 'ff80'], // one byte follows: 0xff is -1
    [256, 'fe0100'], // two bytes follow: 0xfe is -2
    [65535, 'feffff'],
    [65536, 'fd010000'],
  ])('uint %d is %s', (value, bytes) => {
    const out: number[] = [];
    writeGobUint(out, value);
    expect(Buffer.from(out).toString('hex')).toBe(bytes);
  });

  it.each([
    [0, '00'],
    [1, '02'],
    [-1, '01'],
    [6, '0c'],
    [65, 'ff82'],
    [-65, 'ff81'],
    [-129, 'fe0101'], // (^-129 << 1) | 1 = 257: two bytes 01 01
  ])('int %d is %s', (value, bytes) => {
    const out: number[] = [];
    writeGobInt(out, value);
    expect(Buffer.from(out).toString('hex')).toBe(bytes);
  });
});

describe('gob Message encoding', () => {
  it('the type definition is the 71 bytes derived from the spec', () => {
    expect(gobMessageTypeDefinition.length).toBe(71);
    expect(Buffer.from(gobMessageTypeDefinition).toString('hex')).toBe(typeDefinitionHex);
  });

  it('a registration is [47 + type definition][length + value], zero fields omitted', () => {
    // value: ff82 (type 65), 02 (delta 2 -> field 1 From) 05 "alice", 02 (delta 2 -> field 3 Register) 01 (true), 00 end
    const value = hex(`ff82 02 05 ${ascii('alice')} 02 01 00`);
    expect(Buffer.from(encodeGobMessageValue({ From: 'alice', Register: true })).toString('hex')).toBe(value);
    expect(encodeGobMessage({ From: 'alice', Register: true }).toString('hex')).toBe(`47${typeDefinitionHex}0c${value}`);
  });

  it('the unknown-recipient error and the server exit', () => {
    const content = 'That user is not connected to this server';
    // From is field 1 (delta 2), Content field 2 (delta 1); 41 = 0x29 bytes of content
    expect(Buffer.from(encodeGobMessageValue({ From: 'Error', Content: content })).toString('hex')).toBe(
      hex(`ff82 02 05 ${ascii('Error')} 01 29 ${ascii(content)} 00`),
    );
    // Exit is field 4: delta 5 from -1
    expect(Buffer.from(encodeGobMessageValue({ Exit: true })).toString('hex')).toBe('ff82050100');
    expect(Buffer.from(encodeGobMessageValue({})).toString('hex')).toBe('ff8200');
  });

  it('a message of all fields, and a length prefix over 127 bytes', () => {
    expect(Buffer.from(encodeGobMessageValue({ To: 'b', From: 'a', Content: 'hi' })).toString('hex')).toBe(
      hex(`ff82 01 01 62 01 01 61 01 02 6869 00`),
    );
    const long = frameGob(encodeGobMessageValue({ Content: 'x'.repeat(200) }));
    // body: ff82 03 (delta 3 -> Content) ffc8 (uint 200) + 200 bytes + 00 = 206 bytes -> prefix ff ce
    expect(long.subarray(0, 7).toString('hex')).toBe('ffceff8203ffc8');
    expect(long.length).toBe(2 + 206);
  });
});

describe('gob decoding', () => {
  const full = (m: Partial<GobMessage>): GobMessage => ({ To: '', From: '', Content: '', Register: false, Exit: false, ...m });

  it('decodes the seed framing (type definition before every value), byte by byte', () => {
    const decoder = new GobDecoder(1024);
    const stream = Buffer.concat([encodeGobMessage({ From: 'alice', Register: true }), encodeGobMessage({ To: 'bob', From: 'alice', Content: 'hi' })]);
    const events = [...stream].flatMap((b) => decoder.push(Buffer.from([b])));
    expect(events).toEqual([
      { kind: 'message', message: full({ From: 'alice', Register: true }) },
      { kind: 'message', message: full({ To: 'bob', From: 'alice', Content: 'hi' }) },
    ]);
    expect(decoder.hasPartialFrame()).toBe(false);
  });

  it('decodes one encoder sending the type once, then several values (a real Go client)', () => {
    const decoder = new GobDecoder(1024);
    const stream = Buffer.concat([
      frameGob(gobMessageTypeDefinition),
      frameGob(encodeGobMessageValue({ From: 'alice', Register: true })),
      frameGob(encodeGobMessageValue({ To: 'bob', Content: 'one' })),
      frameGob(encodeGobMessageValue({ To: 'bob', Content: 'two' })),
      frameGob(encodeGobMessageValue({ Exit: true })),
    ]);
    expect(decoder.push(stream).map((e) => (e.kind === 'message' ? e.message : e))).toEqual([
      full({ From: 'alice', Register: true }),
      full({ To: 'bob', Content: 'one' }),
      full({ To: 'bob', Content: 'two' }),
      full({ Exit: true }),
    ]);
  });

  it('maps fields by name and skips unknown ones, like gob', () => {
    // type 65 = struct Msg{Seq int; Content string; Extra []byte}
    const def = hex(`ff81 03 01 01 03 ${ascii('Msg')} 01 ff82 00 01 03
      01 03 ${ascii('Seq')} 01 04 00
      01 07 ${ascii('Content')} 01 0c 00
      01 05 ${ascii('Extra')} 01 0a 00 00 00`);
    const value = hex(`ff82 01 fe0100 01 02 6869 01 03 010203 00`); // Seq=128 (int 256), Content "hi", Extra [1 2 3]
    const decoder = new GobDecoder(1024);
    const events = decoder.push(Buffer.concat([frameGob(Buffer.from(def, 'hex')), frameGob(Buffer.from(value, 'hex'))]));
    expect(events).toEqual([{ kind: 'message', message: full({ Content: 'hi' }) }]);
  });

  it.each([
    ['a value before its type', frameGob(encodeGobMessageValue({ To: 'x' })), /before its type definition/],
    ['an oversize length', Buffer.from('fe1000', 'hex'), /4096 bytes exceeds maxFrameBytes=1024/],
    ['a string past the end', Buffer.concat([frameGob(gobMessageTypeDefinition), frameGob(Buffer.from('ff820160', 'hex'))]), /runs past the end/],
    ['a field number past the struct', Buffer.concat([frameGob(gobMessageTypeDefinition), frameGob(Buffer.from('ff820901', 'hex'))]), /field number 8 out of range/],
    ['a non-struct type', frameGob(Buffer.from('ff81020000', 'hex')), /not a struct/],
    [
      'a field To of type int',
      Buffer.concat([
        frameGob(Buffer.from(hex(`ff81 03 01 01 07 ${ascii('Message')} 01 ff82 00 01 01 01 02 ${ascii('To')} 01 04 00 00 00`), 'hex')),
        frameGob(Buffer.from('ff82010600', 'hex')), // To = int 3
      ]),
      /field To has type 2, expected 6/,
    ],
  ])('refuses %s', (_what, bytes, reason) => {
    const decoder = new GobDecoder(1024);
    const events = decoder.push(bytes);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ kind: 'error', reason: expect.stringMatching(reason) });
    expect(decoder.push(encodeGobMessage({ To: 'after' }))).toEqual([]); // unusable afterwards
  });

  it('round-trips any message (property)', () => {
    const message = fc.record({ To: fc.string(), From: fc.string(), Content: fc.string({ maxLength: 300 }), Register: fc.boolean(), Exit: fc.boolean() });
    fc.assert(
      fc.property(fc.array(message, { maxLength: 5 }), fc.integer({ min: 1, max: 50 }), (messages, chunk) => {
        const decoder = new GobDecoder(64 * 1024);
        const bytes = Buffer.concat(messages.map((m) => encodeGobMessage(m)));
        const out = [];
        for (let i = 0; i < bytes.length; i += chunk) out.push(...decoder.push(bytes.subarray(i, i + chunk)));
        expect(out).toEqual(messages.map((m) => ({ kind: 'message', message: m })));
      }),
      { numRuns: 200 },
    );
  });
});
