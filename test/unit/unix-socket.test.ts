/**
 * The socket file settings of unix@ listeners (src/config/unix-socket.ts): --unix-mode and
 * --unix-owner parse what they should and refuse the rest in one line naming the option, the
 * owner's names become ids, and --check-config shows both on the listener's line, with the per-source
 * rules that do not apply to it.
 */
import test, { type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { RelayError } from '../../src/errors.js';
import { loadNativeUdp, nativeUdpUnavailableReason } from '../../src/native/addon.js';
import { formatUnixMode, parseUnixMode, parseUnixOwner, unixSocketFile } from '../../src/config/unix-socket.js';
import { cli } from '../helpers/cli.js';
import { withTempDir } from '../helpers/temp-dir.js';

const native = loadNativeUdp();

/** Asserts `fn` throws a one-line ERR_BAD_OPTION RelayError equal to `message`. */
function assertRefused(fn: () => unknown, message: string): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof RelayError, String(error));
    assert.equal(error.code, 'ERR_BAD_OPTION');
    assert.equal(error.message, message);
    return true;
  });
}

test('--unix-mode: four octal digits with the leading 0; every mode formats back to its text', () => {
  for (let mode = 0; mode <= 0o777; mode++) assert.equal(parseUnixMode(formatUnixMode(mode)), mode);
  assert.equal(parseUnixMode('0666'), 0o666);
  assert.equal(formatUnixMode(0o20), '0020');
  // A TOML integer reaches the parser as its decimal text: 0o660 is "432", refused rather than read as 0432.
  for (const text of ['666', '432', '0o666', '00666', '0888', '0x1b6', '', ' 0666', '06666', '1666']) {
    assertRefused(
      () => parseUnixMode(text),
      `--unix-mode ${JSON.stringify(text)}: expected an octal mode with a leading 0, like 0660 (in the TOML file, a string: "0660")`,
    );
  }
});

test('--unix-owner: USER, USER:GROUP or :GROUP, names or ids; anything else refused', () => {
  const cases: [string, { user: string | undefined; group: string | undefined }][] = [
    ['syslog', { user: 'syslog', group: undefined }],
    ['syslog:adm', { user: 'syslog', group: 'adm' }],
    [':adm', { user: undefined, group: 'adm' }],
    ['0:4', { user: '0', group: '4' }],
    ['4294967294', { user: '4294967294', group: undefined }],
    ['svc_log.1-a', { user: 'svc_log.1-a', group: undefined }],
    ['host$', { user: 'host$', group: undefined }],
  ];
  for (const [text, expected] of cases) assert.deepEqual(parseUnixOwner(text), { ...expected, text }, text);
  for (const text of ['', ':', 'syslog:', 'a:b:c', 'sys log', '-x', 'a$b', '4294967295', ':4294967296', 'root\n']) {
    assertRefused(() => parseUnixOwner(text), `--unix-owner ${JSON.stringify(text)}: expected USER, USER:GROUP or :GROUP (names or numeric ids)`);
  }
});

/** Skips a test that looks names up without the addon. */
function noAddon(t: TestContext): boolean {
  if (native !== undefined) return false;
  t.skip(`native addon not loadable: ${nativeUdpUnavailableReason()}`);
  return true;
}

test('--unix-owner: names become ids (-1 leaves one as it is); ids pass as given; an unknown name is refused', (t) => {
  if (noAddon(t)) return;
  assert.deepEqual(unixSocketFile(0o600, undefined), { mode: 0o600, owner: undefined });
  const ids = (text: string) => unixSocketFile(0o666, parseUnixOwner(text)).owner;
  assert.deepEqual(ids('root:root'), { text: 'root:root', uid: 0, gid: 0 });
  assert.deepEqual(ids('root'), { text: 'root', uid: 0, gid: -1 });
  assert.deepEqual(ids(':root'), { text: ':root', uid: -1, gid: 0 });
  assert.deepEqual(ids('123456:654321'), { text: '123456:654321', uid: 123456, gid: 654321 });
  assertRefused(() => ids('no-such-user-of-relay'), '--unix-owner "no-such-user-of-relay": no user "no-such-user-of-relay" on this system');
  assertRefused(() => ids('root:no-such-group-of-relay'), '--unix-owner "root:no-such-group-of-relay": no group "no-such-group-of-relay" on this system');
});

test('--check-config: a unix@ listener with its socket file, from the TOML file; a mode given as a TOML number is refused', async (t) => {
  if (noAddon(t)) return;
  await withTempDir('relay-unix-config-', async (dir) => {
    const file = path.join(dir, 'relay.toml');
    const toml = (mode: string, extra = '') =>
      `listen = ["unix@/run/relay/log?split=lf"]\nunix-mode = ${mode}\nunix-owner = "root:root"\n${extra}[[destination]]\naddress = "tcp@127.0.0.1:2009"\n`;
    await writeFile(file, toml('"0660"'));
    let r = await cli(['--check-config', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /^listen {6}unix@\/run\/relay\/log\?split=lf \(Unix datagrams via native recvmmsg, split into lines, socket file mode 0660, owner root:root\)$/m,
    );
    await writeFile(file, toml('"0660"', 'deny = ["10.0.0.0/8"]\n'));
    r = await cli(['--check-config', file]);
    assert.match(r.stdout, /socket file mode 0660, owner root:root; --allow, --deny and --rate-limit do not apply \(its senders have no address\)\)$/m);
    await writeFile(file, toml('0o660'));
    r = await cli(['--check-config', file]);
    assert.equal(r.code, 2);
    assert.equal(r.stderr, `relay: ${file}: unix-mode "432": expected an octal mode with a leading 0, like 0660 (in the TOML file, a string: "0660")\n`);
  });
});
