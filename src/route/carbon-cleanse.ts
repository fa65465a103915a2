/**
 * What carbon-c-relay 3.7 does to every incoming line before any rule sees it (its dispatcher.c
 * dispatch_received_metrics describes the behaviour; this is our own code), checked byte for byte
 * against the real process in test/unit/carbon-cleanse.test.ts. Pure, no I/O, no allocation per line.
 *
 * Lines end at LF or CR (so CR LF is a line and an empty line). One pass over a line, writing its
 * output over its own bytes (the output never outgrows the input):
 * - Separators are space, tab and dot. Before the first byte is kept they are skipped (leading
 *   blanks and dots); a tab becomes a space.
 * - The first space ends the metric name: a dot just before it goes (trailing dot), and it is kept
 *   as the one space after the name.
 * - Every later separator is dropped when the byte kept last is the same one (`..` and runs of
 *   spaces collapse, in the value and the tags too) or is the name's end (a space or dot right after
 *   it goes: `a;.t` is `a;t`, `a; 1` is `a;1`).
 * - With tags on (the allowed characters do not include `;`), the first `;` of the line, wherever it
 *   is, ends the name instead and is kept; a later space is then an ordinary separator.
 * - In the name, a byte that is not a letter, a digit or an allowed character (`-_:#` by default)
 *   becomes `_`; after the name's end every byte is kept except NUL, which becomes `_`.
 * - Dropped (counted as discarded by carbon-c-relay): a line with nothing kept, a line whose name
 *   never ended (no space and no `;`: `a.b`, `q\r`), a line longer than the input limit (-M) or a
 *   name longer than the metric limit (-m). A value is not required: `a ` passes as `a `.
 * The name (what match and rewrite expressions see, and the consistent-hash key) runs up to its end;
 * what `validate` sees is everything after it. A rewrite replaces the name and keeps the rest.
 *
 * One deliberate difference: after a line with a `;` that -M/-m drops, carbon-c-relay 3.7 leaves
 * tags off for the following lines of the same read() until it keeps one, so the outcome depends on
 * how the stream was cut into reads. Here every line starts with tags on (as carbon-c-relay does
 * whenever the previous line was kept, and always with its default limits, which no line with `;`
 * can exceed).
 */

/** carbon-c-relay's METRIC_BUFSIZ: its read buffer and the default input limit (-M). */
export const CARBON_METRIC_BUFSIZ = 32768;

const LF = 0x0a;
const CR = 0x0d;
const TAB = 0x09;
const SPACE = 0x20;
const SEMICOLON = 0x3b;
const DOT = 0x2e;
const UNDERSCORE = 0x5f;

// Byte classes of the rules table.
const KEEP = 0; // a letter, a digit or an allowed character: kept as is
const IRREGULAR = 1; // `_` in the name, kept after it
const NUL = 2; // `_` everywhere
const DOT_SEP = 3;
const BLANK = 4; // space or tab (a tab is written as a space)
const TAG = 5; // `;` when tags are on

/** How to cleanse: carbon-c-relay's -c, -M and -m, compiled. */
export interface CleanseRules {
  /** Class of each byte value. */
  readonly classes: Uint8Array;
  /** Whether the first `;` ends the name (tags on: `;` is not among the allowed characters). */
  readonly tags: boolean;
  /** A cleansed line (without its end) of more bytes than this is dropped (-M minus one). */
  readonly maxLineBytes: number;
  /** A name of more bytes than this is dropped (-m; by default -M, which a name never reaches). */
  readonly maxNameBytes: number;
}

/** carbon-c-relay's options that change cleansing. */
export interface CleanseOptions {
  /** -c: the characters allowed in a name besides [A-Za-z0-9] (latin1, one byte each); default `-_:#`. */
  allowedChars?: string;
  /** -M: the longest line in bytes, its end included; default 32768. */
  maxInputLength?: number;
  /** -m: the longest name in bytes; default: as -M. */
  maxMetricLength?: number;
}

/** Compiles carbon-c-relay's cleansing options (defaults: its own). */
export function carbonCleanseRules(options: CleanseOptions = {}): CleanseRules {
  const allowed = options.allowedChars ?? '-_:#';
  const tags = !allowed.includes(';');
  const classes = new Uint8Array(256).fill(IRREGULAR);
  for (let b = 0; b < 256; b++) {
    const c = String.fromCharCode(b);
    if (/[A-Za-z0-9]/.test(c) || allowed.includes(c)) classes[b] = KEEP;
  }
  // Separators and `;` are tested before the allowed characters (so `-c .` changes nothing), NUL is never allowed.
  classes[0] = NUL;
  classes[DOT] = DOT_SEP;
  classes[SPACE] = BLANK;
  classes[TAB] = BLANK;
  if (tags) classes[SEMICOLON] = TAG;
  // A line never holds CR or LF (they end it); should one slip in, it is an irregular byte.
  classes[CR] = IRREGULAR;
  classes[LF] = IRREGULAR;
  const maxInput = options.maxInputLength ?? CARBON_METRIC_BUFSIZ;
  return { classes, tags, maxLineBytes: maxInput - 1, maxNameBytes: options.maxMetricLength ?? maxInput };
}

