/**
 * The real `bin/relay`'s exit codes and stderr: a usage error is one `relay: …` line on stderr,
 * exit code 2, nothing bound; a listener that cannot bind exits 1; --help and --version exit 0.
 * Every other command-line error is checked in-process, through runCli(), in
 * test/unit/cli.test.ts.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import { once } from 'node:events';
import { spawnRelay } from '../helpers/relay-process.js';

const cases: { args: string[]; message: RegExp }[] = [
  { args: ['127.0.0.1:2008', 'tcp@127.0.0.1:2009'], message: /bad listener "127\.0\.0\.1:2008"/ },
  { args: ['--no-such-option', 'udp@127.0.0.1:2008', 'tcp@127.0.0.1:2009'], message: /unknown option '--no-such-option'/ },
];

for (const { args, message } of cases) {
  test(`cli: relay ${args.join(' ') || '(no arguments)'} -> exit 2, one line`, async () => {
    const exit = await spawnRelay(args).exit();
    assert.equal(exit.code, 2, exit.stderr);
    assert.match(exit.stderr, message);
    const lines = exit.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 1, `one line on stderr, got:\n${exit.stderr}`);
    assert.match(lines[0]!, /^relay: /);
    assert.equal(exit.stdout, '');
  });
}

test('cli: a UDP port already in use -> "cannot listen on", exit 1', async () => {
  const taken = dgram.createSocket('udp4');
  taken.bind(0, '127.0.0.1');
  await once(taken, 'listening');
  try {
    const exit = await spawnRelay([`udp@127.0.0.1:${taken.address().port}`, 'tcp@127.0.0.1:9']).exit(5000);
    assert.equal(exit.code, 1, exit.stderr);
    assert.match(exit.stderr, new RegExp(`relay: cannot listen on udp@127\\.0\\.0\\.1:${taken.address().port}: .*EADDRINUSE`));
  } finally {
    taken.close();
  }
});

test('cli: a TCP listener port already in use -> exit 1', async () => {
  const taken = net.createServer().listen(0, '127.0.0.1');
  await once(taken, 'listening');
  const port = (taken.address() as net.AddressInfo).port;
  try {
    const exit = await spawnRelay([`tcp@127.0.0.1:${port}`, 'tcp@127.0.0.1:9']).exit(5000);
    assert.equal(exit.code, 1, exit.stderr);
    assert.match(exit.stderr, /cannot listen on tcp@127\.0\.0\.1:\d+: .*EADDRINUSE/);
  } finally {
    taken.close();
  }
});

test('cli: --help shows examples and exits 0', async () => {
  const exit = await spawnRelay(['--help']).exit();
  assert.equal(exit.code, 0);
  assert.match(exit.stdout, /Examples:\n {2}relay udp@0\.0\.0\.0:2008 tcp@127\.0\.0\.1:2009/);
  assert.match(exit.stdout, /sink \[options\] <listen>/);
});

test('cli: --version prints the version on stdout and exits 0', async () => {
  const exit = await spawnRelay(['--version']).exit();
  assert.equal(exit.code, 0, exit.stderr);
  assert.match(exit.stdout, /^\d+\.\d+\.\d+\n$/);
  assert.equal(exit.stderr, '');
});
