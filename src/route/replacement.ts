/**
 * carbon-c-relay 3.7's `rewrite <expression> into <replacement>` (router.c router_rewrite_metric,
 * checked against the real binary by test/unit/carbon-rewrite.test.ts):
 *
 * - Only the matched part of the name is replaced: the text before and after the match stays.
 * - `\N` inserts group N (N may have several digits: `\12` is group 12). A group that did not
 *   take part, `\0`, and a group beyond the expression's count insert nothing. (carbon-c-relay
 *   reads one entry past its pmatch[] for N = count + 1, and with a group-less regular expression
 *   it never asks regexec for offsets at all: both read stale memory. Here both give the natural
 *   result: nothing, and the matched part, as carbon-c-relay 3.9 does.)
 * - Right after the backslash, `_` lower-cases the group, `^` upper-cases it, `.` turns its dots
 *   into underscores; `\_.N` and `\^.N` combine them. Anything else cancels the reference: `\._1`
 *   and `\^_1` are the literal text `_1`, `\__1` is `_1`, and `\_..1` only replaces dots.
 * - A backslash before any other byte drops the backslash (`\a` is `a`); a trailing one vanishes.
 *   A backslash right after a reference starts the next one in the same case: `\_1\2` lower-cases
 *   both groups, and `\1\\2` is `\1\2`; but `\1\_2` is group 1 then the literal `_2`.
 * - Case changes are ASCII only (the C locale's tolower/toupper).
 */
import type { PosixMatch, PosixRegex } from './posix-ere.js';

type Case = 'retain' | 'lower' | 'upper';

/** One piece of a parsed replacement: literal bytes, or a group reference with its modifiers. */
export type ReplacementPart = { literal: string } | { group: number; case: Case; dots: boolean };

/** Reads `template` as carbon-c-relay's replacement loop does, into literal text and references. */
export function parseReplacement(template: string): ReplacementPart[] {
  const parts: ReplacementPart[] = [];
  // 0: plain text; 1: after a backslash; 2: in the digits of a reference.
  let state = 0;
  let mode: Case = 'retain';
  let dots = false;
  let group = 0;
  let literal = '';
  for (let i = 0; i <= template.length; i++) {
    // The template's terminating NUL is a character of the loop: it ends a pending reference.
    const ch = i < template.length ? template[i]! : '';
    if (ch === '\\' && state === 0) {
      state = 1;
      mode = 'retain';
      dots = false;
    } else if (state === 1 && mode === 'retain' && !dots && (ch === '_' || ch === '^')) {
      mode = ch === '_' ? 'lower' : 'upper';
    } else if (state === 1 && ch === '.') {
      // carbon-c-relay's state machine: a second '.' (or one after `\_.`) keeps only the dot rule.
      if (dots) mode = 'retain';
      dots = true;
    } else if (state !== 0 && ch >= '0' && ch <= '9') {
      state = 2;
      group = Math.min(group * 10 + (ch.charCodeAt(0) - 0x30), 0x7fffffff);
    } else {
      if (state !== 0 && group > 0) {
        if (literal !== '') parts.push({ literal });
        literal = '';
        parts.push({ group, case: mode, dots });
      }
      if (state !== 0) group = 0;
      if (ch !== '\\') {
        state = 0;
        mode = 'retain';
        dots = false;
        literal += ch;
      }
    }
  }
  if (literal !== '') parts.push({ literal });
  return parts;
}

/** The replacement text for a match of `subject` (what takes the matched part's place). */
export function expandReplacement(template: string, subject: string, match: PosixMatch): string {
  return expandParts(parseReplacement(template), subject, match);
}

/** What carbon-c-relay's rewrite makes of `metric`: the name with its matched part replaced; undefined when nothing matches. */
export function rewriteMetric(regex: PosixRegex, template: string, metric: string): string | undefined {
  const match = regex.exec(metric);
  if (match === undefined) return undefined;
  const [so, eo] = match.pmatch[0]!;
  return metric.slice(0, so) + expandParts(parseReplacement(template), metric, match) + metric.slice(eo);
}

/** expandReplacement over an already parsed template (a rule parses its template once). */
export function expandParts(parts: readonly ReplacementPart[], subject: string, match: PosixMatch): string {
  let out = '';
  for (const part of parts) {
    if ('literal' in part) {
      out += part.literal;
      continue;
    }
    const offsets = match.pmatch[part.group];
    if (offsets === undefined || part.group === 0 || offsets[0] < 0) continue;
    let text = subject.slice(offsets[0], offsets[1]);
    if (part.case === 'lower') text = text.replace(/[A-Z]+/g, (s) => s.toLowerCase());
    else if (part.case === 'upper') text = text.replace(/[a-z]+/g, (s) => s.toUpperCase());
    if (part.dots) text = text.replaceAll('.', '_');
    out += text;
  }
  return out;
}
