/**
 * The Relay holds its --spill-dir lock (src/spill/dir-lock.ts) from start() until its threads are
 * gone: stop() and kill() release it, and so does a start that fails after taking it. In process,
 * with real threads and sockets.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { Relay } from '../../src/main/relay.js';
import type { RelayConfig } from '../../src/config/config.js';
import { LOCK_FILE } from '../../src/spill/dir-lock.js';
import { RelayError } from '../../src/errors.js';
import { withTempDir } from '../helpers/temp-dir.js';
import { relayConfig } from '../helpers/relay-config.js';

/** A small relay from `listener` to a destination nobody listens on, spilling to `dir`. */
function config(dir: string, listener = 'udp@127.0.0.1:0'): RelayConfig {
  return relayConfig([listener], ['tcp@127.0.0.1:9'], dir, { drainTimeoutMs: 0 });
}

const quiet = (): void => {};
const failOnFatal = (error: Error): void => assert.fail(`a relay thread failed: ${error.message}`);

async function lockHolder(dir: string): Promise<number | undefined> {
  const text = await readFile(path.join(dir, LOCK_FILE), 'utf8').catch(() => undefined);
  return text === undefined ? undefined : (JSON.parse(text) as { pid: number }).pid;
}

for (const end of ['stop', 'kill'] as const) {
  test(`relay: holds the --spill-dir lock while it runs, refuses a second relay on it, and ${end}() releases it`, async () => {
    await withTempDir('relay-lock-', async (dir) => {
      const relay = await Relay.start(config(dir), quiet, failOnFatal);
      try {
        assert.equal(await lockHolder(dir), process.pid);
        const refused = await Relay.start(config(dir), quiet, failOnFatal).then(
          async (second) => {
            await second.kill();
            assert.fail('a second relay started on the same --spill-dir');
          },
          (error: unknown) => error,
        );
        assert.ok(refused instanceof RelayError && refused.code === 'ERR_SPILL', String(refused));
        if (end === 'stop') await relay.stop();
        else await relay.kill();
        assert.equal(await lockHolder(dir), undefined);
        const next = await Relay.start(config(dir), quiet, failOnFatal);
        await next.kill();
      } finally {
        await relay.kill();
      }
      assert.deepEqual(
        (await readdir(dir)).filter((name) => name.startsWith('.')),
        [],
      );
    });
  });
}

test('relay: a start that fails after taking the lock (a listener that cannot bind) releases it', async () => {
  await withTempDir('relay-lock-', async (dir) => {
    const taken = net.createServer().listen(0, '127.0.0.1');
    await once(taken, 'listening');
    try {
      const port = (taken.address() as net.AddressInfo).port;
      const error = await Relay.start(config(dir, `tcp@127.0.0.1:${port}`), quiet, failOnFatal).then(
        () => assert.fail('started on a port in use'),
        (e: unknown) => e,
      );
      assert.ok(error instanceof RelayError && error.code === 'ERR_BIND', String(error));
      assert.equal(await lockHolder(dir), undefined);
      const relay = await Relay.start(config(dir), quiet, failOnFatal);
      await relay.kill();
    } finally {
      await new Promise<void>((resolve) => taken.close(() => resolve()));
    }
  });
});
