import test from 'node:test';
import assert from 'node:assert/strict';
import { AllowList, type Cidr, parseCidr } from '../../src/config/cidr.js';
import { formatAddress } from '../../src/ingest/native-address.js';
import { mulberry32, randomInt } from '../helpers/prng.js';
import { RelayError } from '../../src/errors.js';

for (const [input, text] of [
  ['10.0.0.0/8', '10.0.0.0/8'],
  ['192.0.2.7', '192.0.2.7/32'],
  ['0.0.0.0/0', '0.0.0.0/0'],
  ['2001:db8::/32', '2001:db8::/32'],
  ['::1', '::1/128'],
] as const) {
  test(`cidr: "${input}" parses as ${text}`, () => assert.equal(parseCidr(input).text, text));
}

for (const [input, fragment] of [
  ['10.0.0.0/33', 'prefix length must be 0-32'],
  ['::/129', 'prefix length must be 0-128'],
  ['10.0.0.0/', 'prefix length must be 0-32'],
  ['10.0.0.0/8/8', 'prefix length'],
  ['example.com/8', '"example.com" is not an IPv4 or IPv6 address'],
  ['', 'is not an IPv4 or IPv6 address'],
] as const) {
  test(`cidr: "${input}" is an error naming it`, () => {
    assert.throws(
      () => parseCidr(input),
      (e: unknown) => {
        assert.ok(e instanceof RelayError);
        assert.equal(e.code, 'ERR_BAD_OPTION');
        assert.ok(e.message.startsWith(`--allow ${JSON.stringify(input)}: `), e.message);
        assert.ok(e.message.includes(fragment), e.message);
        return true;
      },
    );
  });
}

test('cidr: an allow-list matches IPv4, IPv6 and IPv4-mapped senders; an empty one allows all', () => {
  const list = new AllowList(['10.0.0.0/8', '2001:db8::/32'].map((c) => parseCidr(c)));
  assert.equal(list.refusal('10.1.2.3'), undefined);
  assert.equal(list.refusal('::ffff:10.1.2.3'), undefined);
  assert.equal(list.refusal('11.0.0.1'), 'not_allowed');
  assert.equal(list.refusal('::ffff:11.0.0.1'), 'not_allowed');
  assert.equal(list.refusal('2001:db8::5'), undefined);
  assert.equal(list.refusal('::1'), 'not_allowed');
  assert.equal(list.refusal(undefined), 'not_allowed');
  assert.equal(new AllowList([]).refusal('203.0.113.9'), undefined);
});

/** An address as the native receiver reports it: family and raw bytes (IPv6 from its 8 groups). */
const v4 = (...octets: number[]): [4, Uint8Array] => [4, Uint8Array.from(octets)];
const v6 = (...words: number[]): [6, Uint8Array] => [6, Uint8Array.from(words.flatMap((w) => [w >> 8, w & 0xff]))];

