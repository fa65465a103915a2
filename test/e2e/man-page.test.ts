/**
 * The manual page through the real process (test/unit/man-page.test.ts checks what it says):
 * `bin/relay man` prints it and exits 0, and the build step that `prepare` runs after tsc
 * (`node dist/cli/man-build.js`, writing man/relay.1 for package.json's `man` field) writes the
 * same page, here to a file of the test's own.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { noUdpSecondPass, RELAY_BIN, spawnRelay } from '../helpers/relay-process.js';
import { withTempDir } from '../helpers/temp-dir.js';

const MAN_BUILD = path.join(path.dirname(RELAY_BIN), '..', 'dist', 'cli', 'man-build.js');

test('man page: bin/relay man prints, exit 0, the page the build step writes', async (t) => {
  if (noUdpSecondPass(t)) return;
  await withTempDir('relay-man-', async (dir) => {
    const file = path.join(dir, 'man1', 'relay.1');
    const build = spawnSync(process.execPath, [MAN_BUILD, file], { encoding: 'utf8' });
    assert.equal(build.status, 0, build.stderr);
    assert.equal(build.stderr, '');
    const exit = await spawnRelay(['man']).exit();
    assert.equal(exit.code, 0, exit.stderr);
    assert.equal(exit.stderr, '');
    assert.match(exit.stdout, /^\.TH RELAY 1 "" "relay \d+\.\d+\.\d+" "User Commands"$/m);
    assert.equal(exit.stdout, await readFile(file, 'utf8'));
  });
});
