/**
 * The four wire framings: golden bytes per framing, carry verdicts, seeded round trips through the
 * decoder at random chunk boundaries (1-byte chunks included), every decoder error, pendingBytes.
 * Tests are parameterised over FRAMING_NAMES; only the expectations differ per framing.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { RelayError } from '../../src/errors.js';
import { FRAMING_NAMES, FrameDecoder, encode, framingFor, isFramingName, type CarryVerdict, type FramingName } from '../../src/framing/index.js';
import { mulberry32, randomInt } from '../helpers/prng.js';

const text = (s: string): Buffer => Buffer.from(s, 'latin1');
const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

function randomBytes(random: () => number, length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) out[i] = Math.floor(random() * 256);
  return out;
}

/**
 * What a receiver of `name` reads back for `payload`, derived from the README's framing table rather than from the
 * decoder: lf drops one trailing '\n' (it is the terminator) and splits at every other '\n'.
 */
function expectedMessages(name: FramingName, payload: Buffer): Buffer[] {
  if (name !== 'lf') return [payload];
  const body = payload.length > 0 && payload[payload.length - 1] === 0x0a ? payload.subarray(0, -1) : payload;
  const lines: Buffer[] = [];
  let start = 0;
  for (let nl = body.indexOf(0x0a); nl !== -1; nl = body.indexOf(0x0a, start)) {
    lines.push(body.subarray(start, nl));
    start = nl + 1;
  }
  lines.push(body.subarray(start));
  return lines;
}

/** Feeds `stream` in the given chunk sizes (the last chunk takes the rest); returns every message. */
function decodeInChunks(decoder: FrameDecoder, stream: Buffer, sizes: () => number, scribble: boolean): Buffer[] {
  const messages: Buffer[] = [];
  for (let pos = 0; pos < stream.length; ) {
    const size = Math.min(sizes(), stream.length - pos);
    // A fresh copy per chunk, as a socket delivers it, so scribbling cannot reach `stream`.
    const chunk = Buffer.from(stream.subarray(pos, pos + size));
    const got = decoder.push(chunk);
    if (scribble) {
      // Copy what we got, then reuse the chunk memory: the decoder must not have kept a reference.
      for (const m of got) messages.push(Buffer.from(m));
      chunk.fill(0xee);
    } else {
      messages.push(...got);
    }
    pos += size;
  }
  return messages;
}

function assertFramingError(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof RelayError, `expected a RelayError, got ${String(err)}`);
    assert.equal(err.code, 'ERR_FRAMING');
    assert.match(err.message, pattern);
    return true;
  });
}

test('FRAMING_NAMES, isFramingName and framingFor agree', () => {
  assert.deepEqual([...FRAMING_NAMES], ['len32le', 'len32be', 'lf', 'octet']);
  for (const name of FRAMING_NAMES) {
    assert.equal(isFramingName(name), true);
    assert.equal(framingFor(name).name, name);
    assert.equal(framingFor(name), framingFor(name), 'singletons');
  }
  for (const bogus of ['', 'LF', 'len32', 'octets', 'toString', '__proto__', 'constructor']) {
    assert.equal(isFramingName(bogus), false, bogus);
    assert.throws(() => framingFor(bogus as FramingName), { name: 'RelayError', code: 'ERR_BAD_OPTION' });
  }
});

