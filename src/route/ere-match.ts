/**
 * glibc's regexec over the automaton of ere-nfa.ts (posix/regexec.c: re_search_internal,
 * check_matching, prune_impossible_nodes, set_regs), for REG_EXTENDED without REG_NEWLINE and
 * with nmatch = groups + 1, as carbon-c-relay calls it:
 *
 * 1. From the leftmost start that has a match, the node sets reachable at each position (each set
 *    filtered by the context of the byte before: `^`, `\<`…); the match ends at the last position
 *    where an END_OF_RE node is reached — leftmost, then longest.
 * 2. Pruning ("sifting"), backwards from that end: at each position only the nodes that still lead
 *    to it are kept.
 * 3. One walk forwards through the kept nodes: at a choice between two epsilon successors the
 *    lower-numbered one is taken (the higher one if the lower was already passed since the last
 *    byte, which ends empty loops), and each OPEN/CLOSE node records its group's offsets, with
 *    glibc's special case for an optional group that matched empty. A walk that finds no way on
 *    makes regexec report no match at all, as glibc does.
 *
 * Cost is O(length × nodes) per pass, never exponential; subjects are latin1 strings (a char is a
 * byte). A newline is an ordinary byte here, which is what glibc's walk and pruning assume; its DFA
 * alone gives `^` a special meaning after '\n', which metric names never contain.
 */
import { RelayError } from '../errors.js';
import type { Nfa } from './ere-nfa.js';
import {
  CHARACTER,
  END_OF_RE,
  isEpsilon,
  isWordByte,
  NEXT_ENDBUF,
  NEXT_NEWLINE,
  NEXT_NOTWORD,
  NEXT_WORD,
  OP_CLOSE_SUBEXP,
  OP_OPEN_SUBEXP,
  OP_PERIOD,
  PREV_BEGBUF,
  PREV_NEWLINE,
  PREV_NOTWORD,
  PREV_WORD,
  SIMPLE_BRACKET,
} from './ere-tree.js';

const CONTEXT_WORD = 1;
const CONTEXT_NEWLINE = 2;
const CONTEXT_BEGBUF = 4;
const CONTEXT_ENDBUF = 8;

/** Offsets as regexec's pmatch[]: [so0, eo0, so1, eo1, …], -1 for a group that did not participate. */
export type Offsets = Int32Array;

/** The match glibc's regexec reports for `subject`, or undefined for REG_NOMATCH. */
export function regexec(nfa: Nfa, subject: string): Offsets | undefined {
  const m = new Matcher(nfa, subject);
  const first = m.leftmostStart();
  if (first < 0) return undefined;
  for (let start = first; start <= subject.length; start++) {
    const found = m.matchAt(start);
    if (found !== 'next') return found;
  }
  return undefined;
}

class Matcher {
  private readonly len: number;
  private readonly mark: Int32Array;
  private stamp = 0;

  constructor(
    private readonly nfa: Nfa,
    private readonly subject: string,
  ) {
    this.len = subject.length;
    this.mark = new Int32Array(nfa.type.length);
  }

  /** The context of the byte at `idx` for the constraints (before the start: a line and buffer start). */
  private context(idx: number): number {
    if (idx < 0) return CONTEXT_NEWLINE | CONTEXT_BEGBUF;
    if (idx === this.len) return CONTEXT_NEWLINE | CONTEXT_ENDBUF;
    return this.nfa.wordOps && isWordByte(this.subject.charCodeAt(idx)) ? CONTEXT_WORD : 0;
  }

  private accepts(node: number, idx: number): boolean {
    const nfa = this.nfa;
    const c = this.subject.charCodeAt(idx);
    const type = nfa.type[node];
    if (type === CHARACTER) {
      if (nfa.c[node] !== c) return false;
    } else if (type === SIMPLE_BRACKET) {
      if (nfa.set[node]![c] !== 1) return false;
    } else if (type !== OP_PERIOD || c === 0) {
      return false;
    }
    return nfa.constraint[node] === 0 || nextSatisfied(nfa.constraint[node]!, this.context(idx));
  }

  /** The nodes of the closures of `roots` that the context before position `idx` allows, ascending. */
  private state(roots: readonly number[], idx: number): number[] {
    const stamp = ++this.stamp;
    const out: number[] = [];
    const context = this.context(idx - 1);
    for (const root of roots) {
      for (const node of this.nfa.eclosures[root]!) {
        if (this.mark[node] === stamp) continue;
        this.mark[node] = stamp;
        const constraint = this.nfa.constraint[node]!;
        if (constraint === 0 || prevSatisfied(constraint, context)) out.push(node);
      }
    }
    return out.sort((a, b) => a - b);
  }

