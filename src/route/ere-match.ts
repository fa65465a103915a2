/**
 * glibc's regexec over the automaton of ere-nfa.ts (posix/regexec.c: re_search_internal,
 * check_matching, prune_impossible_nodes, set_regs), for REG_EXTENDED without REG_NEWLINE and
 * with nmatch = groups + 1, as carbon-c-relay calls it:
 *
 * 1. From the leftmost start that has a match, the node sets reachable at each position
 *    (ere-states.ts); the match ends at the last position where an END_OF_RE node is reached —
 *    leftmost, then longest.
 * 2. Pruning ("sifting"), backwards from that end: at each position only the nodes that still lead
 *    to it are kept.
 * 3. One walk forwards through the kept nodes: at a choice between two epsilon successors the
 *    lower-numbered one is taken (the higher one if the lower was already passed since the last
 *    byte, which ends empty loops), and each OPEN/CLOSE node records its group's offsets, with
 *    glibc's special case for an optional group that matched empty. A walk that finds no way on
 *    makes regexec report no match at all, as glibc does.
 *
 * Cost is O(length × nodes) per pass, never exponential (without a known first start, exec()
 * tries each start in turn: O(length²) table lookups); subjects are latin1 strings (a char is a
 * byte). A newline is an ordinary byte here, which is what glibc's walk and pruning assume; its DFA
 * alone gives `^` a special meaning after '\n', which metric names never contain.
 */
import { RelayError } from '../errors.js';
import type { Nfa } from './ere-nfa.js';
import { CONTEXT_END, CONTEXT_START, type NodeSet, StateCache } from './ere-states.js';
import { isEpsilon, OP_CLOSE_SUBEXP, OP_OPEN_SUBEXP } from './ere-tree.js';

/** Offsets as regexec's pmatch[]: [so0, eo0, so1, eo1, …], -1 for a group that did not participate. */
export type Offsets = Int32Array;

/** regexec for one compiled expression; keeps its node sets between calls. */
export class Regexec {
  private readonly states: StateCache;
  // Scratch marks: a node is marked when its entry equals the current stamp (no clearing between uses).
  private readonly mark: Int32Array;
  private readonly passed: Int32Array;
  private stamp = 0;

  constructor(private readonly nfa: Nfa) {
    this.states = new StateCache(nfa);
    this.mark = new Int32Array(nfa.type.length);
    this.passed = new Int32Array(nfa.type.length);
  }

  /**
   * The match glibc's regexec reports for `subject`, or undefined for REG_NOMATCH. `first` is a
   * start before which nothing matches (the caller may know it), 0 when unknown.
   */
  exec(subject: string, first = 0): Offsets | undefined {
    for (let start = first; start <= subject.length; start++) {
      const found = this.matchAt(subject, start);
      if (found !== 'next') return found;
    }
    return undefined;
  }

  /** A stamp not in `mark` or `passed` yet (they are cleared before the count could outgrow an Int32Array). */
  private nextStamp(): number {
    if (this.stamp === 0x3fffffff) {
      this.mark.fill(0);
      this.passed.fill(0);
      this.stamp = 0;
    }
    return ++this.stamp;
  }

  /** Whether `subject` has a match as glibc's DFA finds it (linear time; see StateCache.search). */
  search(subject: string): boolean {
    return this.states.search(subject);
  }

