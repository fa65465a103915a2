/**
 * The addon's Unix datagram sockets (native/relay_unix.c) without a sender (node cannot send Unix
 * datagrams; test/e2e/unix-listener.test.ts sends with logger): what bind does with what is at the
 * path, the bound text, and the user and group lookups. Skipped when the addon is not built.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { lstatSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadNativeUdp, nativeUdpUnavailableReason, type NativeUdp } from '../../src/native/addon.js';
import { NativeUdpReceiver } from '../../src/ingest/native-receiver.js';
import { withTempDir } from '../helpers/temp-dir.js';

const native = loadNativeUdp();

/** The addon, or undefined after skipping `t` with the reason it is not loadable. */
function addon(t: TestContext): NativeUdp | undefined {
  if (native === undefined) t.skip(`native addon not loadable: ${nativeUdpUnavailableReason()}`);
  return native;
}

/** A receiver on the Unix datagram socket at `file` that takes nothing. */
function open(n: NativeUdp, file: string): NativeUdpReceiver {
  return NativeUdpReceiver.open(n, { path: file, recvBufferBytes: 0, maxDatagramBytes: 64, onBatch: () => {} });
}

/** The error code `fn` throws. */
function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return (error as NodeJS.ErrnoException).code;
  }
  assert.fail('expected a throw');
}

test('unixOpen: binds a socket file; a stale one (nobody bound) is replaced, a bound one is EADDRINUSE and kept', async (t) => {
  const n = addon(t);
  if (!n) return;
  await withTempDir('relay-native-unix-', async (dir) => {
    const file = path.join(dir, 'log');
    const first = open(n, file);
    try {
      assert.equal(first.boundText(), `unix@${file}`);
      assert.equal(first.path, file);
      assert.ok(lstatSync(file).isSocket());
      const inode = lstatSync(file).ino;
      assert.equal(
        codeOf(() => open(n, file)),
        'EADDRINUSE',
      );
      assert.equal(lstatSync(file).ino, inode, 'the bound socket file stays');
    } finally {
      // Closing leaves the file (the listener removes it): stale now.
      first.close();
    }
    assert.ok(lstatSync(file).isSocket());
    // Bound again: a stale file left in place would have been EADDRINUSE.
    const second = open(n, file);
    try {
      assert.ok(lstatSync(file).isSocket());
      assert.equal(
        codeOf(() => open(n, file)),
        'EADDRINUSE',
        'and the new one is bound',
      );
    } finally {
      second.close();
    }
  });
});

test('unixOpen: a path that is not a socket (file, directory, symlink to a socket) is ENOTSOCK and left as it is', async (t) => {
  const n = addon(t);
  if (!n) return;
  await withTempDir('relay-native-unix-', async (dir) => {
    const plain = path.join(dir, 'plain');
    writeFileSync(plain, 'keep');
    assert.equal(
      codeOf(() => open(n, plain)),
      'ENOTSOCK',
    );
    assert.equal(readFileSync(plain, 'utf8'), 'keep');

    const directory = path.join(dir, 'directory');
    mkdirSync(directory);
    assert.equal(
      codeOf(() => open(n, directory)),
      'ENOTSOCK',
    );
    assert.ok(lstatSync(directory).isDirectory());

    const stale = path.join(dir, 'stale');
    open(n, stale).close();
    const link = path.join(dir, 'link');
    symlinkSync(stale, link);
    assert.equal(
      codeOf(() => open(n, link)),
      'ENOTSOCK',
    );
    assert.ok(lstatSync(link).isSymbolicLink());
    assert.ok(lstatSync(stale).isSocket());
  });
});

test('unixOpen: a path of 107 bytes binds (sun_path holds it and its NUL); 108 is refused', async (t) => {
  const n = addon(t);
  if (!n) return;
  await withTempDir('relay-native-unix-', async (dir) => {
    const longest = path.join(dir, 'a'.repeat(107 - dir.length - 1));
    assert.equal(Buffer.byteLength(longest), 107);
    const receiver = open(n, longest);
    try {
      assert.ok(lstatSync(longest).isSocket());
    } finally {
      receiver.close();
    }
    assert.equal(
      codeOf(() => open(n, `${longest}b`)),
      'ERR_INVALID_ARG_TYPE',
    );
  });
});

test('unixOpen: a path in a missing directory is ENOENT; a relative or overlong path is refused before any socket', async (t) => {
  const n = addon(t);
  if (!n) return;
  await withTempDir('relay-native-unix-', async (dir) => {
    assert.equal(
      codeOf(() => open(n, path.join(dir, 'missing', 'log'))),
      'ENOENT',
    );
    assert.equal(
      codeOf(() => open(n, 'relative/log')),
      'ERR_INVALID_ARG_TYPE',
    );
    assert.equal(
      codeOf(() => open(n, `/${'a'.repeat(107)}`)),
      'ERR_INVALID_ARG_TYPE',
    );
    assert.equal(
      codeOf(() => open(n, '/tmp/a\0b')),
      'ERR_INVALID_ARG_TYPE',
    );
  });
});

test('unixUserId and unixGroupId: names to ids, null for none', (t) => {
  const n = addon(t);
  if (!n) return;
  assert.equal(n.unixUserId('root'), 0);
  assert.equal(n.unixGroupId('root'), 0);
  assert.equal(n.unixUserId('no-such-user-of-relay'), null);
  assert.equal(n.unixGroupId('no-such-group-of-relay'), null);
  assert.equal(
    codeOf(() => n.unixUserId('')),
    'ERR_INVALID_ARG_TYPE',
  );
});
