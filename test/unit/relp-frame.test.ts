/**
 * RELP frames (src/relp/frame.ts): golden bytes, round trips split at every byte and at seeded
 * random boundaries, every malformed-frame error with its text, rsp data and offers.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { RelayError } from '../../src/errors.js';
import {
  encodeFrame,
  encodeSyslogFrames,
  FrameParser,
  formatOffers,
  MAX_TXNR,
  nextTxnr,
  parseOffers,
  parseResponse,
  type RelpFrame,
} from '../../src/relp/frame.js';
import { mulberry32, randomInt } from '../helpers/prng.js';

const latin1 = (s: string): Buffer => Buffer.from(s, 'latin1');

/** Every frame in `bytes`, pushed in chunks cut at `cuts` (ascending offsets). */
function parseAll(bytes: Buffer, cuts: number[] = [], maxDataBytes = 1 << 20): RelpFrame[] {
  const parser = new FrameParser(maxDataBytes);
  const frames: RelpFrame[] = [];
  let start = 0;
  for (const end of [...cuts, bytes.length]) {
    parser.push(bytes.subarray(start, end));
    start = end;
    for (let f = parser.next(); f !== undefined; f = parser.next()) frames.push(f);
  }
  return frames;
}

const simplify = (frames: RelpFrame[]) => frames.map((f) => ({ txnr: f.txnr, command: f.command, data: f.data.toString('latin1') }));

test('relp frame: golden bytes of encodeFrame', () => {
  assert.deepEqual(encodeFrame(1, 'open', latin1('relp_version=0\ncommands=syslog')), latin1('1 open 30 relp_version=0\ncommands=syslog\n'));
  assert.deepEqual(encodeFrame(2, 'syslog', latin1('hi')), latin1('2 syslog 2 hi\n'));
  assert.deepEqual(encodeFrame(3, 'close'), latin1('3 close 0\n'));
  assert.deepEqual(encodeFrame(3, 'close', new Uint8Array(0)), latin1('3 close 0\n'));
  assert.deepEqual(encodeFrame(0, 'serverclose'), latin1('0 serverclose 0\n'));
  assert.deepEqual(encodeFrame(999_999_999, 'rsp', latin1('200 OK')), latin1('999999999 rsp 6 200 OK\n'));
  assert.deepEqual(
    encodeFrame(7, 'syslog', new Uint8Array([0, 0x0a, 0xff])),
    Buffer.concat([latin1('7 syslog 3 '), Buffer.from([0, 0x0a, 0xff]), latin1('\n')]),
  );
});

test('relp frame: encodeFrame refuses what cannot be a frame', () => {
  for (const [txnr, command, reason] of [
    [-1, 'syslog', /cannot encode TXNR -1/],
    [1_000_000_000, 'syslog', /cannot encode TXNR 1000000000/],
    [1.5, 'syslog', /cannot encode TXNR 1\.5/],
    [1, '', /cannot encode command ""/],
    [1, 'sys log', /cannot encode command "sys log"/],
    [1, 'x'.repeat(33), /expected 1 to 32 ASCII letters/],
  ] as const) {
    assert.throws(
      () => encodeFrame(txnr, command),
      (e: unknown) => e instanceof RelayError && e.code === 'ERR_RELP' && reason.test(e.message),
    );
  }
});

const SAMPLE: [number, string, Buffer][] = [
  [1, 'open', latin1('relp_version=0\nrelp_software=relay\ncommands=syslog')],
  [2, 'syslog', latin1('<13>Nov 29 12:00:00 host tag: hello')],
  [3, 'syslog', Buffer.alloc(0)],
  [4, 'syslog', latin1('a\nb\n')],
  [5, 'syslog', Buffer.from([0, 9, 0x0a, 0x20, 0x80, 0xff])],
  [6, 'syslog', latin1('1 rsp 6 200 OK\n')],
  [7, 'close', Buffer.alloc(0)],
  [999_999_999, 'syslog', latin1('x')],
  [0, 'serverclose', Buffer.alloc(0)],
];
const SAMPLE_BYTES = Buffer.concat(SAMPLE.map(([t, c, d]) => encodeFrame(t, c, d)));
const SAMPLE_FRAMES = SAMPLE.map(([txnr, command, data]) => ({ txnr, command, data: data.toString('latin1') }));

