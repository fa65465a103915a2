/**
 * Seeded random POSIX extended regular expressions and subjects over a small alphabet, for
 * comparing src/route/posix-ere.ts with glibc: alternation (with empty branches), nested groups,
 * `* + ?` and bounds (also stacked), bracket expressions, anchors, `.`, GNU escapes, and now and
 * then a fault regcomp must refuse.
 */
import { randomInt } from './prng.js';

const pick = <T>(random: () => number, items: readonly T[]): T => items[randomInt(random, 0, items.length - 1)]!;

const LITERALS = ['a', 'a', 'a', 'b', 'b', 'c', '\\.', '_', '\\*', '}', '1'];
const BRACKETS = ['[ab]', '[^a]', '[a-b]', '[[:alpha:]]', '[]a]', '[^]a]', '[a-]', '[[:digit:]b]', '[.]', '[[.a.]c]', '[[=b=]]', '[^[:space:]]', '[a\\]'];
const ANCHORS = ['^', '$', '\\b', '\\B', '\\<', '\\>', '\\`', "\\'"];
const ESCAPES = ['\\w', '\\W', '\\s', '\\S'];
const QUANTIFIERS = ['*', '+', '?', '{0,1}', '{1,2}', '{2}', '{,2}', '{1,}', '{0}', '{0,2}', '{2,3}'];
const PLAIN_QUANTIFIERS = ['*', '*', '+', '+', '?', '?', '{1,2}', '{2}', '{1,}', '{0,2}'];
/** Faults regcomp refuses (or, for the last few, reads in a way worth checking). */
const FAULTS: readonly ((re: string) => string)[] = [
  (re) => `*${re}`,
  (re) => `${re}(`,
  (re) => `${re}\\`,
  (re) => `${re}[a`,
  (re) => `${re}a{2,1}`,
  (re) => `[b-a]${re}`,
  (re) => `${re}[[:foo:]]`,
  (re) => `${re}a{`,
  (re) => `{1}${re}`,
  (re) => `${re}[[.ab.]]`,
  (re) => `${re}a{1,2`,
  (re) => `${re}|*`,
  (re) => `(${re}|+)`,
  (re) => `^*${re}`,
  (re) => `${re}a{1\\,2}`,
  (re) => `${re})`,
  (re) => `${re}a{x}`,
  (re) => `[[:alpha:]-z]${re}`,
  (re) => `${re}[a-[.c.]]`,
  (re) => `${re}\\1`,
];

/**
 * A random expression; about one in twenty has a fault. A `plain` one uses only what JavaScript's
 * RegExp reads the same way (literals, `.`, groups, `|`, `* + ?`, `{m}`, `{m,}`, `{m,n}`), so that
 * JavaScript's own answer can be compared with glibc's.
 */
export function randomEre(random: () => number, plain = false): string {
  const re = alternation(random, 0, plain);
  return !plain && random() < 0.05 ? pick(random, FAULTS)(re) : re;
}

function alternation(random: () => number, depth: number, plain: boolean): string {
  const branches = random() < (depth === 0 ? 0.25 : 0.4) ? randomInt(random, 2, 3) : 1;
  const out: string[] = [];
  for (let i = 0; i < branches; i++) out.push(random() < 0.08 ? '' : branch(random, depth, plain));
  return out.join('|');
}

function branch(random: () => number, depth: number, plain: boolean): string {
  let out = '';
  for (let n = randomInt(random, 1, 4); n > 0; n--) out += piece(random, depth, plain);
  return out;
}

function piece(random: () => number, depth: number, plain: boolean): string {
  const roll = random();
  let atom: string;
  if (plain) {
    if (roll < 0.55) atom = pick(random, ['a', 'a', 'b', 'b', 'c']);
    else if (roll < 0.65) atom = '.';
    else if (depth < 3) atom = `(${random() < 0.05 ? '' : alternation(random, depth + 1, plain)})`;
    else atom = 'a';
    if (random() < 0.45) atom += pick(random, PLAIN_QUANTIFIERS);
    return atom;
  }
  if (roll < 0.06) return pick(random, ANCHORS);
  if (roll < 0.45) atom = pick(random, LITERALS);
  else if (roll < 0.55) atom = '.';
  else if (roll < 0.65) atom = pick(random, BRACKETS);
  else if (roll < 0.7) atom = pick(random, ESCAPES);
  else if (depth < 3) atom = `(${random() < 0.05 ? '' : alternation(random, depth + 1, plain)})`;
  else atom = 'a';
  if (random() < 0.4) atom += pick(random, QUANTIFIERS);
  if (random() < 0.05) atom += pick(random, QUANTIFIERS);
  return atom;
}

const SUBJECT_BYTES = [...'aaaabbbc._ 1A*}'];
const PLAIN_BYTES = [...'aaaabbbc'];

/** A random subject of 0 to `maxLength` bytes over the alphabet the expressions use. */
export function randomSubject(random: () => number, maxLength = 9, plain = false): string {
  let out = '';
  for (let n = randomInt(random, 0, maxLength); n > 0; n--) out += pick(random, plain ? PLAIN_BYTES : SUBJECT_BYTES);
  return out;
}
