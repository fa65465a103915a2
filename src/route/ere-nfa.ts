/**
 * The NFA glibc's regcomp builds from the tree (posix/regcomp.c: analyze and the passes it runs):
 * nested groups that wrap each other are merged, groups become OPEN/CLOSE nodes, nodes are
 * numbered in postorder, linked, and every node gets its epsilon closure. An anchor's closure is
 * duplicated with the anchor's constraint attached, in glibc's order, so the duplicates get the
 * node numbers glibc gives them — regexec's choice between two epsilon successors is by number,
 * which makes the numbering part of the submatch semantics.
 */
import { addNode, computeClosures, type Nfa } from './ere-closure.js';
import type { Parsed } from './ere-parse.js';
import {
  ANCHOR,
  CONCAT,
  createTree,
  END_OF_RE,
  OP_ALT,
  OP_CLOSE_SUBEXP,
  OP_DUP_ASTERISK,
  OP_OPEN_SUBEXP,
  postorder,
  preorder,
  SUBEXP,
  type Tree,
} from './ere-tree.js';

export type { Nfa } from './ere-closure.js';

/** Builds the automaton of a parsed expression (the tree is consumed). */
export function buildNfa(parsed: Parsed): Nfa {
  const root = parsed.tree;
  const nfa: Nfa = {
    source: parsed.source,
    type: [],
    c: [],
    set: [],
    constraint: [],
    duplicated: [],
    optSubexp: [],
    subIdx: [],
    origin: [],
    nexts: [],
    edests: [],
    eclosures: [],
    initNode: -1,
    nsub: parsed.nsub,
    subexpMap: mergeNestedGroups(root, parsed.nsub),
    hasPluralMatch: false,
    wordOps: parsed.wordOps,
    constraintLost: false,
  };
  postorder(root, (node) => {
    if (node.left?.type === SUBEXP) node.left = lowerGroup(node.left, node);
    if (node.right?.type === SUBEXP) node.right = lowerGroup(node.right, node);
  });
  postorder(root, (node) => {
    if (node.type === CONCAT) {
      node.first = node.left!.first;
      node.nodeIdx = node.left!.nodeIdx;
    } else {
      node.first = node;
      node.nodeIdx = addNode(nfa, node, node.type === ANCHOR ? node.ctx : 0);
    }
  });
  preorder(root, (node) => {
    if (node.type === OP_DUP_ASTERISK) {
      node.left!.next = node;
    } else if (node.type === CONCAT) {
      node.left!.next = node.right!.first;
      node.right!.next = node.next;
    } else {
      if (node.left !== null) node.left.next = node.next;
      if (node.right !== null) node.right.next = node.next;
    }
  });
  preorder(root, (node) => link(nfa, node));
  computeClosures(nfa);
  nfa.initNode = root.first!.nodeIdx;
  return nfa;
}

/** glibc's optimize_subexps: `((x))` keeps the outer group only, and maps the inner one onto it. */
function mergeNestedGroups(root: Tree, nsub: number): number[] | null {
  const map = Array.from({ length: nsub }, (_, i) => i);
  preorder(root, (node) => {
    if (node.type === SUBEXP && node.left?.type === SUBEXP) {
      const inner = node.left.subIdx;
      node.left = node.left.left;
      if (node.left !== null) node.left.parent = node;
      map[inner] = map[node.subIdx]!;
    }
  });
  return map.every((v, i) => v === i) ? null : map;
}

/** A group becomes OPEN, its body, CLOSE (glibc's lower_subexp). */
function lowerGroup(group: Tree, parent: Tree): Tree {
  const fields = { subIdx: group.subIdx };
  const open = createTree(OP_OPEN_SUBEXP, null, null, fields);
  const close = createTree(OP_CLOSE_SUBEXP, null, null, fields);
  open.optSubexp = close.optSubexp = group.optSubexp;
  const body = group.left === null ? close : createTree(CONCAT, group.left, close);
  const tree = createTree(CONCAT, open, body);
  tree.parent = parent;
  return tree;
}

function link(nfa: Nfa, node: Tree): void {
  const idx = node.nodeIdx;
  switch (node.type) {
    case CONCAT:
    case END_OF_RE:
      return;
    case OP_DUP_ASTERISK:
    case OP_ALT: {
      nfa.hasPluralMatch = true;
      const left = node.left === null ? node.next!.nodeIdx : node.left.first!.nodeIdx;
      const right = node.right === null ? node.next!.nodeIdx : node.right.first!.nodeIdx;
      nfa.edests[idx] = left === right ? [left] : [Math.min(left, right), Math.max(left, right)];
      return;
    }
    case ANCHOR:
    case OP_OPEN_SUBEXP:
    case OP_CLOSE_SUBEXP:
      nfa.edests[idx] = [node.next!.nodeIdx];
      return;
    default:
      nfa.nexts[idx] = node.next!.nodeIdx;
  }
}