test('relp frame: all frames in one chunk, and split into two at every byte', () => {
  assert.deepEqual(simplify(parseAll(SAMPLE_BYTES)), SAMPLE_FRAMES);
  for (let cut = 0; cut <= SAMPLE_BYTES.length; cut++) assert.deepEqual(simplify(parseAll(SAMPLE_BYTES, [cut])), SAMPLE_FRAMES, `cut at ${cut}`);
});

test('relp frame: one byte per chunk', () => {
  const cuts = Array.from({ length: SAMPLE_BYTES.length - 1 }, (_, i) => i + 1);
  assert.deepEqual(simplify(parseAll(SAMPLE_BYTES, cuts)), SAMPLE_FRAMES);
});

test('relp frame: seeded round trips of random frames at random chunk boundaries', () => {
  const random = mulberry32(18);
  for (let round = 0; round < 200; round++) {
    const frames: { txnr: number; command: string; data: Buffer }[] = [];
    for (let i = randomInt(random, 1, 20); i > 0; i--) {
      const data = Buffer.alloc(randomInt(random, 0, random() < 0.1 ? 5000 : 40));
      for (let b = 0; b < data.length; b++) data[b] = randomInt(random, 0, 255);
      frames.push({ txnr: randomInt(random, 0, 999_999_999), command: ['syslog', 'rsp', 'open', 'close', 'x'.repeat(32)][randomInt(random, 0, 4)]!, data });
    }
    const bytes = Buffer.concat(frames.map((f) => encodeFrame(f.txnr, f.command, f.data)));
    const cuts = new Set<number>();
    for (let c = randomInt(random, 0, 12); c > 0; c--) cuts.add(randomInt(random, 0, bytes.length));
    const parsed = parseAll(
      bytes,
      [...cuts].sort((a, b) => a - b),
      5000,
    );
    assert.deepEqual(parsed, frames, `round ${round}`);
  }
});

test('relp frame: data of a frame inside one chunk is a view of it (no copy)', () => {
  const bytes = encodeFrame(2, 'syslog', latin1('payload'));
  const [frame] = parseAll(bytes);
  assert.equal(frame!.data.buffer, bytes.buffer);
});

/** `bytes` as Node's sockets can deliver them: each chunk a view of its own 64 KiB receive buffer. */
function inReceiveBuffer(bytes: Buffer): Buffer {
  const receive = Buffer.allocUnsafeSlow(64 * 1024);
  bytes.copy(receive);
  return receive.subarray(0, bytes.length);
}

test('relp frame: a frame trickled one byte per chunk holds DATALEN bytes, not the chunks', () => {
  const data = Buffer.alloc(100_000);
  for (let i = 0; i < data.length; i++) data[i] = (i * 131) & 0xff;
  const bytes = encodeFrame(7, 'syslog', data);
  const headerLength = bytes.length - data.length - 1;
  const parser = new FrameParser(1 << 20);
  assert.equal(parser.inFrame, false);
  const held = new Set<number>();
  for (let i = 0; i < bytes.length - 1; i++) {
    parser.push(inReceiveBuffer(bytes.subarray(i, i + 1)));
    assert.equal(parser.next(), undefined);
    assert.equal(parser.inFrame, true);
    // Header bytes live in a few numbers; the data in one buffer of DATALEN from its first byte on.
    assert.equal(parser.bufferedBytes, i < headerLength ? 0 : data.length, `after byte ${i}`);
    held.add(parser.bufferedBytes);
  }
  assert.deepEqual([...held], [0, data.length]);
  parser.push(inReceiveBuffer(bytes.subarray(bytes.length - 1)));
  const frame = parser.next()!;
  assert.deepEqual({ txnr: frame.txnr, command: frame.command }, { txnr: 7, command: 'syslog' });
  assert.ok(frame.data.equals(data), 'the data, byte for byte');
  assert.equal(frame.data.buffer.byteLength, data.length, 'the data has its own buffer of DATALEN, not a pool slab');
  assert.equal(parser.next(), undefined);
  assert.deepEqual({ inFrame: parser.inFrame, bufferedBytes: parser.bufferedBytes }, { inFrame: false, bufferedBytes: 0 });
});

