/**
 * Where the native addon lives: `prebuilds/<platform>-<arch>/relay_udp.<libc>.node` in the
 * package root (the layout of prebuildify, which node-gyp-build also reads). One place for both:
 * a clone's `npm run build:native` (native/build.mjs) compiles into it, and `npm pack` ships
 * what it holds, so an installed package needs no compiler and runs no install script.
 *
 * The libc tag tells a glibc build from a musl one (Alpine): both are linux-x64 but neither
 * loads on the other. The running Node says which it is linked against: its report header names
 * the glibc version only under glibc (the test detect-libc also uses).
 */
import path from 'node:path';

/** The addon's file name stem (binding.gyp's target_name). */
export const ADDON_NAME = 'relay_udp';

/** The C library of this process: 'glibc', 'musl', or '' off Linux (no tag then). */
export function runningLibc(): 'glibc' | 'musl' | '' {
  if (process.platform !== 'linux') return '';
  const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined;
  return report?.header?.glibcVersionRuntime ? 'glibc' : 'musl';
}

/** `linux-x64` for this process. */
export function platformTag(): string {
  return `${process.platform}-${process.arch}`;
}

/** The prebuilt addon for this platform and `libc` under the package root `root`. */
export function prebuildFile(root: string, libc: string = runningLibc()): string {
  const name = libc === '' ? `${ADDON_NAME}.node` : `${ADDON_NAME}.${libc}.node`;
  return path.join(root, 'prebuilds', platformTag(), name);
}
