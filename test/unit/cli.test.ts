/**
 * Every way to get the command line wrong that fails while parsing arguments or validating the
 * configuration (before anything binds or a thread starts), run in-process through runCli() with
 * captured output: exactly one `relay: …` line on stderr naming the bad argument and what was
 * expected, nothing on stdout, exit code 2. The real binary's exit codes and stderr (and the
 * failures that need a socket) are in test/e2e/cli-errors.test.ts.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { buildProgram, runCli, type CliIo } from '../../src/cli/program.js';
import { cli } from '../helpers/cli.js';

const RUN = ['udp@127.0.0.1:2008', 'tcp@127.0.0.1:2009'];

/** `message` is the pattern the process tests matched; `line` is the whole line after "relay: ". */
const cases: { args: string[]; message: RegExp; line: string }[] = [
  { args: [], message: /missing required argument 'listener'/, line: `missing required argument 'listener' (or give --config FILE)` },
  {
    args: ['udp@127.0.0.1:2008'],
    message: /no destination: give at least one tcp@HOST:PORT/,
    line: 'no destination: give at least one tcp@HOST:PORT after the listener',
  },
  {
    args: ['127.0.0.1:2008', 'tcp@127.0.0.1:2009'],
    message: /bad listener "127\.0\.0\.1:2008"/,
    line: 'bad listener "127.0.0.1:2008": missing "@", expected udp@HOST:PORT',
  },
  {
    args: ['http@127.0.0.1:2008', 'tcp@127.0.0.1:2009'],
    message: /unknown scheme "http", expected udp, tcp, tls or unix/,
    line: 'bad listener "http@127.0.0.1:2008": unknown scheme "http", expected udp, tcp, tls or unix',
  },
  {
    args: ['udp@127.0.0.1:2008', 'udp@127.0.0.1:2009'],
    message: /bad destination "udp@127\.0\.0\.1:2009"/,
    line: 'bad destination "udp@127.0.0.1:2009": a destination cannot be udp, expected tcp, tls or relp',
  },
  {
    args: ['udp@127.0.0.1:70000', 'tcp@127.0.0.1:2009'],
    message: /port must be an integer/,
    line: 'bad listener "udp@127.0.0.1:70000": port must be an integer 0-65535, got "70000"',
  },
  {
    args: ['udp@127.0.0.1:2008', 'tcp@127.0.0.1:0'],
    message: /bad destination "tcp@127\.0\.0\.1:0": port/,
    line: 'bad destination "tcp@127.0.0.1:0": port must be an integer 1-65535, got "0"',
  },
  {
    args: ['udp@127.0.0.1:2008', 'tcp@::1:2009'],
    message: /IPv6 addresses must be in brackets, e\.g\. tcp@\[::1\]:2009/,
    line: 'bad destination "tcp@::1:2009": IPv6 addresses must be in brackets, e.g. tcp@[::1]:2009',
  },
  {
    args: ['udp@256.1.1.1:2008', 'tcp@127.0.0.1:2009'],
    message: /bad listener "udp@256\.1\.1\.1:2008"/,
    line: 'bad listener "udp@256.1.1.1:2008": "256.1.1.1" is not an IPv4 address, expected four numbers 0-255 like 192.0.2.1',
  },
  {
    args: ['udp@127.0.0.1:2008', 'tcp@127.0.0.1:2009?framing=xml'],
    message: /unknown framing "xml", expected/,
    line: 'bad destination "tcp@127.0.0.1:2009?framing=xml": unknown framing "xml", expected ?framing=len32le|len32be|lf|octet',
  },
  {
    args: ['udp@127.0.0.1:2008', 'tcp@127.0.0.1:2009?color=red'],
    message: /bad destination "tcp@127\.0\.0\.1:2009\?color=red"/,
    line: 'bad destination "tcp@127.0.0.1:2009?color=red": unknown option "color", expected ?framing=len32le|len32be|lf|octet',
  },
  {
    args: ['--framing', 'xml', ...RUN],
    message: /--framing "xml": expected one of len32le, len32be, lf, octet/,
    line: '--framing "xml": expected one of len32le, len32be, lf, octet',
  },
  {
    args: ['--buffer', '64XB', ...RUN],
    message: /--buffer "64XB": expected a size like 64MiB/,
    line: '--buffer "64XB": expected a size like 64MiB, 512KiB or 65536 (bytes)',
  },
  { args: ['--buffer', '1KiB', ...RUN], message: /--buffer "1KiB": must be at least/, line: '--buffer "1KiB": must be at least 64 KiB' },
  {
    args: ['--buffer', '128KiB', ...RUN],
    message: /--buffer 128 KiB is too small: the ring must hold 4 messages of --max-message 65535 bytes, so at least 512 KiB$/m,
    line: '--buffer 128 KiB is too small: the ring must hold 4 messages of --max-message 65535 bytes, so at least 512 KiB',
  },
  { args: ['--max-message', '-5', ...RUN], message: /--max-message "-5"/, line: '--max-message "-5": expected a size like 64MiB, 512KiB or 65536 (bytes)' },
  {
    args: ['--drain-timeout', 'soon', ...RUN],
    message: /--drain-timeout "soon"/,
    line: '--drain-timeout "soon": expected a duration like 100ms, 5s or 2m (a plain number is milliseconds)',
  },
  {
    args: ['--reconnect-min', '5s', '--reconnect-max', '1s', ...RUN],
    message: /--reconnect-min 5000ms is above --reconnect-max 1000ms/,
    line: '--reconnect-min 5000ms is above --reconnect-max 1000ms',
  },
  {
    args: ['--allow', '10.0.0.0/33', ...RUN],
    message: /--allow "10\.0\.0\.0\/33": prefix length must be 0-32/,
    line: '--allow "10.0.0.0/33": prefix length must be 0-32; expected an address or CIDR block like 10.0.0.0/8, 192.0.2.7 or 2001:db8::/32',
  },
  {
    args: ['--rate-burst', '50', ...RUN],
    message: /--rate-burst 50 without --rate-limit/,
    line: '--rate-burst 50 without --rate-limit: give --rate-limit N (messages per second per source) too',
  },
  { args: ['--no-such-option', ...RUN], message: /unknown option '--no-such-option'/, line: `unknown option '--no-such-option'` },
  {
    args: ['sink', 'udp@127.0.0.1:2009'],
    message: /bad sink address "udp@127\.0\.0\.1:2009"/,
    line: 'bad sink address "udp@127.0.0.1:2009": a sink address cannot be udp, expected tcp, tls or relp',
  },
  {
    args: ['sink', 'relp@127.0.0.1:0?framing=lf'],
    message: /takes no "\?" options/,
    line: 'bad sink address "relp@127.0.0.1:0?framing=lf": a relp sink address takes no "?" options, expected relp@HOST:PORT',
  },
  {
    args: ['sink', 'tls@127.0.0.1:0'],
    message: /a tls@ sink needs --tls-cert and --tls-key/,
    line: 'tls@127.0.0.1:0: a tls@ sink needs --tls-cert and --tls-key (its certificate and key)',
  },
  {
    args: ['sink', 'tcp@127.0.0.1:0', '--tls-cert', 'server.pem'],
    message: /apply to a tls@ sink/,
    line: '--tls-cert, --tls-key and --tls-ca apply to a tls@ sink, not tcp@127.0.0.1:0',
  },
  {
    args: ['sink', 'tls@127.0.0.1:0', '--tls-cert', '/nonexistent/server.pem', '--tls-key', '/nonexistent/server.key'],
    message: /tls-cert \/nonexistent\/server\.pem: cannot read/,
    line: "tls-cert /nonexistent/server.pem: cannot read: ENOENT: no such file or directory, open '/nonexistent/server.pem'",
  },
  {
    args: ['send', 'tcp@127.0.0.1:2009'],
    message: /bad target "tcp@127\.0\.0\.1:2009"/,
    line: 'bad target "tcp@127.0.0.1:2009": a target cannot be tcp, expected udp',
  },
];