test('relp frame: data cut from its trailer is copied (the chunk is not held); chunks not yet parsed count as held', () => {
  const bytes = encodeFrame(2, 'syslog', latin1('payload'));
  const parser = new FrameParser(100);
  const first = inReceiveBuffer(bytes.subarray(0, bytes.length - 1));
  parser.push(first);
  assert.equal(parser.bufferedBytes, first.buffer.byteLength, 'pushed, not parsed');
  assert.equal(parser.next(), undefined);
  assert.equal(parser.bufferedBytes, 'payload'.length);
  parser.push(inReceiveBuffer(bytes.subarray(bytes.length - 1)));
  const frame = parser.next()!;
  assert.equal(frame.data.toString('latin1'), 'payload');
  assert.notEqual(frame.data.buffer, first.buffer);
  // Two chunks that share one receive buffer are one buffer held.
  const shared = inReceiveBuffer(Buffer.concat([bytes, bytes]));
  parser.push(shared.subarray(0, 3));
  parser.push(shared.subarray(3));
  assert.equal(parser.bufferedBytes, 64 * 1024);
});

const MALFORMED: [string, string, string][] = [
  ['a letter in TXNR', 'x syslog 1 a\n', "RELP: frame header: expected TXNR digits, got 'x'"],
  ['an empty TXNR', ' syslog 1 a\n', 'RELP: frame header: expected TXNR digits, got SP'],
  ['a TXNR over 999999999', '1000000000 syslog 1 a\n', 'RELP: TXNR longer than 9 digits (more than 999999999)'],
  ['a TXNR ended by LF', '12\n', 'RELP: frame header: expected TXNR digits or SP, got LF'],
  ['an empty command', '1  1 a\n', 'RELP: frame 1: expected command letters, got SP'],
  ['a digit in the command', '1 sys1og 1 a\n', "RELP: frame 1: expected command letters or SP, got '1'"],
  ['a command of 33 letters', `1 ${'x'.repeat(33)} 0\n`, 'RELP: frame 1: command longer than 32 letters'],
  ['a letter in DATALEN', '1 syslog 1x a\n', "RELP: frame 1 syslog: expected SP after DATALEN, got 'x'"],
  ['no DATALEN', '1 syslog  a\n', 'RELP: frame 1 syslog: expected DATALEN digits, got SP'],
  ['a DATALEN of 10 digits', '1 syslog 0000000001 a\n', 'RELP: frame 1 syslog: DATALEN longer than 9 digits'],
  ['data longer than the limit', '1 syslog 101 ', 'RELP: frame 1 syslog: DATALEN 101 is over the limit of 100 bytes'],
  ['a missing trailer', '1 syslog 2 abX', "RELP: frame 1 syslog: missing trailer, expected LF after 2 data bytes, got 'X'"],
  ['data longer than DATALEN', '1 syslog 2 abc\n', "RELP: frame 1 syslog: missing trailer, expected LF after 2 data bytes, got 'c'"],
  ['SP after DATALEN 0', '1 close 0 \n', 'RELP: frame 1 close: missing trailer, expected LF after DATALEN 0, got SP'],
  ['a NUL in the header', '1 syslog\0', 'RELP: frame 1: expected command letters or SP, got 0x00'],
];