// Golden vectors straight from the README's framing table.
const p258 = Buffer.alloc(258, 0x61);
const p65535 = Buffer.alloc(65535, 0x62);
const golden: { name: FramingName; payload: Buffer; frame: Buffer }[] = [
  { name: 'len32le', payload: text('hi'), frame: hex('02000000 6869') },
  { name: 'len32le', payload: text(''), frame: hex('00000000') },
  { name: 'len32le', payload: text('a\nb'), frame: hex('03000000 610a62') },
  { name: 'len32le', payload: p258, frame: Buffer.concat([hex('02010000'), p258]) },
  { name: 'len32le', payload: p65535, frame: Buffer.concat([hex('ffff0000'), p65535]) },
  { name: 'len32be', payload: text('hi'), frame: hex('00000002 6869') },
  { name: 'len32be', payload: text(''), frame: hex('00000000') },
  { name: 'len32be', payload: p258, frame: Buffer.concat([hex('00000102'), p258]) },
  { name: 'len32be', payload: p65535, frame: Buffer.concat([hex('0000ffff'), p65535]) },
  { name: 'lf', payload: text('hi'), frame: text('hi\n') },
  { name: 'lf', payload: text('a\n'), frame: text('a\n') },
  { name: 'lf', payload: text(''), frame: text('\n') },
  { name: 'lf', payload: text('\n'), frame: text('\n') },
  { name: 'lf', payload: text('a\r'), frame: text('a\r\n') },
  { name: 'lf', payload: text('a\nb'), frame: text('a\nb\n') },
  { name: 'lf', payload: text('a\n\n'), frame: text('a\n\n') },
  { name: 'octet', payload: text('hi'), frame: text('2 hi') },
  { name: 'octet', payload: text('x'), frame: text('1 x') },
  { name: 'octet', payload: text('0123456789'), frame: text('10 0123456789') },
  { name: 'octet', payload: text('a\n'), frame: text('2 a\n') },
  { name: 'octet', payload: p258, frame: Buffer.concat([text('258 '), p258]) },
  { name: 'octet', payload: p65535, frame: Buffer.concat([text('65535 '), p65535]) },
];

for (const { name, payload, frame } of golden) {
  const label = payload.length > 16 ? `${payload.length} bytes` : JSON.stringify(payload.toString('latin1'));
  test(`${name} frames ${label} as golden bytes`, () => {
    const framing = framingFor(name);
    assert.deepEqual(encode(name, payload), frame);
    assert.equal(framing.frameLength(payload), frame.length);
    // encodeInto at an offset writes exactly its frame and nothing around it.
    const target = new Uint8Array(frame.length + 10).fill(0xaa);
    assert.equal(framing.encodeInto(payload, target, 3), frame.length);
    assert.deepEqual(Buffer.from(target.subarray(3, 3 + frame.length)), frame);
    assert.ok(target.subarray(0, 3).every((b) => b === 0xaa));
    assert.ok(target.subarray(3 + frame.length).every((b) => b === 0xaa));
  });
}

const verdictCases: { payload: string; verdicts: Record<FramingName, CarryVerdict> }[] = [
  { payload: '', verdicts: { len32le: 'ok', len32be: 'ok', lf: 'ok', octet: 'skip' } },
  { payload: 'hi', verdicts: { len32le: 'ok', len32be: 'ok', lf: 'ok', octet: 'ok' } },
  { payload: 'a\r', verdicts: { len32le: 'ok', len32be: 'ok', lf: 'ok', octet: 'ok' } },
  { payload: 'a\n', verdicts: { len32le: 'ok', len32be: 'ok', lf: 'ok', octet: 'ok' } },
  { payload: '\n', verdicts: { len32le: 'ok', len32be: 'ok', lf: 'ok', octet: 'ok' } },
  { payload: 'a\nb', verdicts: { len32le: 'ok', len32be: 'ok', lf: 'split', octet: 'ok' } },
  { payload: '\na', verdicts: { len32le: 'ok', len32be: 'ok', lf: 'split', octet: 'ok' } },
  { payload: 'a\n\n', verdicts: { len32le: 'ok', len32be: 'ok', lf: 'split', octet: 'ok' } },
  { payload: '\n\n', verdicts: { len32le: 'ok', len32be: 'ok', lf: 'split', octet: 'ok' } },
];

for (const name of FRAMING_NAMES) {
  test(`${name} verdicts`, () => {
    for (const { payload, verdicts } of verdictCases) {
      assert.equal(framingFor(name).verdict(text(payload)), verdicts[name], JSON.stringify(payload));
    }
  });
}

test('octet refuses to encode an empty payload, saying why', () => {
  const framing = framingFor('octet');
  const empty = new Uint8Array(0);
  assertFramingError(() => encode('octet', empty), /empty payload.*nonzero/);
  assertFramingError(() => framing.frameLength(empty), /empty payload/);
  assertFramingError(() => framing.encodeInto(empty, new Uint8Array(8), 0), /empty payload/);
});

