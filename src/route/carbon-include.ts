/**
 * Reading the files of a carbon-c-relay `include PATH_OR_GLOB;` as carbon-c-relay 3.7 does
 * (router_readconfig): a path relative to the working directory, not to the including file; a
 * glob when the path holds `*`, `?`, or both `[` and `]`, whose matches are read in byte order,
 * with no match an error; only regular files. Node 20 has no fs.glob: wildcards may stand in the
 * last path component only (glob(3) takes them anywhere; a wildcard directory is refused).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

/** One file an include brought in: its path as carbon-c-relay names it, and its text (latin1, one char per byte). */
export interface IncludedFile {
  file: string;
  text: string;
}

/** Whether carbon-c-relay takes `pattern` as a glob. */
export function isGlob(pattern: string): boolean {
  return pattern.includes('*') || pattern.includes('?') || (pattern.includes('[') && pattern.includes(']'));
}

/** fnmatch(3) of one path component without flags, as a RegExp: `*`, `?`, `[…]` (`!` or `^` negates), `\x`; a leading dot must be matched by a dot. */
export function globComponent(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') source += '[^/]*';
    else if (c === '?') source += '[^/]';
    else if (c === '\\' && i + 1 < pattern.length) source += escapeRegex(pattern[++i]!);
    else if (c === '[') {
      let j = i + 1;
      const negate = pattern[j] === '!' || pattern[j] === '^';
      if (negate) j++;
      let members = '';
      // a `]` first in the set is a member; an unterminated `[` is a plain `[`
      for (let first = true; j < pattern.length && (first || pattern[j] !== ']'); j++, first = false) {
        const m = pattern[j]!;
        members += m === '-' && !first && pattern[j + 1] !== ']' ? '-' : escapeRegex(m);
      }
      if (j >= pattern.length) source += '\\[';
      else {
        source += `[${negate ? '^' : ''}${members}]`;
        i = j;
      }
    } else source += escapeRegex(c);
  }
  const dotFirst = pattern.startsWith('.');
  return new RegExp(`^${dotFirst ? '' : '(?!\\.)'}${source}$`, 's');
}

function escapeRegex(c: string): string {
  return c.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
}

function readRegular(file: string, absolute: string): IncludedFile {
  if (!statSync(absolute).isFile()) throw new Error(`'${file}' is not a regular file`);
  return { file, text: readFileSync(absolute, 'latin1') };
}

/**
 * The files of `include pattern;` (`glob` false: one file by that name), read relative to `cwd`;
 * throws with a one-line reason. Synchronous, as reading the TOML file is: a configuration is read
 * at start and at SIGHUP, whole, before anything changes.
 */
export function readIncluded(pattern: string, cwd: string, glob = true): IncludedFile[] {
  try {
    if (!glob || !isGlob(pattern)) return [readRegular(pattern, path.resolve(cwd, pattern))];
    const slash = pattern.lastIndexOf('/');
    const dirPart = pattern.slice(0, slash + 1);
    if (isGlob(dirPart)) throw new Error('wildcards in a directory are not supported, only in the last path component');
    const regex = globComponent(pattern.slice(slash + 1));
    const dir = path.resolve(cwd, dirPart === '' ? '.' : dirPart);
    // glob(3) sorts with strcoll; carbon-c-relay runs in the C locale: byte order
    const names = readdirSync(dir)
      .filter((name) => regex.test(name))
      .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    if (names.length === 0) throw new Error('no file matches');
    const files: IncludedFile[] = [];
    for (const name of names) files.push(readRegular(dirPart + name, path.join(dir, name)));
    return files;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw code === undefined ? error : new Error(`cannot read it (${code})`, { cause: error });
  }
}