/** carbon-c-relay's default cleansing. */
export const CARBON_CLEANSE: CleanseRules = carbonCleanseRules();

/** Where cleanseRange leaves the end of the name it found (a caller reuses one, nothing is allocated). */
export interface NameEnd {
  nameEnd: number;
}

/**
 * Cleanses the line in `bytes[start, end)` (no CR or LF in it) in place; returns the end of the
 * cleansed line (it starts at `start`), or -1 when carbon-c-relay drops the line. With `found`,
 * also where the name ends (as metricNameEnd would say), without a second pass.
 */
export function cleanseRange(bytes: Uint8Array, start: number, end: number, rules: CleanseRules = CARBON_CLEANSE, found?: NameEnd): number {
  const classes = rules.classes;
  let tags = rules.tags;
  let q = start; // next byte to write
  let nameEnd = -1; // carbon-c-relay's firstspace: where the name ended, -1 while it has not
  for (let p = start; p < end; p++) {
    const c = bytes[p]!;
    switch (classes[c]) {
      case KEEP:
        // a clean line only ever takes this branch with q === p: no write needed
        if (q !== p) bytes[q] = c;
        q++;
        break;
      case BLANK:
        if (q === start) break;
        if (nameEnd < 0) {
          if (bytes[q - 1] === DOT) q--;
          nameEnd = q;
          bytes[q++] = SPACE;
        } else if (bytes[q - 1] !== SPACE && q - 1 !== nameEnd) {
          bytes[q++] = SPACE;
        }
        break;
      case DOT_SEP:
        if (q === start) break;
        if (bytes[q - 1] !== DOT && q - 1 !== nameEnd) {
          if (q !== p) bytes[q] = DOT;
          q++;
        }
        break;
      case TAG:
        // only the first `;` of the line; later ones are ordinary bytes after the name's end
        if (tags) {
          tags = false;
          nameEnd = q;
        }
        if (q !== p) bytes[q] = c;
        q++;
        break;
      case IRREGULAR:
        bytes[q++] = nameEnd < 0 ? UNDERSCORE : c;
        break;
      default: // NUL
        bytes[q++] = UNDERSCORE;
    }
  }
  if (q === start || nameEnd < 0 || q - start > rules.maxLineBytes || nameEnd - start > rules.maxNameBytes) return -1;
  if (found !== undefined) found.nameEnd = nameEnd;
  return q;
}

/**
 * Cleanses `line` (one line, without its CR or LF) in place, as carbon-c-relay does; returns the
 * cleansed line (`line` itself when nothing changed, else a view of its start), or undefined when
 * carbon-c-relay drops it (a caller counts it as discarded).
 */
export function cleanseLine(line: Uint8Array, rules: CleanseRules = CARBON_CLEANSE): Uint8Array | undefined {
  const end = cleanseRange(line, 0, line.length, rules);
  if (end < 0) return undefined;
  return end === line.length ? line : line.subarray(0, end);
}

const indexOfByte = Buffer.prototype.indexOf as (this: Uint8Array, value: number, byteOffset: number) => number;

/**
 * Where the metric name of a cleansed line `bytes[start, end)` ends: at its first `;` (tags on),
 * else at its first space. The name is what match and rewrite expressions see and what consistent
 * hashing hashes; what `validate` sees starts one byte after. A tagged metric hashes without its tags.
 */
export function metricNameEnd(bytes: Uint8Array, start = 0, end = bytes.length, rules: CleanseRules = CARBON_CLEANSE): number {
  if (end === bytes.length) {
    // Buffer's indexOf is memchr; it runs to the array's end, which here is the line's
    const semicolon = rules.tags ? indexOfByte.call(bytes, SEMICOLON, start) : -1;
    if (semicolon >= 0) return semicolon;
    const space = indexOfByte.call(bytes, SPACE, start);
    return space < 0 ? end : space;
  }
  let space = -1;
  for (let i = start; i < end; i++) {
    const c = bytes[i]!;
    // a `;` anywhere (even after the first space) moved carbon-c-relay's name end onto itself
    if (rules.tags && c === SEMICOLON) return i;
    if (c === SPACE && space < 0) {
      if (!rules.tags) return i;
      space = i;
    }
  }
  return space < 0 ? end : space;
}

/**
 * Calls `line(start, end)` for each line of `bytes[start, end)` that a CR or LF ends (the
 * terminator excluded; empty lines too, which carbon-c-relay counts as discarded), in order.
 * Returns where the unterminated rest begins: a stream keeps it for its next bytes;
 * carbon-c-relay drops it at the end of a datagram and when a connection closes, and closes a
 * connection whose rest fills its read buffer (CARBON_METRIC_BUFSIZ - 1 bytes).
 */
export function splitCarbonLines(bytes: Uint8Array, start: number, end: number, line: (start: number, end: number) => void): number {
  let lineStart = start;
  for (let i = start; i < end; i++) {
    const c = bytes[i]!;
    if (c === LF || c === CR) {
      line(lineStart, i);
      lineStart = i + 1;
    }
  }
  return lineStart;
}