for (const name of FRAMING_NAMES) {
  test(`${name} encodeInto refuses a target too small instead of writing a short frame`, () => {
    const payload = text('hello');
    const framing = framingFor(name);
    const length = framing.frameLength(payload);
    const target = new Uint8Array(length + 2).fill(0xaa);
    assert.throws(() => framing.encodeInto(payload, target, 3), RangeError);
    assert.ok(
      target.every((b) => b === 0xaa),
      'nothing written',
    );
    assert.equal(framing.encodeInto(payload, target, 2), length);
  });
}

for (const name of FRAMING_NAMES) {
  test(`${name} decodes its empty payload (or skips it)`, () => {
    const framing = framingFor(name);
    const empty = Buffer.alloc(0);
    if (name === 'octet') {
      assert.equal(framing.verdict(empty), 'skip');
      return;
    }
    assert.equal(framing.verdict(empty), 'ok');
    const decoder = new FrameDecoder(name, 10);
    // Three empties back to back, then one more frame: empties must not merge or vanish.
    const stream = Buffer.concat([encode(name, empty), encode(name, empty), encode(name, empty), encode(name, text('z'))]);
    assert.deepEqual(decoder.push(stream), [empty, empty, empty, text('z')]);
    assert.equal(decoder.pendingBytes, 0);
    // A chunk that ends with an empty frame completes it now, not when the next chunk comes.
    for (const payload of [empty, text('y'), empty]) {
      assert.deepEqual(decoder.push(encode(name, payload)), [payload]);
      assert.equal(decoder.pendingBytes, 0);
    }
  });
}

const MAX_PAYLOAD = 70_000;
const EDGE_SIZES = [0, 1, 2, 9, 10, 11, 99, 100, 255, 256, 257, 65_535, 65_536, 65_537, MAX_PAYLOAD];

/**
 * Seeded payloads of sizes 0..MAX_PAYLOAD: edge sizes, then random ones. For lf every other
 * payload has its '\n' bytes replaced, since random binary of any size almost always splits.
 */
function roundTripPayloads(name: FramingName, seed: number, count: number, maxSize: number): Buffer[] {
  const random = mulberry32(seed);
  const sizes = [...EDGE_SIZES.filter((s) => s <= maxSize)];
  while (sizes.length < count) sizes.push(randomInt(random, 1, random() < 0.5 ? 300 : maxSize)); // 0 is among EDGE_SIZES once
  return sizes.map((size, i) => {
    const payload = randomBytes(random, size);
    if (name === 'lf' && i % 2 === 0) {
      for (let j = 0; j < payload.length; j++) if (payload[j] === 0x0a) payload[j] = 0x0b;
      if (i % 4 === 0 && size > 0) payload[size - 1] = 0x0a; // the terminator it already has
    }
    return payload;
  });
}

const chunkings: { label: string; maxSize: number; count: number; sizes: (random: () => number) => () => number; scribble: boolean }[] = [
  { label: 'one chunk', maxSize: MAX_PAYLOAD, count: 60, sizes: () => () => Number.MAX_SAFE_INTEGER, scribble: false },
  { label: 'random chunks of 1..9 bytes', maxSize: MAX_PAYLOAD, count: 40, sizes: (r) => () => randomInt(r, 1, 9), scribble: false },
  { label: 'random chunks of 1..100000 bytes', maxSize: MAX_PAYLOAD, count: 60, sizes: (r) => () => randomInt(r, 1, 100_000), scribble: false },
  { label: 'random chunks, chunk memory reused after push', maxSize: MAX_PAYLOAD, count: 60, sizes: (r) => () => randomInt(r, 1, 5_000), scribble: true },
  { label: '1-byte chunks', maxSize: 2_000, count: 200, sizes: () => () => 1, scribble: false },
  { label: '1-byte chunks, chunk memory reused after push', maxSize: 2_000, count: 200, sizes: () => () => 1, scribble: true },
];

