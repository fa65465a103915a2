/**
 * Bracket expressions (`[a-z]`, `[^]a]`, `[[:digit:]_]`, `[[.-.]]`, `[[=a=]]`) as glibc's regcomp
 * reads them in the C locale: a backslash is an ordinary byte inside brackets, a `]` first in the
 * list is a member, ranges run by byte value, collating symbols and equivalence classes name one
 * byte. The result is the set of the 256 bytes. Errors carry glibc's code names (REG_EBRACK…).
 */
import type { RegErrorName } from './ere-errors.js';

/** The byte sets of the twelve classes, as the C locale's <ctype.h> defines them. */
const CLASSES: Readonly<Record<string, (c: number) => boolean>> = {
  alnum: (c) => isDigit(c) || isAlpha(c),
  alpha: (c) => isAlpha(c),
  blank: (c) => c === 0x20 || c === 0x09,
  cntrl: (c) => c < 0x20 || c === 0x7f,
  digit: (c) => isDigit(c),
  graph: (c) => c > 0x20 && c < 0x7f,
  lower: (c) => c >= 0x61 && c <= 0x7a,
  print: (c) => c >= 0x20 && c < 0x7f,
  punct: (c) => c > 0x20 && c < 0x7f && !isDigit(c) && !isAlpha(c),
  space: (c) => c === 0x20 || (c >= 0x09 && c <= 0x0d),
  upper: (c) => c >= 0x41 && c <= 0x5a,
  xdigit: (c) => isDigit(c) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66),
};

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isAlpha(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

/** The bytes of class `name` (`alnum`, `digit`…) plus `extra`, or undefined for an unknown class. */
export function classSet(name: string, extra = ''): Uint8Array | undefined {
  const test = Object.hasOwn(CLASSES, name) ? CLASSES[name] : undefined;
  if (test === undefined) return undefined;
  const set = new Uint8Array(256);
  for (let c = 0; c < 256; c++) if (test(c)) set[c] = 1;
  for (let i = 0; i < extra.length; i++) set[extra.charCodeAt(i)] = 1;
  return set;
}

// Token kinds inside brackets.
const B_END = 0;
const B_CHAR = 1;
const B_CLOSE = 2;
const B_NOT = 3;
const B_RANGE = 4;
const B_COLL = 5;
const B_EQUIV = 6;
const B_CLASS = 7;

interface BracketToken {
  kind: number;
  c: number;
  len: number;
}

type Element = { kind: 'char'; c: number } | { kind: 'coll' | 'equiv' | 'class'; name: string };

/** Reads one bracket expression of `src` from `start` (just after the `[`); returns its set and where it ends. */
export function parseBracket(src: string, start: number, fail: (name: RegErrorName) => never): { set: Uint8Array; end: number } {
  let pos = start;
  const peek = (): BracketToken => {
    if (pos >= src.length) return { kind: B_END, c: 0, len: 0 };
    const c = src.charCodeAt(pos);
    if (c === 0x5b) {
      const c2 = pos + 1 < src.length ? src.charCodeAt(pos + 1) : 0;
      if (c2 === 0x2e) return { kind: B_COLL, c: c2, len: 2 };
      if (c2 === 0x3d) return { kind: B_EQUIV, c: c2, len: 2 };
      if (c2 === 0x3a) return { kind: B_CLASS, c: c2, len: 2 };
      return { kind: B_CHAR, c, len: 1 };
    }
    // glibc 2.36 has no special case for V7's `---` (a later gnulib has): a '-' is always a range here.
    const kind = c === 0x5d ? B_CLOSE : c === 0x5e ? B_NOT : c === 0x2d ? B_RANGE : B_CHAR;
    return { kind, c, len: 1 };
  };
  // A name between `[:` and `:]` (or `.`, `=`): at most 31 bytes, and the closing pair must be there.
  const symbol = (token: BracketToken): Element => {
    if (pos >= src.length) fail('REG_EBRACK');
    let name = '';
    for (let i = 0; ; i++) {
      if (i >= 32) fail('REG_EBRACK');
      const ch = src.charCodeAt(pos++);
      if (pos >= src.length) fail('REG_EBRACK');
      if (ch === token.c && src.charCodeAt(pos) === 0x5d) break;
      name += String.fromCharCode(ch);
    }
    pos++;
    return { kind: token.kind === B_COLL ? 'coll' : token.kind === B_EQUIV ? 'equiv' : 'class', name };
  };
  const element = (token: BracketToken, acceptHyphen: boolean): Element => {
    pos += token.len;
    if (token.kind === B_COLL || token.kind === B_EQUIV || token.kind === B_CLASS) return symbol(token);
    // A '-' that is not first may only stand before the closing ']'.
    if (token.kind === B_RANGE && !acceptHyphen && peek().kind !== B_CLOSE) fail('REG_ERANGE');
    return { kind: 'char', c: token.c };
  };

  const set = new Uint8Array(256);
  let token = peek();
  if (token.kind === B_END) fail('REG_BADPAT');
  const negate = token.kind === B_NOT;
  if (negate) {
    pos += token.len;
    token = peek();
    if (token.kind === B_END) fail('REG_BADPAT');
  }
  if (token.kind === B_CLOSE) token = { ...token, kind: B_CHAR };
  for (let first = true; ; first = false) {
    const from = element(token, first);
    token = peek();
    let to: Element | undefined;
    if (from.kind !== 'class' && from.kind !== 'equiv') {
      if (token.kind === B_END) fail('REG_EBRACK');
      if (token.kind === B_RANGE) {
        pos += token.len;
        const token2 = peek();
        if (token2.kind === B_END) fail('REG_EBRACK');
        if (token2.kind === B_CLOSE) {
          // A '-' just before the ']' is a member: step back onto it.
          pos -= token.len;
          token = { ...token, kind: B_CHAR };
        } else {
          to = element(token2, true);
          token = peek();
        }
      }
    }
    if (to !== undefined) addRange(set, from, to, fail);
    else addElement(set, from, fail);
    if (token.kind === B_END) fail('REG_EBRACK');
    if (token.kind === B_CLOSE) break;
  }
  pos += token.len;
  if (negate) for (let c = 0; c < 256; c++) set[c] = set[c] === 1 ? 0 : 1;
  return { set, end: pos };
}

function addElement(set: Uint8Array, element: Element, fail: (name: RegErrorName) => never): void {
  if (element.kind === 'char') {
    set[element.c] = 1;
  } else if (element.kind === 'class') {
    const members = classSet(element.name);
    if (members === undefined) fail('REG_ECTYPE');
    for (let c = 0; c < 256; c++) if (members[c] === 1) set[c] = 1;
  } else {
    // The C locale has no multi-byte collating elements: a symbol or class names a single byte.
    if (element.name.length !== 1) fail('REG_ECOLLATE');
    set[element.name.charCodeAt(0)] = 1;
  }
}

function addRange(set: Uint8Array, from: Element, to: Element, fail: (name: RegErrorName) => never): void {
  if (from.kind === 'class' || from.kind === 'equiv' || to.kind === 'class' || to.kind === 'equiv') fail('REG_ERANGE');
  const low = rangeEnd(from);
  const high = rangeEnd(to);
  if (low === undefined || high === undefined) fail('REG_ECOLLATE');
  if (low > high) fail('REG_ERANGE');
  for (let c = low; c <= high; c++) set[c] = 1;
}

function rangeEnd(element: Element): number | undefined {
  if (element.kind === 'char') return element.c;
  return element.name.length === 1 ? element.name.charCodeAt(0) : undefined;
}
