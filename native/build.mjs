/**
 * A clone's native build, run by `npm install` (the root project's `prepare`, after tsc) and by
 * `npm run build:native`: builds the native UDP addon with node-gyp, checks that it loads, and
 * puts it where the loader and `npm pack` take it from (src/native/prebuild.ts:
 * prebuilds/linux-x64/relay_udp.glibc.node). Where Debian's musl toolchain is installed
 * (musl-gcc), it also compiles the same sources for musl (relay_udp.musl.node), so that the
 * package runs natively on Alpine too. An installed package runs none of this: it carries the
 * prebuilt files.
 *
 * It never fails the install: when the addon cannot be built (not Linux, no compiler, no
 * node-gyp, no headers...) it prints one line saying why and exits 0, and the relay uses
 * node:dgram. The full output of a failed build is kept in build/native-build.log.
 *
 * RELAY_SKIP_NATIVE_BUILD=1 skips the build.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// Built by tsc before this runs (package.json's prepare and build:native).
const { prebuildFile, runningLibc } = await import(path.join(root, 'dist', 'native', 'prebuild.js'));
const addon = path.join(root, 'build', 'Release', 'relay_udp.node');
const log = path.join(root, 'build', 'native-build.log');
/** node-gyp below npm: <npm>/node_modules/node-gyp/bin/node-gyp.js */
const GYP_IN_NPM = path.join('node_modules', 'node-gyp', 'bin', 'node-gyp.js');

function notBuilt(reason) {
  process.stderr.write(`relay: native UDP addon not built (${reason}); the relay will use the slower node:dgram path\n`);
  process.exit(0);
}

function writeLog(output) {
  try {
    mkdirSync(path.dirname(log), { recursive: true });
    writeFileSync(log, output);
  } catch {
    // No log then; the reason line still says what failed.
  }
}

/** The first existing file among `candidates`, or undefined. */
function firstFile(candidates) {
  return candidates.find((file) => file !== undefined && existsSync(file));
}

/** Directories of PATH holding `name`, resolved through symlinks. */
function onPath(name) {
  const found = [];
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir === '') continue;
    const file = path.join(dir, name);
    if (existsSync(file)) {
      try {
        found.push(realpathSync(file));
      } catch {
        // A dangling link: skip it.
      }
    }
  }
  return found;
}

/**
 * How to run node-gyp: npm_config_node_gyp (npm sets it for lifecycle scripts), else the copy
 * bundled with the running npm, else the one bundled with the npm installed next to this node,
 * else `node-gyp` on PATH. Returns [command, leading args] or undefined.
 */
function findNodeGyp() {
  const script = firstFile([
    process.env.npm_config_node_gyp,
    // npm_execpath: <npm>/bin/npm-cli.js when run by npm.
    process.env.npm_execpath && path.join(path.dirname(process.env.npm_execpath), '..', GYP_IN_NPM),
    // npm on PATH, e.g. /usr/bin/npm -> /usr/lib/node_modules/npm/bin/npm-cli.js
    ...onPath('npm').map((npm) => path.join(path.dirname(npm), '..', GYP_IN_NPM)),
    path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', GYP_IN_NPM),
  ]);
  if (script !== undefined) return [process.execPath, [script]];
  const bin = onPath('node-gyp')[0];
  return bin === undefined ? undefined : [bin, []];
}

/**
 * --nodedir for the headers installed with this node (<prefix>/include/node), so that the build
 * needs no download. Left to node-gyp when npm already passes a nodedir.
 */
function nodedirArgs() {
  if (process.env.npm_config_nodedir) return [];
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  const headers = path.join(prefix, 'include', 'node');
  return existsSync(path.join(headers, 'node_api.h')) && existsSync(path.join(headers, 'common.gypi')) ? [`--nodedir=${prefix}`] : [];
}

