/**
 * A routing rule's regular expression, compiled once: `test` on the hot path, `rewrite` for
 * rewrite rules. The dialect is POSIX extended (carbon-c-relay's and rsyslog's).
 */
import { RelayError } from '../errors.js';

/** A compiled expression (see the module comment). */
export interface Expression {
  /** True when the expression matches somewhere in `subject`. */
  test(subject: string): boolean;
  /** `subject` with the match replaced as carbon-c-relay's rewrite does; undefined when it does not match. */
  rewrite(subject: string, into: string): string | undefined;
}

/** Compiles `source`; a bad expression is a configuration error naming `where`. */
export function compileExpression(source: string, where: string): Expression {
  let regex: RegExp;
  try {
    regex = new RegExp(source);
  } catch (error) {
    throw new RelayError('ERR_CONFIG', `${where}: ${JSON.stringify(source)} is not a regular expression: ${(error as Error).message}`);
  }
  return {
    test: (subject) => regex.test(subject),
    rewrite: (subject, into) => {
      const m = regex.exec(subject);
      if (!m) return undefined;
      const expanded = into.replace(/\\([_^.]*)(\d)/g, (_all, mods: string, n: string) => {
        let v = m[Number(n)] ?? '';
        if (mods.includes('_')) v = v.toLowerCase();
        if (mods.includes('^')) v = v.toUpperCase();
        if (mods.includes('.')) v = v.replaceAll('.', '_');
        return v;
      });
      return subject.slice(0, m.index) + expanded + subject.slice(m.index + m[0].length);
    },
  };
}
