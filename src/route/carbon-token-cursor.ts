/**
 * The parser's side of carbon-c-relay's tokens: one token of lookahead over carbon-lexer.ts, and
 * the errors of a configuration, each one line `FILE:LINE: message` (RelayError ERR_CONFIG).
 */
import { RelayError } from '../errors.js';
import type { CarbonSource } from './carbon-types.js';
import { CarbonLexer, END, INTVAL, LexError, STRING, type Token, UNEXPECTED } from './carbon-lexer.js';

/** The one error of a carbon-c-relay config: `FILE:LINE: message`. */
export function configError(at: CarbonSource, message: string): RelayError {
  return new RelayError('ERR_CONFIG', `${at.file}:${at.line}: ${message}`);
}

/** The refusal of a construct carbon-c-relay has and the relay does not. */
export function unsupported(at: CarbonSource, construct: string, why: string): RelayError {
  return configError(at, `${construct} is not supported (${why})`);
}

/** How an error names a token. */
function describe(token: Token): string {
  switch (token.kind) {
    case STRING:
      return `'${token.text}'`;
    case INTVAL:
      return `number ${token.text}`;
    case END:
      return 'end of file';
    case UNEXPECTED:
      return `unexpected '${token.text}'`;
    default:
      return /^[a-z_]+$/.test(token.kind) ? `keyword '${token.kind}'` : `'${token.kind}'`;
  }
}

/** One token of lookahead over a file's tokens, with the helpers a recursive-descent parser needs. */
export class TokenCursor {
  private readonly lexer: CarbonLexer;
  protected token: Token;

  constructor(
    text: string,
    protected readonly file: string,
  ) {
    this.lexer = new CarbonLexer(text);
    this.token = this.read();
  }

  protected at(token: Token): CarbonSource {
    return { file: this.file, line: token.line };
  }

  private read(): Token {
    try {
      return this.lexer.next();
    } catch (error) {
      if (error instanceof LexError) throw configError({ file: this.file, line: error.line }, error.message);
      throw error;
    }
  }

  /** Whether the current token is of `kind` (a method: TypeScript must not narrow across advance()). */
  protected is(kind: string): boolean {
    return this.token.kind === kind;
  }

  protected kind(): string {
    return this.token.kind;
  }

  /** Consumes the current token, returning it. */
  protected advance(): Token {
    const token = this.token;
    this.token = this.read();
    return token;
  }

  /** Consumes a token of `kind`, or throws naming what was `expected`. */
  protected expect(kind: string, expected: string): Token {
    if (this.token.kind !== kind) throw this.syntax(expected);
    return this.advance();
  }

  protected syntax(expected: string): RelayError {
    const hint = this.token.kind === UNEXPECTED && this.token.text === '#' ? ' (a comment on the last line needs a newline)' : '';
    return configError(this.at(this.token), `expected ${expected}, found ${describe(this.token)}${hint}`);
  }
}