/** The most telling line of a failed node-gyp run. */
function reasonOf(output, status) {
  const lines = output
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  const compiler = lines.find((l) => /\berror\b/i.test(l) && !l.startsWith('gyp'));
  const gyp =
    lines.find((l) => l.startsWith('gyp ERR! stack Error:')) ??
    lines.find((l) => l.startsWith('gyp ERR!') && !/not ok|System|command|cwd|node -v|node-gyp -v/.test(l));
  const detail = (compiler ?? gyp ?? '').replace(/^gyp ERR! (stack )?/, '');
  return `node-gyp exited with code ${status}${detail ? `: ${detail}` : ''}; see build/native-build.log`;
}

function main() {
  if (process.env.RELAY_SKIP_NATIVE_BUILD === '1') notBuilt('RELAY_SKIP_NATIVE_BUILD=1');
  if (process.platform !== 'linux') notBuilt(`not supported on ${process.platform}, Linux only`);
  const gyp = findNodeGyp();
  if (gyp === undefined) notBuilt('node-gyp not found');
  const [command, lead] = gyp;
  const run = spawnSync(command, [...lead, 'rebuild', ...nodedirArgs()], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 10 * 60 * 1000,
    maxBuffer: 64 * 1024 * 1024,
  });
  const output = `${run.stdout ?? ''}${run.stderr ?? ''}`;
  if (run.error !== undefined || run.status !== 0) {
    writeLog(output);
    if (run.error !== undefined) notBuilt(`cannot run node-gyp: ${run.error.message}`);
    notBuilt(run.status === null ? `node-gyp killed by ${run.signal}` : reasonOf(output, run.status));
  }
  if (!existsSync(addon)) notBuilt(`node-gyp succeeded but ${path.relative(root, addon)} is missing`);
  try {
    const loaded = createRequire(import.meta.url)(addon);
    if (typeof loaded.udpOpen !== 'function') throw new Error('udpOpen missing');
  } catch (error) {
    notBuilt(`built but cannot be loaded: ${String(error?.message ?? error).split('\n')[0]}`);
  }
  const target = prebuildFile(root);
  mkdirSync(path.dirname(target), { recursive: true });
  copyFileSync(addon, target);
  if (runningLibc() === 'glibc' && process.arch === 'x64') buildMusl();
}

/**
 * The musl build of the same sources (binding.gyp's list and flags), with Debian's musl-gcc and
 * this node's headers; skipped in one line without them. N-API and libuv symbols stay undefined
 * in the object: a musl node provides them when it loads the addon, as a glibc one does.
 */
function buildMusl() {
  const target = prebuildFile(root, 'musl');
  rmSync(target, { force: true });
  const compiler = onPath('musl-gcc')[0];
  const headers = path.join(path.dirname(process.execPath), '..', 'include', 'node');
  if (compiler === undefined || !existsSync(path.join(headers, 'node_api.h'))) {
    process.stderr.write(
      `relay: musl addon not built (${compiler === undefined ? 'no musl-gcc: apt-get install musl-tools' : `no node headers in ${headers}`})\n`,
    );
    return;
  }
  const gyp = JSON.parse(readFileSync(path.join(root, 'binding.gyp'), 'utf8')).targets[0];
  const args = ['-shared', '-fPIC', '-O2', ...gyp.cflags, ...gyp.defines.map((d) => `-D${d}`), `-I${headers}`, ...gyp.sources, '-o', target];
  const run = spawnSync(compiler, args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 5 * 60 * 1000 });
  if (run.status !== 0) {
    writeLog(`${run.stdout ?? ''}${run.stderr ?? ''}${run.error?.message ?? ''}`);
    rmSync(target, { force: true });
    process.stderr.write(`relay: musl addon not built (musl-gcc exited with ${run.status ?? run.signal}; see build/native-build.log)\n`);
  }
}

try {
  main();
} catch (error) {
  notBuilt(String(error?.message ?? error).split('\n')[0]);
}
