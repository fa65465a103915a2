/**
 * The package as a user gets it (issue 27): `npm pack` of this checkout, installed with install
 * scripts disabled (as npm 12, pnpm, Yarn Berry and Bun install) into a temporary prefix. The
 * tarball holds what runs and nothing else; the installed `udp-fanout` relays end to end on the
 * native path, with the addon that came prebuilt inside the tarball; without a prebuilt addon for
 * the platform it says so in one line and how to get one.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { findPackageRoot } from '../../src/package-root.js';
import { platformTag, prebuildFile } from '../../src/native/prebuild.js';
import { findExecutable } from '../helpers/haproxy.js';
import { numbered, sequence } from '../helpers/numbered.js';
import { hostPortOf, RelayProcess } from '../helpers/relay-process.js';
import { assertRun } from '../helpers/reload-config.js';
import { stopRelayAndSinks, TestSink } from '../helpers/sinks.js';
import { sendWindowed } from '../helpers/udp-sender.js';

const run = promisify(execFile);
const root = findPackageRoot(path.dirname(new URL(import.meta.url).pathname))!;
/** The second pass of npm test (RELAY_NATIVE_UDP=0) is about node:dgram in a clone; this file is about the native path of a package. */
const secondPass = process.env.RELAY_NATIVE_UDP === '0';
let dir = '';
let files: string[] = [];
let packedManifest: { scripts?: Record<string, string>; gypfile?: boolean; bin?: Record<string, string> } = {};
/** The installed package's directory and its commands. */
let installed = '';
let bin = '';
/** Where npm links the manual page (package.json's man). */
let manPage = '';

before(async () => {
  if (secondPass) return;
  dir = await mkdtemp(path.join(os.tmpdir(), 'relay-package-'));
  // The build (dist/, prebuilds/) is what npm install made in this clone; pack only packs it.
  const { stdout } = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], { cwd: root, maxBuffer: 16 << 20 });
  const [packed] = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[];
  files = packed!.files.map((f) => f.path);
  const tarball = path.join(dir, packed!.filename);
  const prefix = path.join(dir, 'prefix');
  await run('npm', ['install', '--global', '--prefix', prefix, '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline', tarball], { cwd: dir });
  installed = path.join(prefix, 'lib', 'node_modules', 'udp-fanout');
  bin = path.join(prefix, 'bin');
  manPage = path.join(prefix, 'share', 'man', 'man1', 'relay.1');
  packedManifest = JSON.parse(await readFile(path.join(installed, 'package.json'), 'utf8'));
});

