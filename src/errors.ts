/**
 * The one error type of the relay. Configuration and startup errors throw it; the CLI's top-level
 * handler prints `relay: <message>` on stderr and exits with `exitCode`. Hot paths never throw:
 * they return and count (hot path returns, cold path throws). A RelayError that wraps another
 * error keeps it as `cause` (ES2022), for a debugger or a test; the printed line is only the message.
 */

/** Stable codes, one per kind of failure: scripts and tests may match on them. */
export type RelayErrorCode =
  | 'ERR_BAD_ADDRESS' // a listener or destination that does not parse
  | 'ERR_BAD_OPTION' // an option value out of range or malformed
  | 'ERR_CONFIG' // the --config file cannot be read, is not TOML, or holds a key the relay does not know
  | 'ERR_TLS_FILE' // a TLS certificate, key or CA file that cannot be read or does not parse
  | 'ERR_BIND' // a listener (the relay's or relay sink's) could not bind
  | 'ERR_RESOLVE' // a host name that does not resolve (a listener's, relay sink's or relay send's)
  | 'ERR_METRICS_BIND' // the --metrics HTTP endpoint could not bind
  | 'ERR_TOP_FETCH' // relay top could not read the relay's /stats
  | 'ERR_FRAMING' // bytes on a framed TCP stream that are not a valid frame
  | 'ERR_RELP' // bytes on a RELP connection that are not a valid RELP frame, or a peer breaking the protocol
  | 'ERR_SPILL' // the spill directory cannot be used
  | 'ERR_CLUSTER' // a consistent-hash cluster that cannot be built (members, instances, replication)
  | 'ERR_INTERNAL'; // a bug or an unexpected failure: a thread died or broke the protocol

/** Exit codes: 2 for anything the user typed wrong, 1 for what failed at run time. */
export const EXIT_CODES: Readonly<Record<RelayErrorCode, number>> = {
  ERR_BAD_ADDRESS: 2,
  ERR_BAD_OPTION: 2,
  ERR_CONFIG: 2,
  ERR_TLS_FILE: 2,
  ERR_BIND: 1,
  ERR_RESOLVE: 1,
  ERR_METRICS_BIND: 1,
  ERR_TOP_FETCH: 1,
  ERR_FRAMING: 1,
  ERR_RELP: 1,
  ERR_SPILL: 1,
  ERR_CLUSTER: 2,
  ERR_INTERNAL: 1,
};

/** Whether `code` (e.g. from a thread's message) is one of ours. */
export function isRelayErrorCode(code: string): code is RelayErrorCode {
  return Object.hasOwn(EXIT_CODES, code);
}

export class RelayError extends Error {
  readonly code: RelayErrorCode;
  readonly exitCode: number;

  constructor(code: RelayErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RelayError';
    this.code = code;
    this.exitCode = EXIT_CODES[code];
  }
}