  /** The state after consuming the byte at `idx` from `state`. */
  private step(state: readonly number[], idx: number): number[] {
    const targets: number[] = [];
    for (const node of state) {
      if (!isEpsilon(this.nfa.type[node]!) && this.accepts(node, idx)) targets.push(this.nfa.nexts[node]!);
    }
    return targets.length === 0 ? targets : this.state(targets, idx + 1);
  }

  /** The first END_OF_RE node of `state` that the context after `idx` allows, or -1. */
  private haltNode(state: readonly number[], idx: number): number {
    for (const node of state) {
      if (this.nfa.type[node] === END_OF_RE && nextSatisfied(this.nfa.constraint[node]!, this.context(idx))) return node;
    }
    return -1;
  }

  /**
   * The leftmost start from which step() reaches a halt, in one pass: every node carries the
   * smallest start that reaches it (from a node and a position the future does not depend on
   * where the match began). -1 when there is none.
   */
  leftmostStart(): number {
    const nfa = this.nfa;
    let from = new Map<number, number>();
    let best = -1;
    for (let idx = 0; idx <= this.len; idx++) {
      if (best < 0) for (const node of this.state([nfa.initNode], idx)) if (!from.has(node)) from.set(node, idx);
      const state = [...from.keys()].sort((a, b) => a - b);
      const context = this.context(idx);
      for (const node of state) {
        if (nfa.type[node] !== END_OF_RE || !nextSatisfied(nfa.constraint[node]!, context)) continue;
        if (best < 0 || from.get(node)! < best) best = from.get(node)!;
      }
      if (idx === this.len) break;
      const next = new Map<number, number>();
      for (const node of state) {
        if (isEpsilon(nfa.type[node]!) || !this.accepts(node, idx)) continue;
        const start = from.get(node)!;
        for (const target of this.state([nfa.nexts[node]!], idx + 1)) {
          if ((next.get(target) ?? Number.POSITIVE_INFINITY) > start) next.set(target, start);
        }
      }
      from = next;
      if (best >= 0 && from.size === 0) break;
    }
    return best;
  }

  /** regexec's attempt at `start`: the offsets, undefined when the walk fails (REG_NOMATCH), 'next' when there is no match here. */
  matchAt(start: number): Offsets | undefined | 'next' {
    const nfa = this.nfa;
    let log: number[][] = [];
    log[start] = this.state([nfa.initNode], start);
    let matchLast = this.haltNode(log[start]!, start) >= 0 ? start : -1;
    for (let idx = start; idx < this.len; idx++) {
      const next = this.step(log[idx]!, idx);
      if (next.length === 0) break;
      log[idx + 1] = next;
      if (this.haltNode(next, idx + 1) >= 0) matchLast = idx + 1;
    }
    if (matchLast < 0) return 'next';
    const nmatch = nfa.nsub + 1;
    const pmatch = new Int32Array(2 * nmatch).fill(-1);
    pmatch[0] = start;
    pmatch[1] = matchLast;
    if (nmatch === 1) return pmatch;
    const lastNode = this.haltNode(log[matchLast]!, matchLast);
    if (nfa.hasPluralMatch) {
      const sifted = this.sift(log, start, matchLast, lastNode);
      if (sifted[start] === undefined) return 'next';
      log = sifted;
    }
    if (!this.walk(log, start, matchLast, lastNode, pmatch)) return undefined;
    for (let reg = 1; reg < nmatch; reg++) {
      // A group entered but not left reports an end of -1 relative to the start, as glibc does.
      if (pmatch[2 * reg] !== -1 && pmatch[2 * reg + 1] === -1) pmatch[2 * reg + 1] = start - 1;
    }
    const map = nfa.subexpMap;
    if (map !== null) {
      for (let i = 0; i + 1 < nmatch; i++) {
        if (map[i] === i) continue;
        pmatch[2 * (i + 1)] = pmatch[2 * (map[i]! + 1)]!;
        pmatch[2 * (i + 1) + 1] = pmatch[2 * (map[i]! + 1) + 1]!;
      }
    }
    return pmatch;
  }

