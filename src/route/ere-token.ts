/**
 * The tokens of a POSIX extended regular expression, as glibc's peek_token reads them with
 * RE_SYNTAX_POSIX_EXTENDED (posix/regcomp.c): `|*+?{}()[.^$` are operators, `^` and `$` are anchors
 * anywhere, a backslash makes the next byte literal except for the GNU escapes (`\w \W \s \S
 * \b \B \< \> \` \'`) and back-references `\1`…`\9`; a final lone backslash is its own token.
 */
import {
  ANCHOR,
  BUF_FIRST,
  BUF_LAST,
  CHARACTER,
  END_OF_RE,
  isWordByte,
  LINE_FIRST,
  LINE_LAST,
  OP_ALT,
  OP_BACK_REF,
  OP_CLOSE_SUBEXP,
  OP_DUP_ASTERISK,
  OP_OPEN_SUBEXP,
  OP_PERIOD,
  WORD_FIRST,
  WORD_LAST,
} from './ere-tree.js';

// Token kinds that never become tree nodes (the others are node kinds of ere-tree.ts).
export const T_DUP_PLUS = 18;
export const T_DUP_QUESTION = 19;
export const T_OPEN_BRACKET = 20;
export const T_OPEN_DUP_NUM = 23;
export const T_CLOSE_DUP_NUM = 24;
export const T_WORD = 32;
export const T_NOTWORD = 33;
export const T_SPACE = 34;
export const T_NOTSPACE = 35;
export const T_BACK_SLASH = 36;
// `\b` and `\B` before they become two anchors.
export const WORD_DELIM = 0x100;
export const NOT_WORD_DELIM = 0x200;
/** One token: its kind, its byte (the escaped byte after a backslash), its length in the source; `ctx` is an anchor's constraint or a back-reference's group. */
export interface Token {
  type: number;
  c: number;
  len: number;
  ctx: number;
  wordChar: boolean;
}

const ESCAPES: Readonly<Record<string, Partial<Token>>> = {
  '<': { type: ANCHOR, ctx: WORD_FIRST },
  '>': { type: ANCHOR, ctx: WORD_LAST },
  b: { type: ANCHOR, ctx: WORD_DELIM },
  B: { type: ANCHOR, ctx: NOT_WORD_DELIM },
  w: { type: T_WORD },
  W: { type: T_NOTWORD },
  s: { type: T_SPACE },
  S: { type: T_NOTSPACE },
  '`': { type: ANCHOR, ctx: BUF_FIRST },
  "'": { type: ANCHOR, ctx: BUF_LAST },
};

const OPERATORS: Readonly<Record<string, Partial<Token>>> = {
  '|': { type: OP_ALT },
  '*': { type: OP_DUP_ASTERISK },
  '+': { type: T_DUP_PLUS },
  '?': { type: T_DUP_QUESTION },
  '{': { type: T_OPEN_DUP_NUM },
  '}': { type: T_CLOSE_DUP_NUM },
  '(': { type: OP_OPEN_SUBEXP },
  ')': { type: OP_CLOSE_SUBEXP },
  '[': { type: T_OPEN_BRACKET },
  '.': { type: OP_PERIOD },
  '^': { type: ANCHOR, ctx: LINE_FIRST },
  $: { type: ANCHOR, ctx: LINE_LAST },
};

/** The token of `src` at `pos`. */
export function peekToken(src: string, pos: number): Token {
  if (pos >= src.length) return { type: END_OF_RE, c: 0, len: 0, ctx: 0, wordChar: false };
  const c = src.charCodeAt(pos);
  if (c === 0x5c) {
    if (pos + 1 >= src.length) return { type: T_BACK_SLASH, c, len: 1, ctx: 0, wordChar: false };
    const c2 = src.charCodeAt(pos + 1);
    const token: Token = { type: CHARACTER, c: c2, len: 2, ctx: 0, wordChar: isWordByte(c2) };
    if (c2 >= 0x31 && c2 <= 0x39) return { ...token, type: OP_BACK_REF, ctx: c2 - 0x31 };
    return { ...token, ...ESCAPES[String.fromCharCode(c2)] };
  }
  return { type: CHARACTER, c, len: 1, ctx: 0, wordChar: isWordByte(c), ...OPERATORS[String.fromCharCode(c)] };
}