  /** regexec's attempt at `start`: the offsets, undefined when the walk fails (REG_NOMATCH), 'next' when there is no match here. */
  private matchAt(subject: string, start: number): Offsets | undefined | 'next' {
    const nfa = this.nfa;
    const states = this.states;
    const len = subject.length;
    const contextAt = (idx: number): number => (idx === len ? CONTEXT_END : states.byteContext(subject.charCodeAt(idx)));
    const log: NodeSet[] = [];
    let set: NodeSet | null = states.initial(start === 0 ? CONTEXT_START : states.byteContext(subject.charCodeAt(start - 1)));
    log[start] = set;
    let matchLast = states.haltNode(set, contextAt(start)) >= 0 ? start : -1;
    for (let idx = start; idx < len; idx++) {
      set = states.next(set, subject.charCodeAt(idx));
      if (set === null) break;
      log[idx + 1] = set;
      if (states.haltNode(set, contextAt(idx + 1)) >= 0) matchLast = idx + 1;
    }
    if (matchLast < 0) return 'next';
    const nmatch = nfa.nsub + 1;
    const pmatch = new Int32Array(2 * nmatch).fill(-1);
    pmatch[0] = start;
    pmatch[1] = matchLast;
    if (nmatch === 1) return pmatch;
    const lastNode = states.haltNode(log[matchLast]!, contextAt(matchLast));
    let kept: (readonly number[])[] = log.map((s) => s.nodes);
    if (nfa.hasPluralMatch) {
      kept = this.sift(subject, log, start, matchLast, lastNode);
      if (kept[start] === undefined) return 'next';
    }
    if (!this.walk(subject, kept, start, matchLast, lastNode, pmatch)) return undefined;
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
  private sift(subject: string, log: readonly NodeSet[], start: number, matchLast: number, lastNode: number): (readonly number[])[] {
    const nfa = this.nfa;
    const sifted: (readonly number[])[] = [];
    sifted[matchLast] = this.keep(log[matchLast]!, [lastNode]);
    for (let idx = matchLast; idx > start; ) {
      // One position with nothing left and no earlier position can reach the end.
      if (sifted[idx] === undefined) return [];
      const after = sifted[idx]!;
      idx--;
      const c = subject.charCodeAt(idx);
      const dest: number[] = [];
      for (const node of log[idx]!.nodes) {
        if (!isEpsilon(nfa.type[node]!) && this.states.accepts(node, c) && after.includes(nfa.nexts[node]!)) dest.push(node);
      }
      if (dest.length > 0) sifted[idx] = this.keep(log[idx]!, dest);
    }
    return sifted;
  }

  /** `dest` and the nodes of `set` whose closure reaches one of them (glibc's add_epsilon_src_nodes), remembered per set. */
  private keep(set: NodeSet, dest: number[]): readonly number[] {
    const key = dest.join(',');
    const known = set.kept.get(key);
    if (known !== undefined) return known;
    const stamp = this.nextStamp();
    for (const node of dest) this.mark[node] = stamp;
    const kept = dest.slice();
    for (const node of set.nodes) {
      if (this.mark[node] === stamp || !isEpsilon(this.nfa.type[node]!)) continue;
      if (this.nfa.eclosures[node]!.some((reached) => this.mark[reached] === stamp)) kept.push(node);
    }
    kept.sort((a, b) => a - b);
    if (set.kept.size < 64) set.kept.set(key, kept);
    return kept;
  }

  /** glibc's set_regs without back-references: one walk, lower-numbered successor first. False when it gets stuck. */
  private walk(subject: string, log: readonly (readonly number[])[], start: number, matchLast: number, lastNode: number, pmatch: Int32Array): boolean {
    const nfa = this.nfa;
    const prev = pmatch.slice();
    let node = nfa.initNode;
    // Epsilon nodes passed since the last byte: those marked with the current stamp.
    const passed = this.passed;
    let since = this.nextStamp();
    // The choices depend only on the node and `passed`, which only grows between bytes: more steps
    // than nodes without growing it or consuming a byte is a cycle, and glibc loops forever there.
    let idle = 0;
    for (let idx = start; idx <= matchLast; ) {
      if (++idle > nfa.type.length + 1) throw endlessWalk(nfa.source, subject, idx);
      const type = nfa.type[node]!;
      const reg = nfa.subIdx[node]! + 1;
      if (type === OP_OPEN_SUBEXP) {
        pmatch[2 * reg] = idx;
        pmatch[2 * reg + 1] = -1;
      } else if (type === OP_CLOSE_SUBEXP) {
        if (pmatch[2 * reg]! < idx) {
          pmatch[2 * reg + 1] = idx;
          prev.set(pmatch);
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
        if (passed[node] !== since) {
          passed[node] = since;
          idle = 0;
        }
        let dest = -1;
        for (const candidate of nfa.edests[node]!) {
          if (here === undefined || !here.includes(candidate)) continue;
          if (dest === -1) {
            dest = candidate;
            continue;
          }
          if (passed[dest] === since) dest = candidate;
          break;
        }
        node = dest;
      } else if (idx < subject.length && this.states.accepts(node, subject.charCodeAt(idx))) {
        node = nfa.nexts[node]!;
        idx++;
        since = this.nextStamp();
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
