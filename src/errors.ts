/**
 * The one error type of the relay. Configuration and startup errors throw it; the CLI's top-level
 * handler prints `relay: <message>` on stderr and exits with `exitCode`. Hot paths never throw:
 * they return and count (hot path returns, cold path throws).
 */

/** Stable codes: scripts and tests may match on them. */
export type RelayErrorCode =
  | 'ERR_BAD_ADDRESS' // a listener or destination that does not parse
  | 'ERR_BAD_OPTION' // an option value out of range or malformed
  | 'ERR_BIND' // a listener could not bind
  | 'ERR_FRAMING' // bytes on a framed TCP stream that are not a valid frame
  | 'ERR_SPILL' // the spill directory cannot be used
  | 'ERR_INTERNAL';

/** Exit codes: 2 for anything the user typed wrong, 1 for what failed at run time. */
const EXIT_CODES: Record<RelayErrorCode, number> = {
  ERR_BAD_ADDRESS: 2,
  ERR_BAD_OPTION: 2,
  ERR_BIND: 1,
  ERR_FRAMING: 1,
  ERR_SPILL: 1,
  ERR_INTERNAL: 1,
};

export class RelayError extends Error {
  readonly code: RelayErrorCode;
  readonly exitCode: number;

  constructor(code: RelayErrorCode, message: string) {
    super(message);
    this.name = 'RelayError';
    this.code = code;
    this.exitCode = EXIT_CODES[code];
  }
}