  /** glibc's sift_states_backward: per position, the nodes of `log` from which `lastNode` is still reachable. */
  private sift(log: readonly number[][], start: number, matchLast: number, lastNode: number): number[][] {
    const sifted: number[][] = [];
    const keep = (idx: number, dest: number[]): void => {
      if (dest.length === 0) return;
      const inverse = new Set<number>();
      for (const node of dest) for (const src of this.nfa.inveclosures[node]!) inverse.add(src);
      const chosen = new Set(dest);
      for (const node of log[idx]!) if (inverse.has(node)) chosen.add(node);
      sifted[idx] = [...chosen].sort((a, b) => a - b);
    };
    keep(matchLast, [lastNode]);
    for (let idx = matchLast; idx > start; ) {
      // One position with nothing left and no earlier position can reach the end.
      if (sifted[idx] === undefined) return [];
      idx--;
      const after = new Set(sifted[idx + 1]);
      const dest = log[idx]!.filter((node) => !isEpsilon(this.nfa.type[node]!) && this.accepts(node, idx) && after.has(this.nfa.nexts[node]!));
      keep(idx, dest);
    }
    return sifted;
  }

  /** glibc's set_regs without back-references: one walk, lower-numbered successor first. False when it gets stuck. */
  private walk(log: readonly number[][], start: number, matchLast: number, lastNode: number, pmatch: Int32Array): boolean {
    const nfa = this.nfa;
    let prev = pmatch.slice();
    let node = nfa.initNode;
    let passed = new Set<number>();
    // The choices depend only on the node and `passed`, which only grows between bytes: more steps
    // than nodes without growing it or consuming a byte is a cycle, and glibc loops forever there.
    let idle = 0;
    for (let idx = start; idx <= matchLast; ) {
      if (++idle > nfa.type.length + 1) throw endlessWalk(nfa.source, this.subject, idx);
      const type = nfa.type[node]!;
      const reg = nfa.subIdx[node]! + 1;
      if (type === OP_OPEN_SUBEXP) {
        pmatch[2 * reg] = idx;
        pmatch[2 * reg + 1] = -1;
      } else if (type === OP_CLOSE_SUBEXP) {
        if (pmatch[2 * reg]! < idx) {
          pmatch[2 * reg + 1] = idx;
          prev = pmatch.slice();
        } else if (nfa.optSubexp[node] && prev[2 * reg] !== -1) {
          // An optional group that matched empty after a real match, like (a?)*: undo it and what it holds.
          pmatch.set(prev);
        } else {
          pmatch[2 * reg + 1] = idx;
        }
      }
      if (idx === matchLast && node === lastNode) return true;
      if (isEpsilon(type)) {
        const here = log[idx];
        if (!passed.has(node)) {
          passed.add(node);
          idle = 0;
        }
        let dest = -1;
        for (const candidate of nfa.edests[node]!) {
          if (here === undefined || !here.includes(candidate)) continue;
          if (dest === -1) {
            dest = candidate;
            continue;
          }
          if (passed.has(dest)) dest = candidate;
          break;
        }
        node = dest;
      } else if (idx < this.len && this.accepts(node, idx)) {
        node = nfa.nexts[node]!;
        idx++;
        passed = new Set();
        idle = 0;
      } else {
        node = -1;
      }
      if (node < 0) return false;
    }
    return true;
  }
}

/** glibc's set_regs never returns for some expressions and subjects; we say so instead of hanging. */
function endlessWalk(source: string, subject: string, idx: number): RelayError {
  return new RelayError(
    'ERR_CONFIG',
    `regular expression '${source}' on '${subject}': glibc's regexec loops forever choosing submatches at offset ${idx} (carbon-c-relay would hang), so there is no answer to give`,
  );
}

function prevSatisfied(constraint: number, context: number): boolean {
  if (constraint & PREV_WORD && !(context & CONTEXT_WORD)) return false;
  if (constraint & PREV_NOTWORD && context & CONTEXT_WORD) return false;
  if (constraint & PREV_NEWLINE && !(context & CONTEXT_NEWLINE)) return false;
  return !(constraint & PREV_BEGBUF && !(context & CONTEXT_BEGBUF));
}

function nextSatisfied(constraint: number, context: number): boolean {
  if (constraint & NEXT_WORD && !(context & CONTEXT_WORD)) return false;
  if (constraint & NEXT_NOTWORD && context & CONTEXT_WORD) return false;
  if (constraint & NEXT_NEWLINE && !(context & CONTEXT_NEWLINE)) return false;
  return !(constraint & NEXT_ENDBUF && !(context & CONTEXT_ENDBUF));
}
