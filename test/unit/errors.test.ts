/**
 * RelayError: one code per kind of failure, each with the exit code the CLI has always used for
 * it, and the error it wraps kept as `cause`.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { EXIT_CODES, isRelayErrorCode, RelayError, type RelayErrorCode } from '../../src/errors.js';
import { serveMetrics } from '../../src/metrics/http.js';
import { runCli } from '../../src/cli/program.js';

/** The user-visible table: 2 for what the user typed wrong, 1 for what failed at run time. */
const EXPECTED: Record<RelayErrorCode, number> = {
  ERR_BAD_ADDRESS: 2,
  ERR_BAD_OPTION: 2,
  ERR_CONFIG: 2,
  ERR_TLS_FILE: 2,
  ERR_BIND: 1,
  ERR_RESOLVE: 1,
  ERR_METRICS_BIND: 1,
  ERR_TOP_FETCH: 1,
  ERR_FRAMING: 1,
  ERR_RELP: 1,
  ERR_SPILL: 1,
  ERR_CLUSTER: 2,
  ERR_INTERNAL: 1,
};

test('errors: every code has its exit code', () => {
  assert.deepEqual({ ...EXIT_CODES }, EXPECTED);
  for (const code of Object.keys(EXPECTED) as RelayErrorCode[]) {
    assert.ok(isRelayErrorCode(code));
    const error = new RelayError(code, 'x');
    assert.equal(error.code, code);
    assert.equal(error.exitCode, EXPECTED[code]);
    assert.ok(Number.isInteger(error.exitCode) && error.exitCode > 0, code);
  }
  assert.equal(isRelayErrorCode('ERR_NOPE'), false);
  assert.equal(isRelayErrorCode('toString'), false);
});

test('errors: cause is kept, and absent when none is given', () => {
  const cause = Object.assign(new Error('bind EADDRINUSE 127.0.0.1:9'), { code: 'EADDRINUSE' });
  const error = new RelayError('ERR_BIND', 'cannot listen on udp@127.0.0.1:9: bind EADDRINUSE 127.0.0.1:9', { cause });
  assert.equal(error.cause, cause);
  assert.equal(error.message, 'cannot listen on udp@127.0.0.1:9: bind EADDRINUSE 127.0.0.1:9');
  assert.equal(error.name, 'RelayError');
  assert.ok(error instanceof Error);
  assert.equal('cause' in new RelayError('ERR_BAD_OPTION', 'x'), false);
});

test('errors: --metrics on a port in use is ERR_METRICS_BIND, exit 1, with the system error as cause', async () => {
  const taken = net.createServer().listen(0, '127.0.0.1');
  await once(taken, 'listening');
  const { port } = taken.address() as net.AddressInfo;
  try {
    await assert.rejects(
      serveMetrics('127.0.0.1', port, () => Promise.reject(new Error('unused'))),
      (error: unknown) => {
        assert.ok(error instanceof RelayError);
        assert.equal(error.code, 'ERR_METRICS_BIND');
        assert.equal(error.exitCode, 1);
        assert.match(error.message, new RegExp(`^cannot serve --metrics on 127\\.0\\.0\\.1:${port}: .*EADDRINUSE`));
        assert.equal((error.cause as NodeJS.ErrnoException).code, 'EADDRINUSE');
        return true;
      },
    );
  } finally {
    taken.close();
  }
});

test('errors: relay top with nothing at --metrics is one "cannot read" line, exit 1', async () => {
  // A port nothing listens on: bind one, note it, close it.
  const probe = net.createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as net.AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  let stderr = '';
  const code = await runCli(['node', 'relay', 'top', '--once', '--metrics', `127.0.0.1:${port}`], {
    writeOut: () => {},
    writeErr: (text) => {
      stderr += text;
    },
  });
  assert.equal(code, 1);
  assert.match(stderr, new RegExp(`^relay: cannot read http://127\\.0\\.0\\.1:${port}/stats: .+\\n$`));
});