after(async () => {
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

/** Runs an installed command without RELAY_NATIVE_UDP (the user's environment has none). */
function spawnInstalled(command: string, args: string[]): RelayProcess {
  const env = { ...process.env };
  delete env.RELAY_NATIVE_UDP;
  return new RelayProcess(spawn(path.join(bin, command), args, { stdio: ['ignore', 'pipe', 'pipe'], env }));
}

test('npm pack: the commands, the build and the prebuilt addons; no sources, tests, maps or install scripts', (t) => {
  if (secondPass) return t.skip('packs once, on the first pass');
  for (const needed of ['bin/relay', 'dist/cli/main.js', 'dist/main/relay.js', 'man/relay.1', 'README.md', 'LICENSE', 'package.json']) {
    assert.ok(files.includes(needed), `${needed} is not in the tarball`);
  }
  assert.ok(files.includes(path.relative(root, prebuildFile(root, 'glibc'))), 'no prebuilt glibc addon in the tarball');
  // The musl build needs Debian's musl-tools (.ci/run installs it).
  if (findExecutable('musl-gcc', 'MUSL_GCC') !== undefined || process.env.CI === 'true') {
    assert.ok(files.includes(path.relative(root, prebuildFile(root, 'musl'))), 'no prebuilt musl addon in the tarball');
  }
  const strays = files.filter((f) => /^(src|test|dist-test|native|bench|build|docs|node_modules)\//.test(f) || f.endsWith('.map') || f === 'binding.gyp');
  assert.deepEqual(strays, []);
  assert.ok(files.length > 100 && files.length < 400, `${files.length} files`);
  assert.deepEqual(packedManifest.bin, { relay: 'bin/relay', 'udp-fanout': 'bin/relay' });
  assert.equal(packedManifest.gypfile, false, 'without gypfile: false npm would add "node-gyp rebuild" for a binding.gyp');
  for (const script of ['preinstall', 'install', 'postinstall']) assert.equal(packedManifest.scripts?.[script], undefined, `an ${script} script`);
});

test("the musl prebuild needs no glibc symbol versions, loads with musl's dynamic linker, and has the N-API entry point", async (t) => {
  if (secondPass) return t.skip('runs on the first pass');
  const compiler = findExecutable('musl-gcc', 'MUSL_GCC');
  if (compiler === undefined) {
    if (process.env.CI === 'true') assert.fail('musl-gcc is not installed (apt-get install musl-tools), and CI=true requires it');
    return t.skip('musl-gcc is not installed (apt-get install musl-tools)');
  }
  const musl = path.join(installed, path.relative(root, prebuildFile(root, 'musl')));
  // A glibc build names the glibc versions of what it calls (GLIBC_2.x); musl has none, and
  // musl's loader would take a glibc build anyway (it answers for libc.so.6), so this tells them apart.
  assert.ok((await readFile(path.join(installed, path.relative(root, prebuildFile(root, 'glibc'))))).includes('GLIBC_'));
  assert.ok(!(await readFile(musl)).includes('GLIBC_'), 'the musl prebuild needs glibc symbol versions');
  const probe = path.join(dir, 'musl-dlopen');
  await run(compiler, [path.join(root, 'test', 'helpers', 'musl-dlopen.c'), '-o', probe]);
  const { stdout } = await run(probe, [musl]);
  assert.equal(stdout.trim(), 'ok');
});

test('installed with scripts disabled: udp-fanout relays 2,000 datagrams in order on the native path', async (t) => {
  if (secondPass) return t.skip('runs the native path, on the first pass');
  assert.match(await readFile(manPage, 'utf8'), /^\.TH RELAY 1/m, 'man relay is not installed');
  const version = spawnInstalled('relay', ['--version']);
  assert.equal((await version.exit()).stdout.trim(), JSON.parse(await readFile(path.join(root, 'package.json'), 'utf8')).version);
  const sink = await TestSink.start();
  // --ingest native refuses to start without the addon: a run is proof it loaded.
  const relay = spawnInstalled('udp-fanout', ['udp@127.0.0.1:0', sink.address(), '--ingest', 'native', '--stats-interval', '0']);
  try {
    const [, listener] = await relay.waitForStderr(/listening on (\S+)/);
    const count = 2000;
    await sendWindowed(
      hostPortOf(listener!),
      count,
      (i) => numbered(i, 64),
      (n) => sink.waitFor(n, 10_000),
      32,
    );
    assertRun('installed udp-fanout', sequence(sink), 0, count);
    assert.equal((await relay.stop('SIGTERM')).code, 0, relay.stderr);
  } finally {
    await stopRelayAndSinks(relay, [sink]);
  }
});

test('installed without a prebuilt addon for the platform: one line names it and how to get one', async (t) => {
  if (secondPass) return t.skip('runs on the first pass');
  await rm(path.join(installed, 'prebuilds'), { recursive: true, force: true });
  const refused = await spawnInstalled('udp-fanout', ['udp@127.0.0.1:0', 'tcp@127.0.0.1:1', '--ingest', 'native']).exit();
  assert.equal(refused.code, 2);
  const lines = refused.stderr.trim().split('\n');
  assert.equal(lines.length, 1, refused.stderr);
  assert.ok(lines[0]!.includes(`no native addon for ${platformTag()} (glibc)`), lines[0]);
  assert.match(lines[0]!, /prebuilt addons for linux-x64 \(glibc and musl\) only.*git clone/);
  // Without --ingest native it runs on node:dgram and says why once.
  const relay = spawnInstalled('udp-fanout', ['udp@127.0.0.1:0', 'tcp@127.0.0.1:1', '--stats-interval', '0']);
  try {
    await relay.waitForStderr(/listening on/);
    assert.ok(relay.stderr.includes(`native UDP receive not available (no native addon for ${platformTag()}`), relay.stderr);
  } finally {
    await relay.stop();
  }
});
