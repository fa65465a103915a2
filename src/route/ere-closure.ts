/**
 * The epsilon closures of the automaton, computed as glibc's calc_eclosure computes them
 * (posix/regcomp.c), because computing them is also where glibc copies what follows an anchor:
 * every node reachable without consuming a byte gets a copy carrying the anchor's constraint
 * (duplicate_node_closure), numbered in the order glibc makes it. Those numbers decide regexec's
 * choices between epsilon successors, so the order here is glibc's, recursion and all.
 */
import { isEpsilon, type Tree } from './ere-tree.js';

/** The automaton: one entry per node in each array, indexed by node number. */
export interface Nfa {
  /** The expression, for messages. */
  source: string;
  type: number[];
  c: number[];
  set: (Uint8Array | null)[];
  constraint: number[];
  /** Made by duplicateTree or as a constrained copy (glibc keeps one flag for both). */
  duplicated: boolean[];
  optSubexp: boolean[];
  subIdx: number[];
  /** The node each constrained copy was made from (glibc's org_indices), -1 for the others. */
  origin: number[];
  /** The node a byte-consuming node goes to (-1 for END_OF_RE). */
  nexts: number[];
  /** An epsilon node's successors, ascending. */
  edests: number[][];
  /** Each node's epsilon closure (itself included), ascending. */
  eclosures: number[][];
  initNode: number;
  nsub: number;
  /** Group i reports group subexpMap[i]'s offsets (`((a))`: the inner group was merged into the outer). */
  subexpMap: number[] | null;
  /** Whether there is any choice (alternation or repetition); without one regexec skips its pruning pass. */
  hasPluralMatch: boolean;
  wordOps: boolean;
  /**
   * glibc skips copying an anchor's closure when the anchor's successor was itself made by
   * duplicateTree (`(^a){2}`, `(x\>)+`): the copy of the anchor then constrains nothing after it,
   * and glibc matches what the expression's plain reading would not. Only for these is the
   * JavaScript translation not exact.
   */
  constraintLost: boolean;
}

/** Appends a node made from tree node `from`, or a copy of node `from`, with `constraint`; returns its number. */
export function addNode(nfa: Nfa, from: Tree | number, constraint: number): number {
  const idx = nfa.type.length;
  if (typeof from === 'number') {
    nfa.type.push(nfa.type[from]!);
    nfa.c.push(nfa.c[from]!);
    nfa.set.push(nfa.set[from]!);
    nfa.duplicated.push(nfa.duplicated[from]!);
    nfa.optSubexp.push(nfa.optSubexp[from]!);
    nfa.subIdx.push(nfa.subIdx[from]!);
  } else {
    nfa.type.push(from.type);
    nfa.c.push(from.c);
    nfa.set.push(from.set);
    nfa.duplicated.push(from.duplicated);
    nfa.optSubexp.push(from.optSubexp);
    nfa.subIdx.push(from.subIdx);
  }
  nfa.constraint.push(constraint);
  nfa.nexts.push(-1);
  nfa.edests.push([]);
  nfa.eclosures.push([]);
  nfa.origin.push(-1);
  return idx;
}

function insertSorted(list: number[], value: number): void {
  let i = list.length;
  while (i > 0 && list[i - 1]! > value) i--;
  list.splice(i, 0, value);
}

function union(a: readonly number[], b: readonly number[]): number[] {
  const out: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const x = i < a.length ? a[i]! : Number.POSITIVE_INFINITY;
    const y = j < b.length ? b[j]! : Number.POSITIVE_INFINITY;
    out.push(Math.min(x, y));
    if (x <= y) i++;
    if (y <= x) j++;
  }
  return out;
}

/** A constrained copy of `org` (glibc's duplicate_node). */
function duplicateNode(nfa: Nfa, org: number, constraint: number): number {
  const dup = addNode(nfa, org, constraint | nfa.constraint[org]!);
  nfa.duplicated[dup] = true;
  nfa.origin[dup] = org;
  return dup;
}