for (const [what, text, message] of MALFORMED) {
  test(`relp frame: malformed, ${what}`, () => {
    const bytes = latin1(`2 syslog 2 ok\n${text}`);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const parser = new FrameParser(100);
      parser.push(bytes.subarray(0, cut));
      parser.push(bytes.subarray(cut));
      assert.deepEqual(simplify([parser.next()!]), [{ txnr: 2, command: 'syslog', data: 'ok' }]);
      const check = (e: unknown) => e instanceof RelayError && e.code === 'ERR_RELP' && e.exitCode === 1 && e.message === message;
      assert.throws(() => parser.next(), check, `cut at ${cut}`);
      parser.push(latin1('3 syslog 1 a\n'));
      assert.throws(() => parser.next(), check, 'a failed parser keeps failing');
    }
  });
}

test('relp frame: a limit of N accepts DATALEN N', () => {
  assert.equal(parseAll(encodeFrame(1, 'syslog', Buffer.alloc(100, 0x61)), [], 100)[0]!.data.length, 100);
});

test('relp frame: parseResponse', () => {
  assert.deepEqual(parseResponse(latin1('200 OK')), { code: 200, text: 'OK' });
  assert.deepEqual(parseResponse(latin1('500 command disabled')), { code: 500, text: 'command disabled' });
  assert.deepEqual(parseResponse(latin1('500')), { code: 500, text: '' });
  // What rsyslog 8.2302's imrelp (librelp 1.11.0) answers to open, byte for byte.
  const open = parseResponse(latin1('200 OK\nrelp_version=0\nrelp_software=librelp,1.11.0,http://librelp.adiscon.com\ncommands=syslog'));
  assert.equal(open.code, 200);
  assert.equal(open.text, 'OK');
  assert.deepEqual(
    [...open.offers!],
    [
      ['relp_version', '0'],
      ['relp_software', 'librelp,1.11.0,http://librelp.adiscon.com'],
      ['commands', 'syslog'],
    ],
  );
  for (const bad of ['', 'OK', '20 OK', '2000 OK', '200OK', ' 200 OK']) {
    assert.throws(
      () => parseResponse(latin1(bad)),
      (e: unknown) => e instanceof RelayError && e.code === 'ERR_RELP' && e.message.includes('expected a 3-digit code'),
      bad,
    );
  }
});

test('relp frame: offers round trip, bare names, = inside values, blank lines', () => {
  const offers = new Map([
    ['relp_version', '0'],
    ['relp_software', 'relay,0.1.0'],
    ['commands', 'syslog,x'],
    ['feature', ''],
    ['odd', 'a=b'],
  ]);
  const text = formatOffers(offers);
  assert.equal(text, 'relp_version=0\nrelp_software=relay,0.1.0\ncommands=syslog,x\nfeature\nodd=a=b');
  assert.deepEqual(parseOffers(text), offers);
  assert.deepEqual(
    parseOffers('\na=1\n\nb\n'),
    new Map([
      ['a', '1'],
      ['b', ''],
    ]),
  );
  assert.equal(formatOffers([]), '');
});

test('relp frame: encodeSyslogFrames is encodeFrame of each payload in turn, TXNRs wrapping from 999999999 to 1', () => {
  const payloads = [Buffer.from('a'), Buffer.alloc(0), Buffer.from('<13>x y\tz'), Buffer.from([0xff, 0x00, 0x0a])];
  const expected = Buffer.concat([
    encodeFrame(999_999_998, 'syslog', payloads[0]),
    encodeFrame(999_999_999, 'syslog', payloads[1]),
    encodeFrame(1, 'syslog', payloads[2]),
    encodeFrame(2, 'syslog', payloads[3]),
  ]);
  assert.deepEqual(encodeSyslogFrames(999_999_998, payloads), expected);
  assert.equal(nextTxnr(MAX_TXNR), 1);
});
