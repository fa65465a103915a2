/**
 * The parser of POSIX extended regular expressions, reading them exactly as glibc's
 * regcomp(REG_EXTENDED) does in the C locale (posix/regcomp.c: peek_token, parse_reg_exp,
 * parse_branch, parse_expression, parse_sub_exp, parse_dup_op): the same tokens, the same
 * refusals with the same REG_* codes, and the same tree (see ere-tree.ts for why the shape
 * matters). Alongside the tree it writes an equivalent JavaScript RegExp source, which matches
 * the same set of subjects (not the same submatches) and serves PosixRegex.test().
 *
 * GNU extensions glibc accepts in ERE are read as glibc reads them: `\w \W \s \S`, the anchors
 * `\b \B \< \> \` \'`, an unmatched `)` or a `}` as a literal, `{,n}` as `{0,n}`. Any other
 * backslash pair is the escaped byte itself. Back-references (`\1`…`\9`) are refused.
 */
import { classSet, parseBracket } from './ere-bracket.js';
import { type RegErrorName, regexError, unsupportedError } from './ere-errors.js';
import { ANCHOR_JS, jsByte, jsRepeat, jsSet } from './ere-js.js';
import {
  NOT_WORD_DELIM,
  peekToken,
  T_BACK_SLASH,
  T_CLOSE_DUP_NUM,
  T_DUP_PLUS,
  T_DUP_QUESTION,
  T_NOTSPACE,
  T_NOTWORD,
  T_OPEN_BRACKET,
  T_OPEN_DUP_NUM,
  T_SPACE,
  T_WORD,
  type Token,
  WORD_DELIM,
} from './ere-token.js';
import {
  ANCHOR,
  CHARACTER,
  CONCAT,
  createTree,
  duplicateTree,
  END_OF_RE,
  INSIDE_NOTWORD,
  INSIDE_WORD,
  OP_ALT,
  OP_BACK_REF,
  OP_CLOSE_SUBEXP,
  OP_DUP_ASTERISK,
  OP_OPEN_SUBEXP,
  OP_PERIOD,
  postorder,
  SIMPLE_BRACKET,
  SUBEXP,
  type Tree,
  WORD_FIRST,
  WORD_LAST,
} from './ere-tree.js';

/** What parsing yields: the tree (ending in END_OF_RE), the group count, and the JavaScript source. */
export interface Parsed {
  source: string;
  tree: Tree;
  nsub: number;
  /** Whether a word anchor (`\b \B \< \>`) is used: only then does a byte's word-ness matter to matching. */
  wordOps: boolean;
  js: string;
}

/** glibc's RE_DUP_MAX: the largest bound of `{m,n}`. */
const RE_DUP_MAX = 0x7fff;
/** The relay's own limit on the expanded tree (glibc has none short of memory): `(x{200}){200}` is refused. */
const MAX_TREE_NODES = 50_000;

interface Part {
  tree: Tree | null;
  js: string;
}

const NONE: Part = { tree: null, js: '' };

/** Parses `source` (a latin1 string: one char per byte) as glibc would; throws RelayError ERR_CONFIG where regcomp fails. */
export function parseEre(source: string): Parsed {
  return new Parser(source).parse();
}

class Parser {
  private pos = 0;
  private token: Token = { type: END_OF_RE, c: 0, len: 0, ctx: 0, wordChar: false };
  private nsub = 0;
  /** Groups a back-reference may name here (glibc's completed_bkref_map), for its REG_ESUBREG. */
  private completed = 0;
  private wordOps = false;
  private nodes = 0;

  constructor(private readonly src: string) {}

  parse(): Parsed {
    for (let i = 0; i < this.src.length; i++) {
      const c = this.src.charCodeAt(i);
      if (c === 0 || c > 0xff) throw unsupportedError(this.src, `byte ${i} is ${c === 0 ? 'NUL' : 'not latin1'}`);
    }
    this.fetch();
    const part = this.regExp(0);
    const eor = this.node(END_OF_RE, null, null);
    const tree = part.tree === null ? eor : this.node(CONCAT, part.tree, eor);
    return { source: this.src, tree, nsub: this.nsub, wordOps: this.wordOps, js: part.js };
  }

  private fail(name: RegErrorName): never {
    throw regexError(this.src, name);
  }

