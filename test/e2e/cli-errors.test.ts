/**
 * Every way to get the command line wrong, through the real `bin/relay`: one line on stderr that
 * names the bad argument and what was expected, exit code 2, nothing bound. A listener that
 * cannot bind exits 1.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import { once } from 'node:events';
import { spawnRelay } from '../helpers/relay-process.js';

const cases: { args: string[]; message: RegExp }[] = [
  { args: [], message: /missing required argument 'listener'/ },
  { args: ['udp@127.0.0.1:2008'], message: /no destination: give at least one tcp@HOST:PORT/ },
  { args: ['127.0.0.1:2008', 'tcp@127.0.0.1:2009'], message: /bad listener "127\.0\.0\.1:2008"/ },
  { args: ['http@127.0.0.1:2008', 'tcp@127.0.0.1:2009'], message: /unknown scheme "http", expected udp or tcp/ },
  { args: ['udp@127.0.0.1:2008', 'udp@127.0.0.1:2009'], message: /bad destination "udp@127\.0\.0\.1:2009"/ },
  { args: ['udp@127.0.0.1:70000', 'tcp@127.0.0.1:2009'], message: /port must be an integer/ },
  { args: ['udp@127.0.0.1:2008', 'tcp@127.0.0.1:0'], message: /bad destination "tcp@127\.0\.0\.1:0": port/ },
  { args: ['udp@127.0.0.1:2008', 'tcp@::1:2009'], message: /IPv6 addresses must be in brackets, e\.g\. tcp@\[::1\]:2009/ },
  { args: ['udp@256.1.1.1:2008', 'tcp@127.0.0.1:2009'], message: /bad listener "udp@256\.1\.1\.1:2008"/ },
  { args: ['udp@127.0.0.1:2008', 'tcp@127.0.0.1:2009?framing=xml'], message: /unknown framing "xml", expected/ },
  { args: ['udp@127.0.0.1:2008', 'tcp@127.0.0.1:2009?color=red'], message: /bad destination "tcp@127\.0\.0\.1:2009\?color=red"/ },
  { args: ['--framing', 'xml', 'udp@127.0.0.1:2008', 'tcp@127.0.0.1:2009'], message: /--framing "xml": expected one of len32le, len32be, lf, octet/ },
  { args: ['--buffer', '64XB', 'udp@127.0.0.1:2008', 'tcp@127.0.0.1:2009'], message: /--buffer "64XB": expected a size like 64MiB/ },
  { args: ['--buffer', '1KiB', 'udp@127.0.0.1:2008', 'tcp@127.0.0.1:2009'], message: /--buffer "1KiB": must be at least/ },
  { args: ['--buffer', '128KiB', 'udp@127.0.0.1:2008', 'tcp@127.0.0.1:2009'], message: /--buffer 128 KiB is too small: the ring must hold 4 messages of --max-message 65535 bytes, so at least 512 KiB$/m },
  { args: ['--max-message', '-5', 'udp@127.0.0.1:2008', 'tcp@127.0.0.1:2009'], message: /--max-message "-5"/ },
  { args: ['--drain-timeout', 'soon', 'udp@127.0.0.1:2008', 'tcp@127.0.0.1:2009'], message: /--drain-timeout "soon"/ },
  { args: ['--reconnect-min', '5s', '--reconnect-max', '1s', 'udp@127.0.0.1:2008', 'tcp@127.0.0.1:2009'], message: /--reconnect-min 5000ms is above --reconnect-max 1000ms/ },
  { args: ['--allow', '10.0.0.0/33', 'udp@127.0.0.1:2008', 'tcp@127.0.0.1:2009'], message: /--allow "10\.0\.0\.0\/33": prefix length must be 0-32/ },
  { args: ['--no-such-option', 'udp@127.0.0.1:2008', 'tcp@127.0.0.1:2009'], message: /unknown option '--no-such-option'/ },
  { args: ['sink', 'udp@127.0.0.1:2009'], message: /bad sink address "udp@127\.0\.0\.1:2009"/ },
  { args: ['send', 'tcp@127.0.0.1:2009'], message: /bad target "tcp@127\.0\.0\.1:2009"/ },
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