for (const name of FRAMING_NAMES) {
  for (const [c, chunking] of chunkings.entries()) {
    test(`${name} round trip of seeded binary payloads, ${chunking.label}`, () => {
      const seed = 0x5eed0000 + c * 16 + FRAMING_NAMES.indexOf(name);
      const framing = framingFor(name);
      const payloads = roundTripPayloads(name, seed, chunking.count, chunking.maxSize);
      const carried = payloads.filter((p) => framing.verdict(p) !== 'skip');
      assert.equal(payloads.length - carried.length, name === 'octet' ? 1 : 0, 'only the empty payload is skipped, by octet only');

      // Encode the way egress does: frameLength to size, encodeInto back to back.
      const stream = Buffer.alloc(carried.reduce((sum, p) => sum + framing.frameLength(p), 0));
      let offset = 0;
      for (const p of carried) offset += framing.encodeInto(p, stream, offset);
      assert.equal(offset, stream.length);

      const expected: Buffer[] = [];
      for (const p of carried) {
        const lines = expectedMessages(name, p);
        assert.equal(framing.verdict(p), lines.length > 1 ? 'split' : 'ok', 'verdict predicts whether the receiver splits');
        expected.push(...lines);
      }
      if (name === 'lf') assert.ok(expected.length > carried.length, 'some lf payloads were split');

      const decoder = new FrameDecoder(name, MAX_PAYLOAD);
      const got = decodeInChunks(decoder, stream, chunking.sizes(mulberry32(seed ^ 0xc0ffee)), chunking.scribble);
      // Compared only now: messages returned by early pushes must survive all later pushes.
      assert.equal(got.length, expected.length, 'message count');
      for (let i = 0; i < expected.length; i++) assert.ok(got[i]!.equals(expected[i]!), `message ${i} of ${expected.length}`);
      assert.equal(decoder.pendingBytes, 0);
    });
  }
}

for (const name of FRAMING_NAMES) {
  test(`${name} pendingBytes counts a torn tail at every cut, inside the prefix too`, () => {
    const first = encode(name, text('first'));
    const second = encode(name, text('0123456789AB')); // octet: a two-digit length to tear
    const stream = Buffer.concat([first, second]);
    for (let cut = 0; cut <= second.length; cut++) {
      const decoder = new FrameDecoder(name, 100);
      const head = decoder.push(stream.subarray(0, first.length + cut));
      const torn = cut === second.length ? 0 : cut;
      assert.equal(decoder.pendingBytes, torn, `cut ${cut}`);
      assert.equal(head.length, cut === second.length ? 2 : 1, `cut ${cut}`);
      const tail = decoder.push(stream.subarray(first.length + cut));
      assert.deepEqual(
        [...head, ...tail].map((m) => m.toString('latin1')),
        ['first', '0123456789AB'],
        `cut ${cut}`,
      );
      assert.equal(decoder.pendingBytes, 0, `cut ${cut}`);
    }
  });
}

for (const name of FRAMING_NAMES) {
  test(`${name} accepts a message of exactly maxMessageBytes`, () => {
    const payload = Buffer.alloc(1000, 0x41);
    const decoder = new FrameDecoder(name, 1000);
    assert.deepEqual(decoder.push(encode(name, payload)), [payload]);
  });
}

const le = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
};
const be = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};