  private node(type: number, left: Tree | null, right: Tree | null, fields?: Partial<Tree>): Tree {
    if (++this.nodes > MAX_TREE_NODES) throw unsupportedError(this.src, `its repetitions expand to more than ${MAX_TREE_NODES} nodes`);
    return createTree(type, left, right, fields);
  }

  private copy(tree: Tree): Tree {
    postorder(tree, () => {
      if (++this.nodes > MAX_TREE_NODES) throw unsupportedError(this.src, `its repetitions expand to more than ${MAX_TREE_NODES} nodes`);
    });
    return duplicateTree(tree);
  }

  /** The current token, read afresh: number() and fetch() move it under the compiler's narrowing. */
  private now(): Token {
    return this.token;
  }

  private fetch(): void {
    this.token = peekToken(this.src, this.pos);
    this.pos += this.token.len;
  }

  private regExp(nest: number): Part {
    const initialCompleted = this.completed;
    let { tree, js } = this.branch(nest);
    while (this.token.type === OP_ALT) {
      this.fetch();
      let branch = NONE;
      if (this.token.type !== OP_ALT && this.token.type !== END_OF_RE && (nest === 0 || this.token.type !== OP_CLOSE_SUBEXP)) {
        // A back-reference may not name a group of another alternative.
        const accumulated = this.completed;
        this.completed = initialCompleted;
        branch = this.branch(nest);
        this.completed |= accumulated;
      }
      tree = this.node(OP_ALT, tree, branch.tree);
      js += `|${branch.js}`;
    }
    return { tree, js };
  }

  private branch(nest: number): Part {
    let { tree, js } = this.expression(nest);
    while (this.token.type !== OP_ALT && this.token.type !== END_OF_RE && (nest === 0 || this.token.type !== OP_CLOSE_SUBEXP)) {
      const next = this.expression(nest);
      if (tree !== null && next.tree !== null) tree = this.node(CONCAT, tree, next.tree);
      else if (tree === null) tree = next.tree;
      js += next.js;
    }
    return { tree, js };
  }

  private expression(nest: number): Part {
    const token = this.token;
    let part: Part;
    switch (token.type) {
      case CHARACTER:
      case OP_CLOSE_SUBEXP: // an unmatched ')' is a literal in glibc's ERE
      case T_CLOSE_DUP_NUM:
        part = { tree: this.node(CHARACTER, null, null, { c: token.c, wordChar: token.wordChar }), js: jsByte(token.c) };
        break;
      case OP_OPEN_SUBEXP:
        part = this.subExpression(nest + 1);
        break;
      case T_OPEN_BRACKET: {
        const { set, end } = parseBracket(this.src, this.pos, (name) => this.fail(name));
        this.pos = end;
        part = { tree: this.node(SIMPLE_BRACKET, null, null, { set }), js: jsSet(set) };
        break;
      }
      case OP_BACK_REF:
        if ((this.completed & (1 << token.ctx)) === 0) this.fail('REG_ESUBREG');
        throw unsupportedError(this.src, `back-references (\\${token.ctx + 1}) are not supported`);
      case T_OPEN_DUP_NUM:
      case OP_DUP_ASTERISK:
      case T_DUP_PLUS:
      case T_DUP_QUESTION:
        return this.fail('REG_BADRPT');
      case ANCHOR:
        return this.anchor(token.ctx);
      case OP_PERIOD:
        part = { tree: this.node(OP_PERIOD, null, null), js: '[^\\x00]' };
        break;
      case T_WORD:
      case T_NOTWORD:
      case T_SPACE:
      case T_NOTSPACE: {
        const word = token.type === T_WORD || token.type === T_NOTWORD;
        const set = classSet(word ? 'alnum' : 'space', word ? '_' : '')!;
        if (token.type === T_NOTWORD || token.type === T_NOTSPACE) for (let c = 0; c < 256; c++) set[c] = set[c] === 1 ? 0 : 1;
        part = { tree: this.node(SIMPLE_BRACKET, null, null, { set }), js: jsSet(set) };
        break;
      }
      case T_BACK_SLASH:
        return this.fail('REG_EESCAPE');
      default: // OP_ALT, END_OF_RE: an empty branch
        return NONE;
    }
    this.fetch();
    while (this.token.type === OP_DUP_ASTERISK || this.token.type === T_DUP_PLUS || this.token.type === T_DUP_QUESTION || this.token.type === T_OPEN_DUP_NUM) {
      part = this.duplication(part);
    }
    return part;
  }