for (const { args, message, line } of cases) {
  test(`runCli: relay ${args.join(' ') || '(no arguments)'} -> exit 2, one line`, async () => {
    const result = await cli(args);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, message);
    assert.equal(result.stderr, `relay: ${line}\n`);
    assert.equal(result.stdout, '');
  });
}

test('runCli: --help goes to stdout with the examples and the subcommands, exit 0', async () => {
  const result = await cli(['--help']);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /Examples:\n {2}relay udp@0\.0\.0\.0:2008 tcp@127\.0\.0\.1:2009/);
  assert.match(result.stdout, /sink \[options\] <listen>/);
  assert.equal(result.stderr, '');
});

test("runCli: a subcommand's --help goes through io too, exit 0", async () => {
  const result = await cli(['sink', '--help']);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /relay sink tcp@127\.0\.0\.1:2009/);
  assert.equal(result.stderr, '');
});

test('runCli: --version prints the version on stdout, exit 0', async () => {
  const result = await cli(['--version']);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /^\d+\.\d+\.\d+\n$/);
  assert.equal(result.stderr, '');
});

test('runCli: an error that is not a RelayError is "relay: internal error: …" and exit 1', async () => {
  let stderr = '';
  const io: CliIo = {
    writeOut: () => {},
    writeErr: (text) => {
      stderr += text;
    },
  };
  const program = buildProgram(io);
  assert.equal(program.name(), 'relay');
  assert.deepEqual(
    program.commands.map((c) => c.name()),
    ['sink', 'send', 'top', 'bench', 'route', 'man'],
  );
  // runCli builds its own program: make one of its actions fail with a plain Error.
  const { Command } = await import('commander');
  const original = Command.prototype.parseAsync;
  Command.prototype.parseAsync = async () => {
    throw new TypeError('boom');
  };
  try {
    assert.equal(await runCli(['node', 'relay', '--help'], io), 1);
  } finally {
    Command.prototype.parseAsync = original;
  }
  assert.match(stderr, /^relay: internal error: TypeError: boom\n/);
});