/** A copy of `org` with `constraint` made before, looked for among the last nodes (all copies). */
function searchDuplicated(nfa: Nfa, org: number, constraint: number): number {
  for (let idx = nfa.type.length - 1; nfa.duplicated[idx] && idx > 0; idx--) {
    if (nfa.origin[idx] === org && nfa.constraint[idx] === constraint) return idx;
  }
  return -1;
}

/** glibc's duplicate_node_closure: copies the epsilon paths from `topOrg` on, each copy carrying the constraint. */
function duplicateClosure(nfa: Nfa, topOrg: number, topClone: number, root: number, initConstraint: number): void {
  let constraint = initConstraint;
  for (let org = topOrg, clone = topClone; ; ) {
    const dests = nfa.edests[org]!;
    let orgDest: number;
    let cloneDest: number;
    if (dests.length === 0) {
      nfa.nexts[clone] = nfa.nexts[org]!;
      return;
    }
    if (dests.length === 1) {
      orgDest = dests[0]!;
      nfa.edests[clone] = [];
      if (org === root && clone !== org) {
        // The closure loops back to the anchor: tie the copy to the anchor's own successor.
        nfa.edests[clone]!.push(orgDest);
        return;
      }
      constraint |= nfa.constraint[org]!;
      cloneDest = duplicateNode(nfa, orgDest, constraint);
      insertSorted(nfa.edests[clone]!, cloneDest);
    } else {
      const second = dests[1]!;
      orgDest = dests[0]!;
      nfa.edests[clone] = [];
      cloneDest = searchDuplicated(nfa, orgDest, constraint);
      if (cloneDest === -1) {
        cloneDest = duplicateNode(nfa, orgDest, constraint);
        insertSorted(nfa.edests[clone]!, cloneDest);
        duplicateClosure(nfa, orgDest, cloneDest, root, constraint);
      } else {
        insertSorted(nfa.edests[clone]!, cloneDest);
      }
      orgDest = second;
      cloneDest = duplicateNode(nfa, orgDest, constraint);
      insertSorted(nfa.edests[clone]!, cloneDest);
    }
    org = orgDest;
    clone = cloneDest;
  }
}

const IN_PROGRESS: number[] = [];

/** glibc's calc_eclosure: the closures, computed in its order because computing them makes the copies. */
export function computeClosures(nfa: Nfa): void {
  const done: (number[] | typeof IN_PROGRESS | undefined)[] = [];
  const iterate = (node: number, root: boolean): number[] => {
    let closure = [node];
    let incomplete = false;
    done[node] = IN_PROGRESS;
    const dests = nfa.edests[node]!;
    if (nfa.constraint[node] !== 0 && dests.length > 0) {
      if (!nfa.duplicated[dests[0]!]) duplicateClosure(nfa, node, node, node, nfa.constraint[node]!);
      else if (nfa.origin[node] === -1 && nfa.origin[dests[0]!] === -1) nfa.constraintLost = true;
    }
    if (isEpsilon(nfa.type[node]!)) {
      for (const dest of nfa.edests[node]!) {
        if (done[dest] === IN_PROGRESS) {
          incomplete = true;
          continue;
        }
        const sub = done[dest] ?? iterate(dest, false);
        closure = union(closure, sub);
        if (done[dest] === undefined) incomplete = true;
      }
    }
    done[node] = incomplete && !root ? undefined : closure;
    return closure;
  };
  let incomplete = false;
  for (let node = 0; ; node++) {
    if (node === nfa.type.length) {
      if (!incomplete) break;
      incomplete = false;
      node = 0;
    }
    if (done[node] !== undefined) continue;
    iterate(node, true);
    if (done[node] === undefined) incomplete = true;
  }
  nfa.eclosures = nfa.type.map((_, i) => done[i] as number[]);
}