  /** An anchor takes no repetition: a `*` after it is a repetition of nothing (REG_BADRPT next). */
  private anchor(ctx: number): Part {
    if (ctx === WORD_DELIM || ctx === NOT_WORD_DELIM || ctx === WORD_FIRST || ctx === WORD_LAST) this.wordOps = true;
    let tree: Tree;
    if (ctx === WORD_DELIM || ctx === NOT_WORD_DELIM) {
      const first = this.node(ANCHOR, null, null, { ctx: ctx === WORD_DELIM ? WORD_FIRST : INSIDE_WORD });
      const last = this.node(ANCHOR, null, null, { ctx: ctx === WORD_DELIM ? WORD_LAST : INSIDE_NOTWORD });
      tree = this.node(OP_ALT, first, last);
    } else {
      tree = this.node(ANCHOR, null, null, { ctx });
    }
    this.fetch();
    return { tree, js: ANCHOR_JS[ctx]! };
  }

  private subExpression(nest: number): Part {
    const index = this.nsub++;
    this.fetch();
    let inner = NONE;
    if (this.token.type !== OP_CLOSE_SUBEXP) {
      inner = this.regExp(nest);
      if (this.token.type !== OP_CLOSE_SUBEXP) this.fail('REG_EPAREN');
    }
    if (index <= 8) this.completed |= 1 << index;
    return { tree: this.node(SUBEXP, inner.tree, null, { subIdx: index }), js: `(?:${inner.js})` };
  }

  /** A number of `{m,n}`: -1 when empty, -2 when not a number (or at the end), capped at RE_DUP_MAX + 1. */
  private number(): number {
    let num = -1;
    for (;;) {
      this.fetch();
      const { type, c } = this.token;
      if (type === END_OF_RE) return -2;
      if (type === T_CLOSE_DUP_NUM || c === 0x2c) return num;
      num = type !== CHARACTER || c < 0x30 || c > 0x39 || num === -2 ? -2 : num === -1 ? c - 0x30 : Math.min(RE_DUP_MAX + 1, num * 10 + c - 0x30);
    }
  }

  /** glibc's parse_dup_op: `x{m,n}` becomes m copies of x followed by nested optional copies. */
  private duplication(part: Part): Part {
    let start: number;
    let end: number;
    if (this.now().type === T_OPEN_DUP_NUM) {
      start = this.number();
      end = 0;
      if (start === -1) {
        if (this.now().type === CHARACTER && this.now().c === 0x2c) start = 0;
        else this.fail('REG_BADBR');
      }
      if (start !== -2) {
        end = this.now().type === T_CLOSE_DUP_NUM ? start : this.now().type === CHARACTER && this.now().c === 0x2c ? this.number() : -2;
      }
      if (start === -2 || end === -2) this.fail(this.now().type === END_OF_RE ? 'REG_EBRACE' : 'REG_BADBR');
      if ((end !== -1 && start > end) || this.now().type !== T_CLOSE_DUP_NUM) this.fail('REG_BADBR');
      if (RE_DUP_MAX < (end === -1 ? start : end)) this.fail('REG_ESIZE');
    } else {
      start = this.token.type === T_DUP_PLUS ? 1 : 0;
      end = this.token.type === T_DUP_QUESTION ? 1 : -1;
    }
    this.fetch();
    const js = jsRepeat(part.js, start, end);
    let elem = part.tree;
    if (elem === null || (start === 0 && end === 0)) return { tree: null, js };
    let head: Tree | null = null;
    if (start > 0) {
      head = elem;
      for (let i = 2; i <= start; i++) {
        elem = this.copy(elem);
        head = this.node(CONCAT, head, elem);
      }
      if (start === end) return { tree: head, js };
      elem = this.copy(elem);
    }
    if (elem.type === SUBEXP) {
      const index = elem.subIdx;
      postorder(elem, (node) => {
        if (node.type === SUBEXP && node.subIdx === index) node.optSubexp = true;
      });
    }
    let tree = this.node(end === -1 ? OP_DUP_ASTERISK : OP_ALT, elem, null);
    for (let i = start + 2; i <= end; i++) {
      elem = this.copy(elem);
      tree = this.node(OP_ALT, this.node(CONCAT, tree, elem), null);
    }
    return { tree: head === null ? tree : this.node(CONCAT, head, tree), js };
  }
}
