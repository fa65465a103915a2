/**
 * A routing rule's regular expression, compiled once: `test` on the hot path, `rewrite` for
 * rewrite rules. The dialect is POSIX extended, as glibc's regcomp(REG_EXTENDED) reads it in the C
 * locale (./posix-ere.ts): carbon-c-relay's, and rsyslog's. Messages are matched as bytes (latin1).
 */
import { RelayError } from '../errors.js';
import { PosixRegex } from './posix-ere.js';
import { expandParts, parseReplacement, type ReplacementPart } from './replacement.js';

/** A compiled expression (see the module comment). */
export interface Expression {
  /** True when the expression matches somewhere in `subject`. */
  test(subject: string): boolean;
  /**
   * `subject` with its first match replaced by `into` (parsed once) as carbon-c-relay's rewrite
   * does; undefined when it does not match (or when matching gives up on a pathological case).
   */
  rewrite(subject: string, into: string): string | undefined;
}

/** Compiles `source`; a bad expression is a configuration error naming `where`. */
export function compileExpression(source: string, where: string): Expression {
  let regex: PosixRegex;
  try {
    regex = PosixRegex.compile(source);
  } catch (error) {
    throw new RelayError('ERR_CONFIG', `${where}: ${(error as Error).message}`, { cause: error });
  }
  const templates = new Map<string, ReplacementPart[]>();
  return {
    test: (subject) => regex.test(subject),
    rewrite: (subject, into) => {
      let parts = templates.get(into);
      if (!parts) {
        parts = parseReplacement(into);
        templates.set(into, parts);
      }
      let match: ReturnType<PosixRegex['exec']>;
      try {
        match = regex.exec(subject);
      } catch {
        return undefined; // glibc would loop forever here: the message is left as it is
      }
      if (!match) return undefined;
      const [start, end] = match.pmatch[0]!;
      return subject.slice(0, start) + expandParts(parts, subject, match) + subject.slice(end);
    },
  };
}
