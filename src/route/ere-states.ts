/**
 * The node sets regexec moves through, built lazily and kept (as glibc's DFA states are): the set
 * at a position is the epsilon closure of what the previous byte led to, minus the nodes whose
 * constraint the previous byte's context forbids. Which set follows which for a given byte never
 * changes, so after a few subjects a regex walks a table.
 *
 * Contexts are glibc's: a byte is a word byte (when a word anchor is used at all) or not; before
 * the subject is the start of a line and of the buffer, after it the end of both. A newline is an
 * ordinary byte (no REG_NEWLINE).
 */
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
  OP_PERIOD,
  PREV_BEGBUF,
  PREV_NEWLINE,
  PREV_NOTWORD,
  PREV_WORD,
  SIMPLE_BRACKET,
} from './ere-tree.js';

export const CONTEXT_WORD = 1;
const CONTEXT_NEWLINE = 2;
const CONTEXT_BEGBUF = 4;
const CONTEXT_ENDBUF = 8;
/** The context before the first byte, and after the last. */
export const CONTEXT_START = CONTEXT_NEWLINE | CONTEXT_BEGBUF;
export const CONTEXT_END = CONTEXT_NEWLINE | CONTEXT_ENDBUF;

/** A set of nodes, ascending, with its transitions and halts filled in as they are asked for. */
export interface NodeSet {
  readonly nodes: readonly number[];
  /** By byte: the next set, null when no node accepts the byte, undefined when not yet computed. */
  readonly next: (NodeSet | null | undefined)[];
  /** By context (0, word, end): the END_OF_RE node that halts there, -1 for none, undefined when not yet computed. */
  readonly halt: (number | undefined)[];
  /** The pruning's results on this set, by the nodes it started from (ere-match.ts keep()). */
  readonly kept: Map<string, readonly number[]>;
  /** By context (0, word): this set joined with a new start's set, for search(). */
  readonly restart: (NodeSet | undefined)[];
}

/** Beyond this many sets the cache starts afresh (an expression whose sets explode costs time, not memory). */
const MAX_SETS = 4096;

export class StateCache {
  private sets = new Map<string, NodeSet>();
  private initials: (NodeSet | undefined)[] = [];
  private readonly mark: Int32Array;
  private stamp = 0;

  constructor(private readonly nfa: Nfa) {
    this.mark = new Int32Array(nfa.type.length);
  }

  /** The context a byte gives the position after it (and the constraints that look at it). */
  byteContext(c: number): number {
    return this.nfa.wordOps && isWordByte(c) ? CONTEXT_WORD : 0;
  }

  /** Whether node `node` consumes byte `c` (glibc's check_node_accept). */
  accepts(node: number, c: number): boolean {
    const nfa = this.nfa;
    const type = nfa.type[node];
    if (type === CHARACTER) {
      if (nfa.c[node] !== c) return false;
    } else if (type === SIMPLE_BRACKET) {
      if (nfa.set[node]![c] !== 1) return false;
    } else if (type !== OP_PERIOD || c === 0) {
      return false;
    }
    return nfa.constraint[node] === 0 || nextSatisfied(nfa.constraint[node]!, this.byteContext(c));
  }

  /** The set at a start whose previous byte had context `context` (CONTEXT_START at offset 0). */
  initial(context: number): NodeSet {
    const slot = context === CONTEXT_START ? 2 : context;
    this.initials[slot] ??= this.closure([this.nfa.initNode], context);
    return this.initials[slot];
  }

  /** The set after `set` consumes byte `c`, or null when nothing accepts it. */
  next(set: NodeSet, c: number): NodeSet | null {
    const known = set.next[c];
    if (known !== undefined) return known;
    const targets: number[] = [];
    for (const node of set.nodes) if (!isEpsilon(this.nfa.type[node]!) && this.accepts(node, c)) targets.push(this.nfa.nexts[node]!);
    const found = targets.length === 0 ? null : this.closure(targets, this.byteContext(c));
    set.next[c] = found;
    return found;
  }

  /** The first END_OF_RE node of `set` whose constraint the next context allows, or -1 (glibc's check_halt_state_context). */
  haltNode(set: NodeSet, context: number): number {
    const slot = context === CONTEXT_END ? 2 : context;
    let halt = set.halt[slot];
    if (halt === undefined) {
      halt = -1;
      for (const node of set.nodes) {
        if (this.nfa.type[node] === END_OF_RE && nextSatisfied(this.nfa.constraint[node]!, context)) {
          halt = node;
          break;
        }
      }
      set.halt[slot] = halt;
    }
    return halt;
  }

  /**
   * Whether any start of `subject` has a match: one pass in which a new start joins at every
   * position (the node sets do not care where a match began). Linear in the subject, whatever the
   * expression; glibc finds a match exactly where this does unless its submatch walk gives up.
   */
  search(subject: string): boolean {
    let set = this.initial(CONTEXT_START);
    for (let idx = 0; ; idx++) {
      if (idx === subject.length) return this.haltNode(set, CONTEXT_END) >= 0;
      const c = subject.charCodeAt(idx);
      const context = this.byteContext(c);
      if (this.haltNode(set, context) >= 0) return true;
      const next = this.next(set, c);
      const fresh = this.initial(context);
      if (next === null) {
        set = fresh;
      } else {
        next.restart[context] ??= this.closure([...next.nodes, ...fresh.nodes], -1);
        set = next.restart[context]!;
      }
    }
  }

  /** The closures of `roots` minus what the previous context forbids (-1: roots are a set already filtered), interned. */
  private closure(roots: readonly number[], context: number): NodeSet {
    if (this.stamp === 0x3fffffff) {
      // Cleared before the count outgrows the Int32Array.
      this.mark.fill(0);
      this.stamp = 0;
    }
    const stamp = ++this.stamp;
    const nodes: number[] = [];
    for (const root of roots) {
      for (const node of context === -1 ? [root] : this.nfa.eclosures[root]!) {
        if (this.mark[node] === stamp) continue;
        this.mark[node] = stamp;
        const constraint = this.nfa.constraint[node]!;
        if (constraint === 0 || context === -1 || prevSatisfied(constraint, context)) nodes.push(node);
      }
    }
    nodes.sort((a, b) => a - b);
    const key = nodes.join(',');
    let set = this.sets.get(key);
    if (set === undefined) {
      if (this.sets.size >= MAX_SETS) {
        this.sets = new Map();
        this.initials = [];
      }
      set = { nodes, next: new Array(256), halt: [], kept: new Map(), restart: [] };
      this.sets.set(key, set);
    }
    return set;
  }
}

/** Whether the context of the byte before a node's position allows its constraint. */
export function prevSatisfied(constraint: number, context: number): boolean {
  if (constraint & PREV_WORD && !(context & CONTEXT_WORD)) return false;
  if (constraint & PREV_NOTWORD && context & CONTEXT_WORD) return false;
  if (constraint & PREV_NEWLINE && !(context & CONTEXT_NEWLINE)) return false;
  return !(constraint & PREV_BEGBUF && !(context & CONTEXT_BEGBUF));
}

/** Whether the context of the byte at a node's position allows its constraint. */
export function nextSatisfied(constraint: number, context: number): boolean {
  if (constraint & NEXT_WORD && !(context & CONTEXT_WORD)) return false;
  if (constraint & NEXT_NOTWORD && context & CONTEXT_WORD) return false;
  if (constraint & NEXT_NEWLINE && !(context & CONTEXT_NEWLINE)) return false;
  return !(constraint & NEXT_ENDBUF && !(context & CONTEXT_ENDBUF));
}
