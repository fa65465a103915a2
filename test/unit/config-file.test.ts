/**
 * The --config file, checked in-process with --check-config: every way to get it wrong ends as
 * one `relay: FILE: …` line naming the key, with exit 2 and nothing on stdout; a good file prints
 * what would run, with the command line's options over the file's and its addresses added.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { SETTINGS } from '../../src/config/settings.js';
import { cli } from '../helpers/cli.js';
import { withTempDir } from '../helpers/temp-dir.js';

const GOOD = `# a relay in front of two aggregators
listen = ["udp@127.0.0.1:2008", "tcp@127.0.0.1:2008"]
buffer = "8MiB"
drain-timeout = "5s"
stats-interval = "0"
allow = ["127.0.0.0/8"]

[[destination]]
address = "tcp@127.0.0.1:2009"

[[destination]]
address = "tcp@127.0.0.1:2010"
framing = "octet"
`;

/** Runs `relay --check-config FILE ARGS…` on a file holding `text`; FILE is shown as relay.toml. */
async function check(text: string, args: string[] = []): Promise<{ code: number; stdout: string; stderr: string }> {
  let result: { code: number; stdout: string; stderr: string } | undefined;
  await withTempDir('relay-config-', async (dir) => {
    const file = path.join(dir, 'relay.toml');
    await writeFile(file, text);
    const r = await cli(['--check-config', file, ...args]);
    result = { code: r.code, stdout: r.stdout.replaceAll(file, 'relay.toml'), stderr: r.stderr.replaceAll(file, 'relay.toml').replaceAll(dir, 'DIR') };
  });
  return result!;
}

test('config: a good file prints what would run and exits 0', async () => {
  const r = await check(GOOD);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  assert.match(r.stdout, /^relay\.toml: ok\n/);
  assert.match(r.stdout, /^listen {6}udp@127\.0\.0\.1:2008 \(UDP via /m);
  assert.match(r.stdout, /^listen {6}tcp@127\.0\.0\.1:2008 \(framed TCP, len32le\)$/m);
  assert.match(r.stdout, /^destination tcp@127\.0\.0\.1:2009 \(framing len32le\)$/m);
  assert.match(r.stdout, /^destination tcp@127\.0\.0\.1:2010\?framing=octet \(framing octet\)$/m);
  assert.match(r.stdout, /^ring {8}8 MiB,/m);
  assert.match(r.stdout, /^allow {7}127\.0\.0\.0\/8$/m);
});

test('config: --check-config shows every setting as the settings table says', async () => {
  const r = await check(GOOD, ['--spill-dir', '/var/spool/relay', '--spill-max', '2GiB', '--reconnect-max', '1m', '-q']);
  assert.equal(r.code, 0, r.stderr);
  const summaryLines = new Set(SETTINGS.flatMap((s) => (typeof s.show === 'object' ? [s.show.line] : [])));
  for (const line of summaryLines) assert.match(r.stdout, new RegExp(`^${line} +\\S`, 'm'), `no ${line} line`);
  assert.match(r.stdout, /^timeouts {4}drain 5s, connect 5s, stall 30s, reconnect from 100ms, up to 1m$/m);
  assert.match(r.stdout, /^spill {7}\/var\/spool\/relay, up to 2 GiB per destination$/m);
  assert.match(r.stdout, /^metrics {5}off, stats line off$/m);
  assert.match(r.stdout, /^log {9}warnings and errors, as text$/m);
});

test('config: a udp listener with ?split=lf says it splits into lines; ?split= elsewhere exits 2 saying where it applies', async () => {
  const r = await check(`listen = ["udp@127.0.0.1:2008?split=lf"]\n[[destination]]\naddress = "tcp@127.0.0.1:2009"\n`);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^listen {6}udp@127\.0\.0\.1:2008\?split=lf \(UDP via (native recvmmsg|node:dgram), split into lines\)$/m);
  const bad = await check(`listen = ["tcp@127.0.0.1:2008?split=lf"]\n[[destination]]\naddress = "tcp@127.0.0.1:2009"\n`);
  assert.equal(bad.code, 2);
  assert.match(
    bad.stderr,
    /bad listener "tcp@127\.0\.0\.1:2008\?split=lf": a tcp listener takes no \?split= \(it applies to udp and unix listeners\), expected \?framing=/,
  );
  assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr);
});

