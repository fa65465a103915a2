/**
 * POSIX extended regular expressions as carbon-c-relay uses them: compiled by glibc's
 * regcomp(REG_EXTENDED) in the C locale and run by regexec with one pmatch entry per group.
 * Subjects and expressions are latin1 strings (one char = one byte).
 *
 * - test(): whether anything matches — the hot path of content routing. Which subjects have a
 *   match does not depend on how submatches are chosen, so the expression runs as the equivalent
 *   JavaScript RegExp written by the parser. Two kinds run on our own node sets instead
 *   (ere-states.ts, linear time): those with `\<` or `\>` (their translation needs lookarounds,
 *   which V8's linear fallback below cannot run), and the few where glibc's own quirks make it
 *   match differently from the translation (Nfa.constraintLost).
 * - exec(): the match glibc reports (leftmost, then longest; groups by glibc's rules for
 *   alternation and repetition) — for rewrites. It replays glibc's own algorithm (ere-match.ts).
 *
 * Refused (RelayError ERR_CONFIG): whatever regcomp refuses, with its REG_* code and message;
 * and, though glibc accepts them, back-references (\1…\9), NUL or non-latin1 chars, and
 * repetitions expanding beyond 50,000 nodes.
 */
import v8 from 'node:v8';
import { Regexec } from './ere-match.js';
import { literalPrefix } from './ere-js.js';
import { buildNfa, type Nfa } from './ere-nfa.js';
import { parseEre } from './ere-parse.js';

// V8 backtracks: `(a*)*b` on thirty a's takes minutes. With this flag a RegExp that backtracks
// too much moves to V8's linear-time engine (it cannot run lookarounds, hence the exception
// above). Flags are per process, and affect only RegExps compiled after this line.
v8.setFlagsFromString('--enable-experimental-regexp-engine-on-excessive-backtracks');

/** One regexec result: pmatch[i] = [rm_so, rm_eo], i = 0 the whole match; [-1, -1] for a group that did not take part. */
export interface PosixMatch {
  readonly pmatch: readonly (readonly [so: number, eo: number])[];
}

export class PosixRegex {
  /** The number of groups (regcomp's re_nsub). */
  readonly groupCount: number;
  /** The translation test() runs, or undefined when it runs the node sets (see above). */
  private readonly js: RegExp | undefined;
  private readonly regexec: Regexec;
  /** glibc's DFA matches where its submatch walk then gives up: only exec() tells. */
  private readonly quirky: boolean;
  /** What every subject with a match starts with (ere-js.ts literalPrefix), and its first char code (-1: none). */
  private readonly prefix: string;
  private readonly first: number;

  private constructor(
    readonly source: string,
    js: string,
    nfa: Nfa,
  ) {
    this.quirky = nfa.constraintLost;
    this.prefix = literalPrefix(js);
    this.first = this.prefix.length > 0 ? this.prefix.charCodeAt(0) : -1;
    this.js = nfa.constraintLost || /\(\?[=!<]/.test(js) ? undefined : new RegExp(js);
    this.groupCount = nfa.nsub;
    this.regexec = new Regexec(nfa);
  }

  /** Compiles `source` as glibc's regcomp(REG_EXTENDED) would; throws RelayError ERR_CONFIG naming the expression and the fault. */
  static compile(source: string): PosixRegex {
    const parsed = parseEre(source);
    return new PosixRegex(source, parsed.js, buildNfa(parsed));
  }

  /** The JavaScript RegExp source test() runs, undefined when it runs the node sets. */
  get jsSource(): string | undefined {
    return this.js?.source;
  }

  /** Whether `subject` has a match anywhere (exactly when exec() finds one). */
  test(subject: string): boolean {
    // Most routing rules are anchored names (`^sys\.cpu\.`): most subjects fail at the first char, without entering the RegExp.
    if (this.first >= 0 && (subject.charCodeAt(0) !== this.first || !subject.startsWith(this.prefix))) return false;
    if (this.js !== undefined) return this.js.test(subject);
    return this.quirky ? this.regexec.exec(subject) !== undefined : this.regexec.search(subject);
  }

  /** glibc regexec's match on `subject`, or undefined when it reports none. */
  exec(subject: string): PosixMatch | undefined {
    // The translation finds the leftmost start with a match (or that there is none) fastest; glibc
    // matches the same subjects, so its match starts there too.
    let first = 0;
    if (this.js !== undefined) {
      const found = this.js.exec(subject);
      if (found === null) return undefined;
      first = found.index;
    } else if (!this.quirky && !this.regexec.search(subject)) {
      return undefined;
    }
    const offsets = this.regexec.exec(subject, first);
    if (offsets === undefined) return undefined;
    const pmatch: [number, number][] = [];
    for (let i = 0; i < offsets.length; i += 2) pmatch.push([offsets[i]!, offsets[i + 1]!]);
    return { pmatch };
  }
}