// Every stream here is garbage for a decoder of `name` with maxMessageBytes `max`.
const errorCases: { name: FramingName; max: number; label: string; stream: Buffer; message: RegExp }[] = [
  {
    name: 'len32le',
    max: 1000,
    label: 'length max+1',
    stream: le(1001),
    message: /^len32le framing at stream byte 0: frame length 1001 .*exceeds maxMessageBytes 1000 \(expected a u32 little-endian length ≤ 1000/,
  },
  {
    name: 'len32le',
    max: 1000,
    label: 'ASCII text',
    stream: text('hello\n'),
    message: /frame length 1819043176 \(0x6c6c6568\) exceeds maxMessageBytes 1000.*another framing/,
  },
  {
    name: 'len32le',
    max: 1000,
    label: 'bad length after a good frame',
    stream: Buffer.concat([le(2), text('ok'), le(0xffffffff)]),
    message: /at stream byte 6: frame length 4294967295 /,
  },
  {
    name: 'len32be',
    max: 1000,
    label: 'length max+1',
    stream: be(1001),
    message: /^len32be framing at stream byte 0: frame length 1001 .*\(expected a u32 big-endian length ≤ 1000/,
  },
  { name: 'len32be', max: 65_536, label: 'little-endian input', stream: le(5), message: /frame length 83886080 .*exceeds maxMessageBytes 65536/ },
  {
    name: 'lf',
    max: 10,
    label: 'line of max+1 bytes',
    stream: text('0123456789A\n'),
    message: /^lf framing at stream byte 10: line longer than maxMessageBytes 10 \(expected at most 10 bytes, then '\\n'\)/,
  },
  {
    name: 'lf',
    max: 10,
    label: 'max+1 bytes and no newline yet',
    stream: text('0123456789A'),
    message: /^lf framing at stream byte 10: line longer than maxMessageBytes 10 \(expected/,
  },
  {
    name: 'octet',
    max: 1000,
    label: '"0 "',
    stream: text('0 '),
    message: /^octet framing at stream byte 1: length is 0 \(expected a nonzero decimal length without leading zeros, then SP/,
  },
  {
    name: 'octet',
    max: 1000,
    label: '"012 "',
    stream: text('012 abcdefghijkl'),
    message: /at stream byte 1: length has a leading zero \(expected a nonzero decimal length/,
  },
  { name: 'octet', max: 1000, label: '"00 "', stream: text('00 '), message: /length has a leading zero/ },
  {
    name: 'octet',
    max: 1000,
    label: '"12x"',
    stream: text('12x'),
    message: /at stream byte 2: unexpected byte 'x' \(0x78\) in the length \(expected a nonzero decimal length/,
  },
  { name: 'octet', max: 1000, label: '"abc"', stream: text('abc'), message: /at stream byte 0: unexpected byte 'a' \(0x61\) in the length/ },
  { name: 'octet', max: 1000, label: '"-1 "', stream: text('-1 x'), message: /unexpected byte '-' \(0x2d\)/ },
  { name: 'octet', max: 1000, label: '"12\\n"', stream: text('12\nab'), message: /unexpected byte 0x0a in the length/ },
  { name: 'octet', max: 1000, label: 'SP without a length', stream: text(' x'), message: /SP with no length before it \(expected a nonzero decimal length/ },
  {
    name: 'octet',
    max: 1000,
    label: 'length max+1',
    stream: text('1001 '),
    message: /at stream byte 4: frame length 1001 exceeds maxMessageBytes 1000 \(expected a length of 1\.\.1000\)/,
  },
  {
    name: 'octet',
    max: 1000,
    label: 'overlong digits',
    stream: text('99999999999999999999 '),
    message: /at stream byte 4: length has more than 4 digits, so it exceeds maxMessageBytes 1000/,
  },
  { name: 'octet', max: 1000, label: 'bad length after a good frame', stream: text('2 ok0 '), message: /at stream byte 5: length is 0/ },
];

for (const { name, max, label, stream, message } of errorCases) {
  for (const chunked of [false, true]) {
    test(`${name} decoder rejects ${label}${chunked ? ', fed byte by byte' : ''}`, () => {
      const decoder = new FrameDecoder(name, max);
      const pushAll = (): void => {
        if (!chunked) decoder.push(stream);
        else for (let i = 0; i < stream.length; i++) decoder.push(stream.subarray(i, i + 1));
      };
      assertFramingError(pushAll, message);
      // Once failed, always failed: nothing says where the next frame would start.
      assertFramingError(() => decoder.push(encode(name, text('fine'))), /already failed.*expected a new decoder/);
    });
  }
}

test('FrameDecoder rejects a bad name or maxMessageBytes at construction', () => {
  for (const max of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
    assert.throws(() => new FrameDecoder('lf', max), { name: 'RelayError', code: 'ERR_BAD_OPTION', message: /maxMessageBytes must be a positive integer/ });
  }
  assert.throws(() => new FrameDecoder('bogus' as FramingName, 10), {
    name: 'RelayError',
    code: 'ERR_BAD_OPTION',
    message: /expected len32le\|len32be\|lf\|octet/,
  });
});

test('FrameDecoder accepts a plain Uint8Array view at an offset and returns Buffers', () => {
  const backing = new Uint8Array(20).fill(0xff);
  backing.set(text('2 hi1 x'), 5);
  const decoder = new FrameDecoder('octet', 100);
  const got = decoder.push(backing.subarray(5, 12));
  assert.ok(got.every((m) => Buffer.isBuffer(m)));
  assert.deepEqual(got, [text('hi'), text('x')]);
});
