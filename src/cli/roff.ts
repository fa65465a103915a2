/**
 * Text into roff (man(7)) input. Every character that troff would read as something else is
 * escaped: a backslash (troff's escape), a `.` or `'` opening a line (a control line), `-` (`\-`,
 * so option names and addresses stay ASCII hyphen-minus when copied from the page), the quotes and
 * `^`/`~` that groff typesets as curly or modifier characters (a copied shell line must keep them),
 * and every non-ASCII character (as `\[uXXXX]`, so groff needs no input encoding).
 */

const SPECIALS: Readonly<Record<string, string>> = {
  '\\': '\\e',
  '-': '\\-',
  "'": '\\(aq',
  '`': '\\(ga',
  '^': '\\(ha',
  '~': '\\(ti',
};

/** `text` escaped for use inside a roff line (not a whole line: see `line`). */
export function escapeRoff(text: string): string {
  let out = '';
  for (const char of text) {
    const code = char.codePointAt(0)!;
    out += SPECIALS[char] ?? (code > 0x7e ? `\\[u${code.toString(16).toUpperCase().padStart(4, '0')}]` : char);
  }
  return out;
}

/** Makes `escaped` (already escaped) safe as a whole text line: a leading `.` or `'` would make it a request. */
export function line(escaped: string): string {
  return /^[.']/.test(escaped) ? `\\&${escaped}` : escaped;
}

/** `text` in bold (literal text: option names, commands, file names). */
export function bold(text: string): string {
  return `\\fB${escapeRoff(text)}\\fR`;
}

/** `text` in italics (a placeholder the user replaces). */
export function italic(text: string): string {
  return `\\fI${escapeRoff(text)}\\fR`;
}

/**
 * Prose with `code` spans (the settings table's and the page's own texts use README Markdown's
 * backticks) as one escaped roff fragment: the spans in bold, whitespace runs (line breaks
 * included) as one space, so a paragraph is one text line.
 */
export function prose(text: string): string {
  return text
    .trim()
    .replace(/\s+/g, ' ')
    .split('`')
    .map((part, i) => (i % 2 === 1 ? bold(part) : escapeRoff(part)))
    .join('');
}

/**
 * A command-line term as commander prints it (`--buffer <size>`, `-q, --quiet`, `--check-config [file]`,
 * `relay sink [options] <listen>`): names in bold, placeholders (`<size>`, and a word in brackets) in
 * italics, brackets and `...` kept.
 */
export function term(text: string): string {
  return text
    .split(' ')
    .map((word) => termWord(word, false))
    .join(' ');
}

function termWord(word: string, placeholder: boolean): string {
  const optional = /^\[(.*)\]$/.exec(word);
  if (optional) return `[${termWord(optional[1]!, true)}]`;
  // `<dir>/.relay.lock`: placeholders inside a word, the rest as the word is.
  return word
    .split(/(<[^>]*>)/)
    .filter((part) => part !== '')
    .map((part) => (part.startsWith('<') ? placeholderText(part.slice(1, -1)) : placeholder ? placeholderText(part) : bold(part)))
    .join('');
}

/** `runs.jsonl...` as the placeholder in italics and its `...` upright. */
function placeholderText(name: string): string {
  const dots = name.endsWith('...') ? '...' : '';
  return `${italic(name.slice(0, name.length - dots.length))}${dots}`;
}

/** A literal block (`.EX`/`.EE`: no filling, a fixed-width font), indented: each line escaped and guarded. */
export function example(lines: readonly string[]): string[] {
  return ['.RS 4', '.EX', ...lines.map((text) => line(escapeRoff(text))), '.EE', '.RE'];
}
