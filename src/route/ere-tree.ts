/**
 * The syntax tree of a POSIX extended regular expression, shaped as glibc's regcomp shapes it
 * (posix/regcomp.c), because glibc's submatch rules follow from that shape: the NFA node numbers
 * come from a postorder walk of this tree, and regexec prefers the lower-numbered of two epsilon
 * successors. `x{2,3}` is expanded into copies, `x+` into `x x*`, `x?` into an alternation with
 * an empty branch, `\b` into an alternation of two anchors — all as glibc does.
 *
 * Node kinds keep glibc's values: a kind with bit 8 set moves without consuming a byte.
 */

export const CHARACTER = 1;
export const END_OF_RE = 2;
export const SIMPLE_BRACKET = 3;
export const OP_BACK_REF = 4;
export const OP_PERIOD = 5;
export const EPSILON_BIT = 8;
export const OP_OPEN_SUBEXP = 8;
export const OP_CLOSE_SUBEXP = 9;
export const OP_ALT = 10;
export const OP_DUP_ASTERISK = 11;
export const ANCHOR = 12;
export const CONCAT = 16;
export const SUBEXP = 17;

/** Context constraints (glibc's bits): what must hold of the byte before / after a position. */
export const PREV_WORD = 0x1;
export const PREV_NOTWORD = 0x2;
export const NEXT_WORD = 0x4;
export const NEXT_NOTWORD = 0x8;
export const PREV_NEWLINE = 0x10;
export const NEXT_NEWLINE = 0x20;
export const PREV_BEGBUF = 0x40;
export const NEXT_ENDBUF = 0x80;

/** The anchors, as constraints: `\<`, `\>`, `^`, `$`, `` \` ``, `\'`, and the halves of `\b` / `\B`. */
export const WORD_FIRST = PREV_NOTWORD | NEXT_WORD;
export const WORD_LAST = PREV_WORD | NEXT_NOTWORD;
export const INSIDE_WORD = PREV_WORD | NEXT_WORD;
export const INSIDE_NOTWORD = PREV_NOTWORD | NEXT_NOTWORD;
export const LINE_FIRST = PREV_NEWLINE;
export const LINE_LAST = NEXT_NEWLINE;
export const BUF_FIRST = PREV_BEGBUF;
export const BUF_LAST = NEXT_ENDBUF;

/** A tree node; leaves carry what they match (`c`, `set`), anchors `ctx`, groups `subIdx`. */
export interface Tree {
  type: number;
  left: Tree | null;
  right: Tree | null;
  parent: Tree | null;
  /** The byte of a CHARACTER. */
  c: number;
  /** The 256 bytes of a SIMPLE_BRACKET, 1 where the byte matches. */
  set: Uint8Array | null;
  /** An ANCHOR's constraint. */
  ctx: number;
  /** A SUBEXP's (or OPEN/CLOSE's) group number, from 0. */
  subIdx: number;
  /** Set on a group that is the operand of `?`, `*` or `{0,n}`: regexec treats its empty matches apart. */
  optSubexp: boolean;
  /** Set on every node of a copy made by duplicateTree (and kept on its NFA nodes: glibc tests it). */
  duplicated: boolean;
  /** Whether a CHARACTER is a word byte ([A-Za-z0-9_]). */
  wordChar: boolean;
  first: Tree | null;
  next: Tree | null;
  nodeIdx: number;
}

/** A new node over `left` and `right`, as glibc's create_token_tree: not a copy, not optional. */
export function createTree(type: number, left: Tree | null, right: Tree | null, fields: Partial<Tree> = {}): Tree {
  const tree: Tree = {
    type,
    left,
    right,
    parent: null,
    c: fields.c ?? 0,
    set: fields.set ?? null,
    ctx: fields.ctx ?? 0,
    subIdx: fields.subIdx ?? -1,
    optSubexp: false,
    duplicated: false,
    wordChar: fields.wordChar ?? false,
    first: null,
    next: null,
    nodeIdx: -1,
  };
  if (left !== null) left.parent = tree;
  if (right !== null) right.parent = tree;
  return tree;
}

/** A deep copy of `root` with every node marked duplicated and none optional (glibc's duplicate_tree). */
export function duplicateTree(root: Tree): Tree {
  const copy = createTree(root.type, null, null, root);
  copy.duplicated = true;
  if (root.left !== null) {
    copy.left = duplicateTree(root.left);
    copy.left.parent = copy;
  }
  if (root.right !== null) {
    copy.right = duplicateTree(root.right);
    copy.right.parent = copy;
  }
  return copy;
}

/** Calls `fn` on every node, children (left, then right) before their parent. */
export function postorder(root: Tree, fn: (node: Tree) => void): void {
  // Iterative: concatenation chains are as deep as the expression is long.
  const stack: { node: Tree; visited: boolean }[] = [{ node: root, visited: false }];
  while (stack.length > 0) {
    const top = stack.pop()!;
    if (top.visited) {
      fn(top.node);
      continue;
    }
    stack.push({ node: top.node, visited: true });
    if (top.node.right !== null) stack.push({ node: top.node.right, visited: false });
    if (top.node.left !== null) stack.push({ node: top.node.left, visited: false });
  }
}

/** Calls `fn` on every node, a parent before its children (left, then right); `fn` may replace children. */
export function preorder(root: Tree, fn: (node: Tree) => void): void {
  const stack: Tree[] = [root];
  while (stack.length > 0) {
    const node = stack.pop()!;
    fn(node);
    if (node.right !== null) stack.push(node.right);
    if (node.left !== null) stack.push(node.left);
  }
}

/** Whether byte `c` is a word byte for `\w`, `\b`, `\<`, `\>` in the C locale. */
export function isWordByte(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f;
}

/** Whether node kind `type` moves without consuming a byte. */
export function isEpsilon(type: number): boolean {
  return (type & EPSILON_BIT) !== 0;
}