test('config: groups: members as strings (#instance) or tables, listed with --check-config; --group adds one', async () => {
  const r = await check(
    `${LISTEN}[[group]]\nname = "carbon"\nmode = "carbon_ch"\nreplication = 2\nmembers = [{ address = "tcp@127.0.0.1:2003", framing = "lf", instance = "a" }, "tcp@127.0.0.1:2004?framing=lf#007", "tcp@127.0.0.1:2005?framing=lf#c"]\n`,
    ['--group', 'name=tier mode=failover members=tcp@127.0.0.1:3001,tcp@127.0.0.1:3002'],
  );
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stdout,
    /^group {7}carbon \(carbon_ch by first-field, replication 2\)\n {2}member {4}tcp@127\.0\.0\.1:2003\?framing=lf \(framing lf; instance a\)\n {2}member {4}tcp@127\.0\.0\.1:2004\?framing=lf \(framing lf; instance 7\)\n/m,
  );
  assert.match(
    r.stdout,
    /^group {7}tier \(failover\)\n {2}member {4}tcp@127\.0\.0\.1:3001 \(framing len32le\)\n {2}member {4}tcp@127\.0\.0\.1:3002 \(framing len32le\)$/m,
  );
});

test('config: command-line options override the file, command-line addresses add destinations', async () => {
  const r = await check(GOOD, ['--buffer', '16MiB', '--framing', 'lf', 'tcp@127.0.0.1:2011']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^ring {8}16 MiB,/m);
  assert.match(r.stdout, /^destination tcp@127\.0\.0\.1:2009 \(framing lf\)$/m);
  assert.match(r.stdout, /^destination tcp@127\.0\.0\.1:2010\?framing=octet \(framing octet\)$/m);
  assert.match(r.stdout, /^destination tcp@127\.0\.0\.1:2011 \(framing lf\)$/m);
});

test('config: numbers and booleans where the command line has text and flags', async () => {
  const r = await check(
    `listen = ["udp@127.0.0.1:2008"]\nmax-message = 1500\nquiet = true\nstats-interval = 0\n[[destination]]\naddress = "tcp@127.0.0.1:2009"\n`,
  );
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /messages up to 1500 bytes/);
  assert.match(r.stdout, /stats line off/);
});

const DEST = '[[destination]]\naddress = "tcp@127.0.0.1:2009"\n';
const LISTEN = 'listen = ["udp@127.0.0.1:2008"]\n';

