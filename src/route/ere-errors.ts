/**
 * Why an expression does not compile, in glibc's terms: the regerror() text of each REG_* code
 * regcomp can return, so a message reads as carbon-c-relay's would for the same expression.
 */
import { RelayError } from '../errors.js';

const MESSAGES = {
  REG_BADPAT: 'Invalid regular expression',
  REG_ECOLLATE: 'Invalid collation character',
  REG_ECTYPE: 'Invalid character class name',
  REG_EESCAPE: 'Trailing backslash',
  REG_ESUBREG: 'Invalid back reference',
  REG_EBRACK: 'Unmatched [, [^, [:, [., or [=',
  REG_EPAREN: 'Unmatched ( or \\(',
  REG_EBRACE: 'Unmatched \\{',
  REG_BADBR: 'Invalid content of \\{\\}',
  REG_ERANGE: 'Invalid range end',
  REG_ESPACE: 'Memory exhausted',
  REG_BADRPT: 'Invalid preceding regular expression',
  REG_ESIZE: 'Regular expression too big',
} as const;

/** A regcomp error code, by its <regex.h> name. */
export type RegErrorName = keyof typeof MESSAGES;

/** glibc's numeric value of each code (what regcomp returns), for comparing with it. */
export const REG_ERROR_NUMBERS: Readonly<Record<RegErrorName, number>> = {
  REG_BADPAT: 2,
  REG_ECOLLATE: 3,
  REG_ECTYPE: 4,
  REG_EESCAPE: 5,
  REG_ESUBREG: 6,
  REG_EBRACK: 7,
  REG_EPAREN: 8,
  REG_EBRACE: 9,
  REG_BADBR: 10,
  REG_ERANGE: 11,
  REG_ESPACE: 12,
  REG_BADRPT: 13,
  REG_ESIZE: 15,
};

/** The error for expression `source` that regcomp refuses with `name`; `detail` says more when ours differs from glibc's. */
export function regexError(source: string, name: RegErrorName, detail?: string): RelayError {
  return new RelayError('ERR_CONFIG', `invalid regular expression '${source}': ${detail ?? MESSAGES[name]} (${name})`);
}

/** The regcomp code named at the end of a message made by regexError, if there is one. */
export function regErrorNameOf(message: string): RegErrorName | undefined {
  const name = /\((REG_[A-Z]+)\)$/.exec(message)?.[1];
  return name !== undefined && Object.hasOwn(MESSAGES, name) ? (name as RegErrorName) : undefined;
}

/** The error for expression `source` that glibc would accept but the relay does not (`what` says why). */
export function unsupportedError(source: string, what: string): RelayError {
  return new RelayError('ERR_CONFIG', `unsupported regular expression '${source}': ${what}`);
}
