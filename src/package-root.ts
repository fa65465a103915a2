/**
 * Where the package is installed: the directory holding its package.json, found by walking up
 * from a module's own place. Compiled modules live at different depths (dist/… for the product,
 * dist-test/src/… when the tests compile the sources), so no module counts `../` to reach it.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The nearest directory at or above `start` that holds a package.json, or undefined. */
export function findPackageRoot(start: string): string | undefined {
  let dir = path.resolve(start);
  for (;;) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/** This package's root (the directory of relay's package.json); throws if there is none above this module. */
export function packageRoot(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const root = findPackageRoot(here);
  if (root === undefined) throw new Error(`no package.json above ${here}`);
  return root;
}