/** [what, file text, the line after "relay: "] — every one exits 2. */
const errors: [string, string, string][] = [
  ['not TOML', `${LISTEN}buffer = \n`, 'relay.toml: line 2, column 10: not valid TOML: invalid value'],
  ['an unknown key', `${LISTEN}bufer = "1MiB"\n${DEST}`, 'relay.toml: unknown key "bufer" (did you mean "buffer"?)'],
  ['an unknown key, nothing near it', `${LISTEN}color = "red"\n${DEST}`, 'relay.toml: unknown key "color"'],
  ['a bad size', `${LISTEN}buffer = "64XB"\n${DEST}`, 'relay.toml: buffer "64XB": expected a size like 64MiB, 512KiB or 65536 (bytes)'],
  [
    'a bad duration',
    `${LISTEN}drain-timeout = "soon"\n${DEST}`,
    'relay.toml: drain-timeout "soon": expected a duration like 100ms, 5s or 2m (a plain number is milliseconds)',
  ],
  ['a choice out of range', `${LISTEN}ingest = "fast"\n${DEST}`, 'relay.toml: ingest: "fast" is not one of auto, native, dgram'],
  ['a flag that is not a boolean', `${LISTEN}quiet = "yes"\n${DEST}`, 'relay.toml: quiet: expected true or false, got string "yes"'],
  ['a list for a single value', `${LISTEN}buffer = ["1MiB"]\n${DEST}`, 'relay.toml: buffer: expected one value, got a list'],
  ['a table for a value', `${LISTEN}[buffer]\nsize = 1\n`, 'relay.toml: buffer: expected a string, got a table'],
  [
    'a bad listener',
    `listen = ["udp@::1:2008"]\n${DEST}`,
    'relay.toml: listen: bad listener "udp@::1:2008": IPv6 addresses must be in brackets, e.g. udp@[::1]:2008',
  ],
  [
    'a bad CIDR',
    `${LISTEN}allow = ["10.0.0.0/33"]\n${DEST}`,
    'relay.toml: allow "10.0.0.0/33": prefix length must be 0-32; expected an address or CIDR block like 10.0.0.0/8, 192.0.2.7 or 2001:db8::/32',
  ],
  ['no listener', DEST, 'relay.toml: no listener: give listen = ["udp@HOST:PORT"] (or --listen)'],
  ['no destination', LISTEN, 'relay.toml: no destination: add a [[destination]] table with address = "tcp@HOST:PORT" (or a [[group]])'],
  [
    'destination as a string',
    `${LISTEN}destination = "tcp@127.0.0.1:2009"\n`,
    'relay.toml: destination: expected [[destination]] tables, each with address = "tcp@HOST:PORT"',
  ],
  [
    'a bad destination address',
    `${LISTEN}${DEST}${DEST.replace('2009', '2010')}[[destination]]\naddress = "tcp@::1:2009"\n`,
    'relay.toml: destination 3: bad address "tcp@::1:2009": IPv6 addresses must be in brackets, e.g. tcp@[::1]:2009',
  ],
  [
    'a destination without address',
    `${LISTEN}[[destination]]\nframing = "lf"\n`,
    'relay.toml: destination 1: no address: give address = "tcp@HOST:PORT" (or tls@)',
  ],
  [
    'an unknown destination key',
    `${LISTEN}[[destination]]\naddress = "tcp@127.0.0.1:2009"\nframng = "lf"\n`,
    'relay.toml: destination 1: unknown key "framng" (did you mean "framing"?)',
  ],
  [
    'an unknown framing',
    `${LISTEN}[[destination]]\naddress = "tcp@127.0.0.1:2009"\nframing = "xml"\n`,
    'relay.toml: destination 1: framing: "xml" is not one of len32le, len32be, lf, octet',
  ],
  [
    'framing twice',
    `${LISTEN}[[destination]]\naddress = "tcp@127.0.0.1:2009?framing=lf"\nframing = "octet"\n`,
    'relay.toml: destination 1: framing is given twice: octet here, lf in the address',
  ],
  ['a duplicate destination', `${LISTEN}${DEST}${DEST}`, 'destination tcp@127.0.0.1:2009 is given twice (framing len32le): each destination may appear once'],
  [
    'TLS settings on a tcp destination',
    `${LISTEN}[[destination]]\naddress = "tcp@127.0.0.1:2009"\ntls-ca = "/etc/ca.pem"\n`,
    'relay.toml: destination 1: tls-ca is for tls@ destinations, and this one is tcp@',
  ],
  [
    'a TLS CA file that does not exist',
    `${LISTEN}[[destination]]\naddress = "tls@127.0.0.1:6514"\ntls-ca = "/nonexistent/ca.pem"\n`,
    "relay.toml: destination 1: tls-ca /nonexistent/ca.pem: cannot read: ENOENT: no such file or directory, open '/nonexistent/ca.pem'",
  ],
  [
    'a TLS CA file that is not PEM',
    `${LISTEN}[[destination]]\naddress = "tls@127.0.0.1:6514"\ntls-ca = "relay.toml"\n`,
    'relay.toml: destination 1: tls-ca relay.toml: not a PEM certificate (no "-----BEGIN CERTIFICATE-----" line)',
  ],
  [
    'a client key without its certificate',
    `${LISTEN}[[destination]]\naddress = "tls@127.0.0.1:6514"\ntls-key = "relay.toml"\n`,
    'relay.toml: destination 1: tls-cert and tls-key go together: give both for a client certificate, or neither',
  ],
  [
    'a group without a mode',
    `${LISTEN}[[group]]\nname = "g"\nmembers = ["tcp@127.0.0.1:2003"]\n`,
    'relay.toml: group 1: mode: expected one of failover, any-of, least-loaded, carbon_ch, fnv1a_ch, jump_fnv1a_ch',
  ],
  [
    'a group without members',
    `${LISTEN}[[group]]\nname = "carbon"\nmode = "carbon_ch"\nmembers = []\n`,
    'relay.toml: group 1: members: expected a list of addresses, e.g. members = ["tcp@10.0.0.1:2003", "tcp@10.0.0.2:2003"]',
  ],
  [
    'an unknown group key',
    `${LISTEN}[[group]]\nname = "carbon"\nmode = "carbon_ch"\nmember = ["tcp@127.0.0.1:2003"]\n`,
    'relay.toml: group 1: unknown key "member": a group has name, mode, key, replication, dynamic, members',
  ],
  [
    'replication above the members',
    `${LISTEN}[[group]]\nname = "carbon"\nmode = "carbon_ch"\nreplication = 3\nmembers = ["tcp@127.0.0.1:2003#a", "tcp@127.0.0.1:2004#b"]\n`,
    'relay.toml: group 1: replication 3 is more than its 2 member(s)',
  ],
  [
    'replication on failover',
    `${LISTEN}[[group]]\nname = "f"\nmode = "failover"\nreplication = 2\nmembers = ["tcp@127.0.0.1:2003", "tcp@127.0.0.1:2004"]\n`,
    'relay.toml: group 1: replication: only the consistent hashes (carbon_ch, fnv1a_ch, jump_fnv1a_ch) replicate; failover sends each message to one member',
  ],
  [
    'a bad member address',
    `${LISTEN}[[group]]\nname = "carbon"\nmode = "carbon_ch"\nmembers = ["tcp@127.0.0.1:2003#a", "udp@127.0.0.1:2004#b"]\n`,
    'relay.toml: group 1: member 2: bad address "udp@127.0.0.1:2004": an address cannot be udp, expected tcp, tls or relp',
  ],
  [
    'carbon_ch members on one host without instances',
    `${LISTEN}[[group]]\nname = "carbon"\nmode = "carbon_ch"\nmembers = ["tcp@127.0.0.1:2003", "tcp@127.0.0.1:2004"]\n`,
    'relay.toml: group 1: carbon_ch members 127.0.0.1:2003 and 127.0.0.1:2004 hash the same: give them distinct hosts or instances',
  ],
  [
    'a member also a destination',
    `${LISTEN}${DEST}[[group]]\nname = "carbon"\nmode = "carbon_ch"\nmembers = ["tcp@127.0.0.1:2009#a", "tcp@127.0.0.1:2004#b"]\n`,
    'destination tcp@127.0.0.1:2009 is given twice (framing len32le): each destination may appear once',
  ],
  [
    'two groups with one name',
    `${LISTEN}[[group]]\nname = "carbon"\nmode = "carbon_ch"\nmembers = ["tcp@127.0.0.1:2003#a"]\n[[group]]\nname = "carbon"\nmode = "carbon_ch"\nmembers = ["tcp@127.0.0.1:2004#a"]\n`,
    'group carbon is given twice: each group needs its own name',
  ],
  [
    'ring too small for max-message',
    `${LISTEN}buffer = "64KiB"\n${DEST}`,
    '--buffer 64 KiB is too small: the ring must hold 4 messages of --max-message 65535 bytes, so at least 512 KiB',
  ],
];

for (const [what, text, line] of errors) {
  test(`config: ${what} -> exit 2, one line`, async () => {
    // Relative TLS paths are relative to the file's directory: "relay.toml" is the file itself.
    const r = await check(text);
    assert.equal(r.stdout, '');
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stderr, `relay: ${line}\n`);
  });
}

test('config: a file that cannot be read -> exit 2, one line', async () => {
  const r = await cli(['--check-config', '/nonexistent/relay.toml']);
  assert.equal(r.code, 2);
  assert.equal(r.stderr, "relay: cannot read config file /nonexistent/relay.toml: ENOENT: no such file or directory, open '/nonexistent/relay.toml'\n");
});

test('config: --config and --check-config naming two files -> exit 2', async () => {
  const r = await cli(['--config', 'a.toml', '--check-config', 'b.toml']);
  assert.equal(r.code, 2);
  assert.equal(r.stderr, 'relay: --config a.toml and --check-config b.toml name two files: give one\n');
});
