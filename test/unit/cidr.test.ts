import test from 'node:test';
import assert from 'node:assert/strict';
import { AllowList, parseCidr } from '../../src/config/cidr.js';
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
  const list = new AllowList(['10.0.0.0/8', '2001:db8::/32'].map(parseCidr));
  assert.equal(list.allows('10.1.2.3'), true);
  assert.equal(list.allows('::ffff:10.1.2.3'), true);
  assert.equal(list.allows('11.0.0.1'), false);
  assert.equal(list.allows('::ffff:11.0.0.1'), false);
  assert.equal(list.allows('2001:db8::5'), true);
  assert.equal(list.allows('::1'), false);
  assert.equal(list.allows(undefined), false);
  assert.equal(new AllowList([]).allows('203.0.113.9'), true);
});
