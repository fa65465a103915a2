/**
 * The tokens of carbon-c-relay 3.7's configuration language, cut exactly as its flex scanner cuts
 * them (its conffile.l describes the behaviour; this is our own code). That scanner has a state per
 * clause, so which words are keywords depends on where they stand: `stop` is a keyword after
 * `send to` but an expression after `match`, `2003` is a number where a count may stand and a
 * string elsewhere, and a name that is a keyword there must be quoted (`cluster "stop" …`).
 * Like flex, at each position every rule of the current state is tried and the longest match wins,
 * the earlier rule on a tie. Its surprises are kept, since they decide what carbon-c-relay accepts:
 * - `#` to the end of the line is a comment anywhere, also at the start of a quoted string or right
 *   after an escape in one; a `#` comment needs its newline (one on the last line without is an error).
 * - An unquoted string is a run of [a-zA-Z0-9[](){}|\^?*$&%<>:/,._+-], and may hold `\ ` (kept as
 *   written) between two such runs. Quoted, `\x` is x (the backslash goes) and `;` is plain text; a
 *   newline ends it with an error unless several come together (then they vanish); at most 1023 bytes.
 * Text is one char per byte (latin1); the scan stops at a NUL, as carbon-c-relay reads a C string.
 */

/** What a token is: a keyword (its word), `;`, `=`, `*`, a string, a number, an unexpected byte or the end. */
export type TokenKind = string;

export interface Token {
  kind: TokenKind;
  /** The string's value (escapes resolved), the number's digits, the keyword or the unexpected byte. */
  text: string;
  /** 1-based line of the token's first byte. */
  line: number;
}

export const STRING = 'string';
export const INTVAL = 'number';
export const UNEXPECTED = 'unexpected';
export const END = 'end of file';

type State = 'INITIAL' | 'cl' | 'ma' | 're' | 'ag' | 'se' | 'st' | 'li' | 'qu' | 'idcl' | 'idma' | 'idag' | 'idin' | 'idli';

/** What a rule does when it wins: the token it returns (none: skip), the state it enters, the state a string then returns to. */
interface Action {
  token?: TokenKind | typeof STRING | typeof INTVAL | typeof UNEXPECTED;
  begin?: State;
  /** identstate: where the scanner goes after the next string of an id* state. */
  ident?: State;
  /** Special handling: a quoted string's parts, or the return to `ident` after an unquoted string. */
  special?: 'open' | 'close' | 'newline' | 'escape' | 'chars' | 'string';
}

interface Rule {
  states: readonly State[] | '*';
  pattern: RegExp;
  action: Action;
}

const ID_STATES: readonly State[] = ['idcl', 'idma', 'idag', 'idin', 'idli'];
const IDCHR = String.raw`[a-zA-Z0-9\[\](){}|\\^?*$&%<>:/,._+-]`;

const RULES: Rule[] = [];
function rule(states: readonly State[] | '*', pattern: string | RegExp, action: Action = {}): void {
  const source = typeof pattern === 'string' ? pattern.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&') : pattern.source;
  RULES.push({ states, pattern: new RegExp(source, 'y'), action });
}
/** Keywords that return themselves, in one state, in conffile.l's order. */
function keywords(states: readonly State[], words: string, action: Action = {}): void {
  for (const word of words.split(' ')) rule(states, word, { token: word, ...action });
}