test('cidr: refusalBytes gives the verdicts of refusal() on raw IPv4, IPv6, IPv4-mapped and IPv4-compatible senders', () => {
  const list = new AllowList(['10.0.0.0/8', '2001:db8::/32', '::ffff:192.0.2.0/120', 'fe80::1%eth0/64'].map((c) => parseCidr(c)));
  for (const [[family, bytes], allowed] of [
    [v4(10, 1, 2, 3), true],
    [v6(0, 0, 0, 0, 0, 0xffff, 0x0a01, 0x0203), true],
    [v4(11, 0, 0, 1), false],
    [v6(0, 0, 0, 0, 0, 0xffff, 0x0b00, 0x0001), false],
    [v6(0, 0, 0, 0, 0, 0, 0x0a01, 0x0203), false], // ::10.1.2.3 is not IPv4-mapped
    [v6(0x2001, 0xdb8, 0, 0, 0, 0, 0, 5), true],
    [v6(0x2001, 0xdb9, 0, 0, 0, 0, 0, 5), false],
    [v4(192, 0, 2, 77), true], // an IPv4 sender in an IPv4-mapped block
    [v6(0xfe80, 0, 0, 0, 0, 0, 0, 9), true],
    [v6(0, 0, 0, 0, 0, 0, 0, 1), false],
  ] as const) {
    const text = formatAddress(family, bytes, 0);
    assert.equal(list.refusal(text), allowed ? undefined : 'not_allowed', `refusal(${text})`);
    assert.equal(list.refusalBytes(family, bytes, 0), allowed ? undefined : 'not_allowed', `refusalBytes(${text})`);
  }
  assert.equal(new AllowList([]).refusalBytes(4, Uint8Array.of(203, 0, 113, 9), 0), undefined);
  // An IPv6 /0 allows IPv4 senders too, an IPv4 /0 no IPv6 sender but the IPv4-mapped ones.
  assert.equal(new AllowList([parseCidr('::/0')]).refusalBytes(...v4(203, 0, 113, 9), 0), undefined);
  assert.equal(new AllowList([parseCidr('0.0.0.0/0')]).refusalBytes(...v6(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1), 0), 'not_allowed');
  assert.equal(new AllowList([parseCidr('0.0.0.0/0')]).refusalBytes(...v6(0, 0, 0, 0, 0, 0xffff, 1, 1), 0), undefined);
});

/** A random block with its raw address bytes: IPv4, IPv6, IPv4-mapped IPv6, or ::/0. */
function randomBlock(random: () => number): { cidr: Cidr; bytes: Uint8Array } {
  const kind = randomInt(random, 0, 5);
  if (kind === 5) return { cidr: parseCidr('::/0'), bytes: new Uint8Array(16) };
  if (kind <= 1) {
    const bytes = Uint8Array.from({ length: 4 }, () => randomInt(random, 0, 255));
    return { cidr: parseCidr(`${bytes.join('.')}/${randomInt(random, 0, 32)}`), bytes };
  }
  const bytes = Uint8Array.from({ length: 16 }, () => randomInt(random, 0, 255));
  let prefix = randomInt(random, 0, 128);
  if (kind === 4) {
    bytes.set([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff]);
    prefix = randomInt(random, 80, 128);
  }
  // Compressed (as node writes it, ::ffff:a.b.c.d included) or all eight groups.
  const words = Array.from({ length: 8 }, (_, i) => ((bytes[2 * i]! << 8) | bytes[2 * i + 1]!).toString(16));
  const text = kind === 3 ? words.join(':') : formatAddress(6, bytes, 0);
  return { cidr: parseCidr(`${text}/${prefix}`), bytes };
}

/**
 * A random sender: anywhere (IPv4, IPv6, IPv4-mapped, IPv4-compatible), or inside `near`'s block
 * with one bit of its prefix sometimes flipped; an IPv4 one sometimes IPv4-mapped, as a dual-stack
 * socket reports it.
 */
function randomSender(random: () => number, near: { cidr: Cidr; bytes: Uint8Array } | undefined): [4 | 6, Uint8Array] {
  if (near === undefined) {
    const kind = randomInt(random, 0, 3);
    if (kind === 0) return [4, Uint8Array.from({ length: 4 }, () => randomInt(random, 0, 255))];
    const bytes = Uint8Array.from({ length: 16 }, () => randomInt(random, 0, 255));
    if (kind >= 2) bytes.fill(0, 0, 12);
    if (kind === 2) bytes.fill(0xff, 10, 12);
    return [6, bytes];
  }
  const bytes = Uint8Array.from(near.bytes);
  const { prefix } = near.cidr;
  for (let bit = prefix; bit < bytes.length * 8; bit++) if (random() < 0.5) bytes[bit >> 3]! ^= 0x80 >>> (bit & 7);
  if (prefix > 0 && random() < 0.3) {
    const bit = randomInt(random, 0, prefix - 1);
    bytes[bit >> 3]! ^= 0x80 >>> (bit & 7);
  }
  if (bytes.length === 16) return [6, bytes];
  return random() < 0.4 ? [6, Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...bytes)] : [4, bytes];
}

