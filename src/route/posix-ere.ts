/**
 * POSIX extended regular expressions as carbon-c-relay uses them: compiled by glibc's
 * regcomp(REG_EXTENDED) in the C locale and run by regexec with one pmatch entry per group.
 * Subjects and expressions are latin1 strings (one char = one byte).
 *
 * - test(): whether anything matches — the hot path of content routing. Which subjects have a
 *   match does not depend on how submatches are chosen, so the expression runs as the equivalent
 *   JavaScript RegExp written by the parser.
 * - exec(): the match glibc reports (leftmost, then longest; groups by glibc's rules for
 *   alternation and repetition) — for rewrites. It replays glibc's own algorithm (ere-match.ts).
 *
 * Refused (RelayError ERR_CONFIG): whatever regcomp refuses, with its REG_* code and message;
 * and, though glibc accepts them, back-references (\1…\9), NUL or non-latin1 chars, and
 * repetitions expanding beyond 50,000 nodes.
 */
import { parseEre } from './ere-parse.js';
import { buildNfa, type Nfa } from './ere-nfa.js';
import { regexec } from './ere-match.js';

/** One regexec result: pmatch[i] = [rm_so, rm_eo], i = 0 the whole match; [-1, -1] for a group that did not take part. */
export interface PosixMatch {
  readonly pmatch: readonly (readonly [so: number, eo: number])[];
}

export class PosixRegex {
  /** The number of groups (regcomp's re_nsub). */
  readonly groupCount: number;
  /** The translation, or undefined where glibc's own quirks make it differ (see Nfa.constraintLost). */
  private readonly js: RegExp | undefined;

  private constructor(
    readonly source: string,
    js: string,
    private readonly nfa: Nfa,
  ) {
    this.js = nfa.constraintLost ? undefined : new RegExp(js);
    this.groupCount = nfa.nsub;
  }

  /** Compiles `source` as glibc's regcomp(REG_EXTENDED) would; throws RelayError ERR_CONFIG naming the expression and the fault. */
  static compile(source: string): PosixRegex {
    const parsed = parseEre(source);
    const js = parsed.js;
    return new PosixRegex(source, js, buildNfa(parsed));
  }

  /** The JavaScript RegExp source test() runs, undefined when it runs the automaton instead. */
  get jsSource(): string | undefined {
    return this.js?.source;
  }

  /** Whether `subject` has a match anywhere (exactly when exec() finds one). */
  test(subject: string): boolean {
    return this.js === undefined ? regexec(this.nfa, subject) !== undefined : this.js.test(subject);
  }

  /** glibc regexec's match on `subject`, or undefined when it reports none. */
  exec(subject: string): PosixMatch | undefined {
    const offsets = regexec(this.nfa, subject);
    if (offsets === undefined) return undefined;
    const pmatch: [number, number][] = [];
    for (let i = 0; i < offsets.length; i += 2) pmatch.push([offsets[i]!, offsets[i + 1]!]);
    return { pmatch };
  }
}