// The rules in conffile.l's order (ties go to the earlier one).
keywords(['INITIAL'], 'cluster', { ident: 'cl', begin: 'idcl' });
keywords(['cl'], 'forward any_of failover', { ident: 'idcl', begin: 'idcl' });
keywords(['idcl'], 'useall');
keywords(['cl'], 'carbon_ch fnv1a_ch jump_fnv1a_ch', { ident: 'idcl', begin: 'idcl' });
keywords(['idcl'], 'replication dynamic');
keywords(['cl'], 'file', { ident: 'idcl', begin: 'idcl' });
keywords(['idcl'], 'ip proto udp tcp type linemode syslog transport plain gzip lz4 snappy ssl =');
keywords(['INITIAL'], 'match', { ident: 'idma', begin: 'idma' });
keywords(['idma'], '*');
keywords(['idma'], 'validate', { ident: 'ma', begin: 'idma' });
keywords(['ma'], 'else log drop');
keywords(['ma', 'idma'], 'route', { begin: 'ma' });
keywords(['ma'], 'using', { ident: 'ma', begin: 'idma' });
keywords(['ma', 'idma'], 'send', { begin: 'ma' });
keywords(['ma'], 'to', { ident: 'idcl', begin: 'idcl' });
keywords(['idcl'], 'blackhole');
keywords(['ma', 'idcl'], 'stop');
keywords(['INITIAL'], 'rewrite', { ident: 're', begin: 'idma' });
keywords(['re'], 'into', { ident: 're', begin: 'idma' });
keywords(['INITIAL'], 'aggregate', { ident: 'idag', begin: 'idag' });
keywords(['idag'], 'every', { begin: 'ag' });
keywords(['ag'], 'seconds expire after timestamp at start middle end of bucket compute summary sum count cnt maximum max minimum min average avg median');
rule(['ag'], /percentile[0-9]*/, { token: 'percentile' });
keywords(['ag'], 'variance stddev write');
keywords(['ag'], 'to', { ident: 'ag', begin: 'idag' });
keywords(['ag'], 'send', { begin: 'ma' });
keywords(['INITIAL'], 'send', { begin: 'se' });
keywords(['se'], 'statistics', { begin: 'ma' });
keywords(['INITIAL'], 'statistics', { begin: 'st' });
keywords(['st'], 'submit every seconds reset counters after interval prefix');
keywords(['st'], 'with', { ident: 'st', begin: 'idag' });
keywords(['st'], 'send', { begin: 'ma' });
keywords(['INITIAL'], 'listen', { begin: 'li' });
keywords(['li'], 'type');
keywords(['li'], 'linemode', { ident: 'li', begin: 'idli' });
keywords(['idli'], 'transport plain');
keywords(['idli'], 'gzip lz4 snappy', { ident: 'li', begin: 'idli' });
keywords(['idli'], 'ssl', { ident: 'idli', begin: 'idli' });
keywords(['li', 'idli'], 'proto', { begin: 'li' });
keywords(['li'], 'udp tcp unix', { ident: 'li', begin: 'idli' });
keywords(['INITIAL'], 'include', { ident: 'INITIAL', begin: 'idin' });
rule(ID_STATES, '"', { special: 'open' });
rule(['qu'], '"', { special: 'close' });
rule(['qu'], '\n', { special: 'newline' });
rule(['qu'], /\\[^\n]/, { special: 'escape' });
rule(['qu'], /[^\\\n"]+/, { special: 'chars' });
rule('*', /#[^\n]*\n/);
rule('*', /[ \t\r]+/);
rule('*', /\n+/);
rule(['idcl', 'ag', 'st'], /[0-9]+/, { token: INTVAL });
// {IDCHR}+(\\[ ]{IDCHR}+)*, written so that the first match JavaScript finds is the longest
rule(ID_STATES, new RegExp(`${IDCHR}(?:\\\\ ${IDCHR}|${IDCHR})*`), { token: STRING, special: 'string' });
rule('*', ';', { token: ';', begin: 'INITIAL' });
rule('*', /[^\n]/, { token: UNEXPECTED });

const RULES_OF = new Map<State, Rule[]>();
for (const state of ['INITIAL', 'cl', 'ma', 're', 'ag', 'se', 'st', 'li', 'qu', ...ID_STATES] as State[]) {
  RULES_OF.set(
    state,
    RULES.filter((r) => r.states === '*' || r.states.includes(state)),
  );
}

/** The longest quoted string carbon-c-relay takes: its buffer is 1024 bytes with the NUL. */
const MAX_QUOTED_BYTES = 1023;

/** A scanner error: carbon-c-relay's message for it, at `line`. */
export class LexError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(message);
  }
}

/** Cuts `text` into tokens on demand, one at a time, as carbon-c-relay's scanner does. */
export class CarbonLexer {
  private readonly text: string;
  private pos = 0;
  private line = 1;
  private state: State = 'INITIAL';
  private identState: State = 'INITIAL';
  /** The quoted string being read (in state qu), and the line it began on. */
  private quoted = '';
  private quoteLine = 0;

  constructor(text: string) {
    const nul = text.indexOf('\0');
    this.text = nul < 0 ? text : text.slice(0, nul);
  }

  /** The next token (END at the end, again and again); throws LexError for a bad quoted string. */
  next(): Token {
    for (;;) {
      if (this.pos >= this.text.length) {
        if (this.state === 'qu') throw new LexError('unterminated string', this.line);
        return { kind: END, text: '', line: this.line };
      }
      const { rule: won, length } = this.longest();
      const matched = this.text.slice(this.pos, this.pos + length);
      const line = this.line;
      this.pos += length;
      for (const c of matched) if (c === '\n') this.line++;
      const action = won.action;
      switch (action.special) {
        case 'open':
          this.quoted = '';
          this.quoteLine = line;
          this.state = 'qu';
          continue;
        case 'close':
          if (this.quoted === '') throw new LexError('empty string', line);
          this.state = this.identState;
          return { kind: STRING, text: this.quoted, line: this.quoteLine };
        case 'newline':
          throw new LexError('unterminated string', line);
        case 'escape':
        case 'chars':
          this.quoted += action.special === 'escape' ? matched.slice(1) : matched;
          if (this.quoted.length > MAX_QUOTED_BYTES) throw new LexError('string too large', line);
          continue;
        case 'string':
          this.state = this.identState;
          return { kind: STRING, text: matched, line };
      }
      if (action.ident !== undefined) this.identState = action.ident;
      if (action.begin !== undefined) this.state = action.begin;
      if (action.token !== undefined) return { kind: action.token, text: matched, line };
    }
  }

  /** flex's choice at the current position: the longest match, the earlier rule on a tie. */
  private longest(): { rule: Rule; length: number } {
    let best: Rule | undefined;
    let bestLength = 0;
    for (const r of RULES_OF.get(this.state)!) {
      r.pattern.lastIndex = this.pos;
      const m = r.pattern.exec(this.text);
      if (m !== null && m[0].length > bestLength) {
        best = r;
        bestLength = m[0].length;
      }
    }
    // the last rule matches any byte but a newline, and `\n+` matches a newline in every state
    return { rule: best!, length: bestLength };
  }
}

/** A number token's value as conffile.l takes it, with glibc's atoi (strtol clamped to a 64-bit long, cut to an int): `replication 4294967297` is 1. */
export function atoi(digits: string): number {
  const max = (1n << 63n) - 1n;
  const value = BigInt(digits);
  return Number(BigInt.asIntN(32, value > max ? max : value));
}
