/**
 * The JavaScript RegExp source of an expression, written by the parser piece by piece: it matches
 * the same subjects as glibc (a subject has a match or not whatever the submatch rules), with no
 * flags: `^` and `$` only at the ends (glibc without REG_NEWLINE), `.` any byte but NUL (glibc's
 * RE_DOT_NOT_NULL), `\w` the C locale's word bytes, each group non-capturing, each repetition
 * applied to a group so that `a+?` stays glibc's `(a+)?`, not a lazy `a+`.
 */
import { isWordByte, BUF_FIRST, BUF_LAST, LINE_FIRST, LINE_LAST, WORD_FIRST, WORD_LAST } from './ere-tree.js';
import { NOT_WORD_DELIM, WORD_DELIM } from './ere-token.js';

/** The source of each anchor, by its constraint (or `\b`/`\B`). */
export const ANCHOR_JS: Readonly<Record<number, string>> = {
  [LINE_FIRST]: '^',
  [BUF_FIRST]: '^',
  [LINE_LAST]: '$',
  [BUF_LAST]: '$',
  [WORD_FIRST]: '(?<!\\w)(?=\\w)',
  [WORD_LAST]: '(?<=\\w)(?!\\w)',
  [WORD_DELIM]: '\\b',
  [NOT_WORD_DELIM]: '\\B',
};

/** One byte, as itself when it is a word byte, else escaped. */
export function jsByte(c: number): string {
  return isWordByte(c) ? String.fromCharCode(c) : `\\x${c.toString(16).padStart(2, '0')}`;
}

/** A bracket expression's set of bytes. */
export function jsSet(set: Uint8Array): string {
  let out = '';
  let count = 0;
  for (let c = 0; c < 256; c++) {
    if (set[c] === 0) continue;
    let last = c;
    while (last < 255 && set[last + 1] === 1) last++;
    out += last === c ? jsByte(c) : `${jsByte(c)}-${jsByte(last)}`;
    count += last - c + 1;
    c = last;
  }
  return count === 256 ? '[^]' : `[${out}]`;
}

/** `js` repeated from `start` to `end` times (-1: no upper bound). */
export function jsRepeat(js: string, start: number, end: number): string {
  const quantifier =
    end === -1 ? (start === 0 ? '*' : start === 1 ? '+' : `{${start},}`) : end === 1 && start === 0 ? '?' : start === end ? `{${start}}` : `{${start},${end}}`;
  return `(?:${js})${quantifier}`;
}

/**
 * The text every subject with a match starts with, from the translation `js`: the literal bytes
 * after a leading `^` (empty when there is none, or when an alternation at the top level means
 * the `^` does not hold for every branch). A byte followed by a quantifier never counts: the
 * translation wraps every repeated piece in a group (jsRepeat), and the prefix stops at a group.
 */
export function literalPrefix(js: string): string {
  if (!js.startsWith('^')) return '';
  let depth = 0;
  for (let i = 0; i < js.length; i++) {
    const c = js[i];
    if (c === '\\') i++;
    else if (c === '[') {
      // A set: up to its first unescaped `]` (jsSet escapes every byte that is not a word byte).
      for (i++; i < js.length && js[i] !== ']'; i++) if (js[i] === '\\') i++;
    } else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === '|' && depth === 0) return '';
  }
  let prefix = '';
  for (let i = 1; i < js.length; ) {
    if (/\w/.test(js[i]!)) prefix += js[i++];
    else if (js[i] === '\\' && js[i + 1] === 'x') {
      prefix += String.fromCharCode(Number.parseInt(js.slice(i + 2, i + 4), 16));
      i += 4;
    } else break;
  }
  return prefix;
}
