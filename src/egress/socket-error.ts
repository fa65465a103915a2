/** Socket errors as the relay reports them: one line each, for the egress connection and `relay sink` alike. */

/** A socket error; OpenSSL errors (code ERR_SSL_*) carry OpenSSL's short `reason` beside a long message. */
export type SocketError = NodeJS.ErrnoException & { reason?: string };

/** One line for a socket error: OpenSSL's short reason rather than its long error string, and the code when the text lacks it. */
export function describeError(error: SocketError): string {
  const text = (error.code?.startsWith('ERR_SSL_') && error.reason ? error.reason : error.message).replace(/\s+/g, ' ').replace(/[\s:]+$/, '');
  return error.code && !text.includes(error.code) ? `${text} (${error.code})` : text;
}
