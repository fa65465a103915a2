/**
 * The words of --group and --route (src/config/option-words.ts) and the tables they stand for.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { RelayError } from '../../src/errors.js';
import { parseGroupOption } from '../../src/config/group-config.js';
import { optionWords } from '../../src/config/option-words.js';
import { parseRouteOption } from '../../src/config/route-config.js';

const refused = (f: () => unknown, message: RegExp): void =>
  assert.throws(f, (e: unknown) => e instanceof RelayError && e.code === 'ERR_BAD_OPTION' && message.test(e.message) && !e.message.includes('\n'));

test('option words: KEY=VALUE, quoted values with spaces and \\" inside, bare flags, any spaces between', () => {
  assert.deepEqual(optionWords('--x', '  a=1   b="x y\\"z\\." c  d=', 'a=1'), [
    ['a', '1'],
    ['b', 'x y"z\\.'],
    ['c', true],
    ['d', ''],
  ]);
  assert.deepEqual(optionWords('--x', 'match="" to=a', 'a=1'), [
    ['match', ''],
    ['to', 'a'],
  ]);
  refused(() => optionWords('--x', 'a="open', 'a=1'), /^--x "a=\\"open": the quote after a= is not closed$/);
  refused(() => optionWords('--x', 'a="b"c', 'a=1'), /expected a space after the closing quote of a=/);
  refused(() => optionWords('--x', '=1', 'a=1'), /expected KEY=VALUE words, e\.g\. --x "a=1"/);
});

test('--route: match repeats, to splits at commas, stop and drop alone are true; a key twice is refused', () => {
  assert.deepEqual(parseRouteOption('match=^a match="b c" to=x,y stop'), { match: ['^a', 'b c'], to: ['x', 'y'], stop: true });
  assert.deepEqual(parseRouteOption('match=^d drop=true'), { match: ['^d'], drop: true });
  assert.deepEqual(parseRouteOption('rewrite="^a b" into=c'), { rewrite: '^a b', into: 'c' });
  refused(() => parseRouteOption('to=a to=b'), /to is given twice/);
});

test('--group: the same words; dynamic alone is true', () => {
  assert.deepEqual(parseGroupOption('name=g mode=carbon_ch dynamic replication=2 members=tcp@a:1,tcp@b:2'), {
    name: 'g',
    mode: 'carbon_ch',
    dynamic: true,
    replication: 2,
    members: ['tcp@a:1', 'tcp@b:2'],
  });
  refused(() => parseGroupOption('name=a name=b'), /name is given twice/);
});