test('cidr: refusalBytes and refusal() agree on 400 seeded random allow-lists and senders', () => {
  const seed = 0x5eed16;
  const random = mulberry32(seed);
  const verdicts = { allowed: 0, refused: 0 };
  for (let n = 0; n < 400; n++) {
    const blocks = Array.from({ length: randomInt(random, 1, 3) }, () => randomBlock(random));
    const list = new AllowList(blocks.map((b) => b.cidr));
    const [family, address] = randomSender(random, random() < 0.8 ? blocks[randomInt(random, 0, blocks.length - 1)] : undefined);
    // As in the receiver's meta array: the address somewhere inside a larger buffer.
    const offset = randomInt(random, 0, 8);
    const buffer = new Uint8Array(offset + 16).fill(0xa5);
    buffer.set(address, offset);
    const text = formatAddress(family, buffer, offset);
    const allowed = list.refusal(text) === undefined;
    const context = `seed ${seed} case ${n}: ${text} against ${blocks.map((b) => b.cidr.text).join(', ')}`;
    assert.equal(list.refusalBytes(family, buffer, offset), list.refusal(text), context);
    verdicts[allowed ? 'allowed' : 'refused']++;
  }
  // Both verdicts come up often, or the agreement would say little.
  assert.ok(verdicts.allowed > 100 && verdicts.refused > 100, JSON.stringify(verdicts));
});

test('cidr: --deny wins over --allow; refusalBytes and refusal() agree on 400 seeded random allow- and deny-lists', () => {
  const list = new AllowList([parseCidr('10.0.0.0/8')], [parseCidr('10.9.0.0/16', '--deny')]);
  assert.equal(list.refusal('10.1.2.3'), undefined);
  assert.equal(list.refusal('10.9.2.3'), 'denied');
  assert.equal(list.refusal('::ffff:10.9.2.3'), 'denied');
  assert.equal(list.refusal('11.0.0.1'), 'not_allowed');
  assert.equal(new AllowList([], [parseCidr('::1', '--deny')]).refusal('127.0.0.1'), undefined);
  assert.equal(new AllowList([], [parseCidr('::1', '--deny')]).refusal('::1'), 'denied');
  assert.throws(() => parseCidr('10.0.0.0/33', '--deny'), /^RelayError: --deny "10\.0\.0\.0\/33": prefix length must be 0-32/);
  const seed = 0xdef1;
  const random = mulberry32(seed);
  const seen = new Set<string>();
  for (let n = 0; n < 400; n++) {
    const allow = Array.from({ length: randomInt(random, 0, 2) }, () => randomBlock(random));
    const deny = Array.from({ length: randomInt(random, 1, 2) }, () => randomBlock(random));
    const list = new AllowList(
      allow.map((b) => b.cidr),
      deny.map((b) => b.cidr),
    );
    const blocks = [...allow, ...deny];
    const [family, address] = randomSender(random, random() < 0.8 ? blocks[randomInt(random, 0, blocks.length - 1)] : undefined);
    const text = formatAddress(family, address, 0);
    const expected =
      deny.length > 0 && new AllowList(deny.map((b) => b.cidr)).refusal(text) === undefined
        ? 'denied'
        : allow.length > 0 && new AllowList(allow.map((b) => b.cidr)).refusal(text) !== undefined
          ? 'not_allowed'
          : undefined;
    const context = `seed ${seed} case ${n}: ${text}, allow ${allow.map((b) => b.cidr.text).join(', ')}, deny ${deny.map((b) => b.cidr.text).join(', ')}`;
    assert.equal(list.refusal(text), expected, context);
    assert.equal(list.refusalBytes(family, address, 0), expected, context);
    seen.add(String(expected));
  }
  assert.deepEqual([...seen].sort(), ['denied', 'not_allowed', 'undefined'], 'every verdict came up');
});
