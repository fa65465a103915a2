/**
 * Spill to disk through the real relay: a destination that is down while several rings' worth
 * of data arrives gets every message, once, in order, when it comes up — also across a relay
 * restart; damaged segments, an unusable directory and --spill-max are counted, never fatal.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { readdir, writeFile, readFile } from 'node:fs/promises';
import path from 'node:path';
import { hostPortOf, spawnRelay, startRelay, type RelayProcess } from '../helpers/relay-process.js';
import { TestSink } from '../helpers/sinks.js';
import { sendWindowed } from '../helpers/udp-sender.js';
import { withTempDir } from '../helpers/temp-dir.js';
import { freePort, numbered, numberOf, sequence } from '../helpers/numbered.js';
import { FrameDecoder } from '../../src/framing/index.js';

const MESSAGE_BYTES = 1000;
/** 4 MiB ring, 1000-byte messages: 24 000 messages are ~6 rings. */
const RING = ['--buffer', '4MiB', '--max-message', '2048'];
const FAST_RECONNECT = ['--reconnect-min', '20ms', '--reconnect-max', '200ms'];

const numberedMessage = (i: number): Buffer => numbered(i, MESSAGE_BYTES);

/**
 * Sends messages [from, to) paced at `perSecond` (the destination is down, so there is no
 * receiver to window on; pacing keeps the kernel from dropping datagrams before the relay
 * reads them).
 */
async function sendPaced(listener: string, from: number, to: number, perSecond = 10_000): Promise<void> {
  const started = Date.now();
  const pace = async (n: number): Promise<void> => {
    const due = started + ((n - from) * 1000) / perSecond;
    if (due > Date.now()) await new Promise((resolve) => setTimeout(resolve, due - Date.now()));
  };
  await sendWindowed(
    hostPortOf(listener),
    to - from,
    (i) => numberedMessage(from + i),
    (n) => pace(from + n),
    64,
  );
}

function withSpillDir(body: (dir: string) => Promise<void>): Promise<void> {
  return withTempDir('relay-spill-', body);
}

/** Stops the relay gracefully; returns how many messages it said it received. */
async function stopCleanly(relay: RelayProcess): Promise<number> {
  const exit = await relay.stop('SIGTERM', 60_000);
  assert.equal(exit.code, 0, exit.stderr);
  const received = /stopped: received (\d+) message/.exec(exit.stderr);
  assert.ok(received, exit.stderr);
  return Number(received[1]);
}

/**
 * Everything the relay received arrived exactly once and in order. Under CPU pressure the kernel
 * or a full ring may drop before the relay has a message (counted, and not "received"), so the
 * check is against what the relay says it received, and most of what was sent must be there.
 */
function assertExactlyOnceInOrder(sink: TestSink, received: number, sent: number): void {
  const got = sequence(sink);
  assert.equal(got.length, received, 'delivered = received');
  for (let i = 1; i < got.length; i++) if (got[i]! <= got[i - 1]!) assert.fail(`out of order or twice at ${i}: ${got[i - 1]} then ${got[i]}`);
  assert.ok(received >= sent * 0.9, `received ${received} of ${sent}`);
  assert.equal(sink.tornBytes, 0);
}

const DRAIN = ['--drain-timeout', '30s'];

test('spill: a destination down while ~6 rings of data arrive gets every message once, in order', async () => {
  await withSpillDir(async (dir) => {
    const port = await freePort();
    const count = 24_000;
    const { relay, listeners } = await startRelay(['udp@127.0.0.1:0', ...RING, ...FAST_RECONNECT, ...DRAIN, '--spill-dir', dir, `tcp@127.0.0.1:${port}`]);
    let sink: TestSink | undefined;
    try {
      await sendPaced(listeners[0]!, 0, count);
      sink = await TestSink.start('len32le', '127.0.0.1', port);
      await sink.waitFor(1, 30_000);
      // A graceful stop delivers the rest (disk first, then the ring) before it exits.
      const received = await stopCleanly(relay);
      await sink.waitUntilClosed();
      assertExactlyOnceInOrder(sink, received, count);
      // Everything replayed and confirmed: no segment left behind.
      const left = (await readdir(path.join(dir, `127.0.0.1_${port}`))).filter((f) => f.endsWith('.seg'));
      assert.deepEqual(left, []);
    } finally {
      await relay.stop('SIGKILL');
      await sink?.close();
    }
  });
});

test('spill: the relay stopped and started again before the destination comes back; nothing lost, nothing twice', async () => {
  await withSpillDir(async (dir) => {
    const port = await freePort();
    const args = ['udp@127.0.0.1:0', ...RING, ...FAST_RECONNECT, ...DRAIN, '--spill-dir', dir, `tcp@127.0.0.1:${port}`];
    const first = await startRelay(args);
    let receivedFirst = 0;
    try {
      await sendPaced(first.listeners[0]!, 0, 12_000);
      // Nobody to deliver to: the stop spills what the ring still holds.
      receivedFirst = await stopCleanly(first.relay);
    } finally {
      await first.relay.stop('SIGKILL');
    }
    const second = await startRelay(args);
    let sink: TestSink | undefined;
    try {
      await sendPaced(second.listeners[0]!, 12_000, 16_000);
      sink = await TestSink.start('len32le', '127.0.0.1', port);
      await sink.waitFor(1, 30_000);
      const receivedSecond = await stopCleanly(second.relay);
      await sink.waitUntilClosed();
      assertExactlyOnceInOrder(sink, receivedFirst + receivedSecond, 16_000);
      assert.ok(sequence(sink)[0]! < 100, "the first run's data came first");
    } finally {
      await second.relay.stop('SIGKILL');
      await sink?.close();
    }
  });
});

test('spill: a damaged segment is skipped and counted; the rest still arrives in order', async () => {
  await withSpillDir(async (dir) => {
    const port = await freePort();
    const args = ['udp@127.0.0.1:0', ...RING, ...FAST_RECONNECT, ...DRAIN, '--spill-dir', dir, `tcp@127.0.0.1:${port}`];
    const first = await startRelay(args);
    try {
      await sendPaced(first.listeners[0]!, 0, 8000);
      await stopCleanly(first.relay);
    } finally {
      await first.relay.stop('SIGKILL');
    }
    const destinationDir = path.join(dir, `127.0.0.1_${port}`);
    const segments = (await readdir(destinationDir)).filter((f) => f.endsWith('.seg')).sort();
    assert.ok(segments.length >= 1, 'the first run spilled');
    // Flip a byte in the middle of the first segment's payloads.
    const file = path.join(destinationDir, segments[0]!);
    const bytes = await readFile(file);
    const at = Math.floor(bytes.length / 2);
    bytes[at] = bytes[at]! ^ 0xff;
    await writeFile(file, bytes);

    const second = await startRelay(args);
    const sink = await TestSink.start('len32le', '127.0.0.1', port);
    try {
      await second.relay.waitForStderr(/skipped \d+ damaged byte\(s\) of .*\.seg: checksum mismatch/, 30_000);
      await sink.waitFor(1, 30_000);
      assert.equal(second.relay.child.exitCode, null, 'the relay kept running');
      // A graceful stop delivers the rest of the spill before it exits: then the sink has it all.
      await stopCleanly(second.relay);
      await sink.waitUntilClosed();
      // Strictly increasing, starts at 0, and missing only a contiguous run from the damaged segment.
      const got = sequence(sink);
      for (let i = 1; i < got.length; i++) assert.ok(got[i]! > got[i - 1]!, `out of order at ${i}: ${got[i - 1]} then ${got[i]}`);
      assert.equal(got[0], 0);
      assert.ok(got.length < 8000, 'the damaged part was skipped');
      const gaps = got.filter((v, i) => i > 0 && v !== got[i - 1]! + 1).length;
      assert.ok(gaps <= 1, `one skipped run, got ${gaps} gaps`);
    } finally {
      await second.relay.stop('SIGKILL');
      await sink.close();
    }
  });
});

test('spill: a spill directory that cannot be created is a one-line startup error, exit 1', async () => {
  await withSpillDir(async (dir) => {
    const aFile = path.join(dir, 'not-a-directory');
    await writeFile(aFile, '');
    const exit = await spawnRelay(['udp@127.0.0.1:0', '--spill-dir', path.join(aFile, 'spill'), 'tcp@127.0.0.1:9']).exit();
    assert.equal(exit.code, 1, exit.stderr);
    assert.match(exit.stderr, /^relay: cannot use --spill-dir ".*not-a-directory\/spill": ENOTDIR/m);
  });
});

test('spill: past --spill-max further spills are dropped and counted; what was kept arrives in order', async () => {
  await withSpillDir(async (dir) => {
    const port = await freePort();
    const { relay, listeners } = await startRelay([
      'udp@127.0.0.1:0',
      ...RING,
      ...FAST_RECONNECT,
      '--spill-dir',
      dir,
      '--spill-max',
      '2MiB',
      ...DRAIN,
      `tcp@127.0.0.1:${port}`,
    ]);
    let sink: TestSink | undefined;
    try {
      await sendPaced(listeners[0]!, 0, 16_000);
      await relay.waitForStderr(/spill directory full or failing: dropped \d+ message/);
      sink = await TestSink.start('len32le', '127.0.0.1', port);
      await sink.waitFor(1, 30_000);
      // A graceful stop delivers what the spill and the ring still hold before it exits.
      await stopCleanly(relay);
      await sink.waitUntilClosed();
      const got = sequence(sink);
      for (let i = 1; i < got.length; i++) assert.ok(got[i]! > got[i - 1]!, `out of order at ${i}`);
      assert.ok(got.length < 16_000 && got.length > 2000, `kept a bounded part: ${got.length}`);
      assert.equal(got.at(-1), 15_999, 'the newest data is still delivered');
    } finally {
      await relay.stop('SIGKILL');
      await sink?.close();
    }
  });
});

/**
 * One TCP listener that takes connections in either framing and tells them apart by their first
 * byte (a len32le frame of a 1000-byte message starts with 0xe8, an lf line with '.'), keeping
 * each framing's messages in arrival order.
 */
async function startSniffingSink(port: number): Promise<{
  streams: Record<'len32le' | 'lf', number[]>;
  errors: string[];
  /** Resolves once both destinations have connected and every connection has closed (read to its end). */
  waitUntilClosed(timeoutMs?: number): Promise<void>;
  close: () => Promise<void>;
}> {
  const streams = { len32le: [] as number[], lf: [] as number[] };
  const errors: string[] = [];
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  let wake = (): void => {};
  const server = net.createServer((socket) => {
    accepted++;
    sockets.add(socket);
    socket.on('close', () => {
      sockets.delete(socket);
      wake();
    });
    socket.on('error', () => {});
    let framing: 'len32le' | 'lf' | undefined;
    let decoder: FrameDecoder | undefined;
    socket.on('data', (chunk: Buffer) => {
      framing ??= chunk[0] === 0x2e ? 'lf' : 'len32le';
      decoder ??= new FrameDecoder(framing, 1 << 20);
      try {
        for (const m of decoder.push(chunk)) streams[framing].push(numberOf(m));
      } catch (error) {
        errors.push(`${framing}: ${(error as Error).message}`);
        socket.destroy();
      }
    });
  });
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  return {
    streams,
    errors,
    waitUntilClosed: async (timeoutMs = 20_000) => {
      const deadline = Date.now() + timeoutMs;
      while (accepted < 2 || sockets.size > 0) {
        if (Date.now() > deadline) throw new Error(`sniffing sink: ${accepted} connection(s), ${sockets.size} still open after ${timeoutMs} ms`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.max(1, deadline - Date.now()));
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

test('spill: two framings on one host:port keep separate spill directories; each gets its own whole, ordered stream across a restart', async () => {
  await withSpillDir(async (dir) => {
    const port = await freePort();
    const args = ['udp@127.0.0.1:0', ...RING, ...FAST_RECONNECT, ...DRAIN, '--spill-dir', dir, `tcp@127.0.0.1:${port}`, `tcp@127.0.0.1:${port}?framing=lf`];
    const first = await startRelay(args);
    let receivedFirst = 0;
    try {
      // Down the whole first run: over a ring's worth overflows to disk, the stop spills the rest.
      await sendPaced(first.listeners[0]!, 0, 8000);
      receivedFirst = await stopCleanly(first.relay);
    } finally {
      await first.relay.stop('SIGKILL');
    }
    const sink = await startSniffingSink(port);
    const second = await startRelay(args);
    try {
      await sendPaced(second.listeners[0]!, 8000, 10_000);
      const receivedSecond = await stopCleanly(second.relay);
      await sink.waitUntilClosed();
      assert.deepEqual(sink.errors, []);
      for (const framing of ['len32le', 'lf'] as const) {
        const got = sink.streams[framing];
        assert.equal(got.length, receivedFirst + receivedSecond, `${framing}: delivered = received`);
        for (let i = 1; i < got.length; i++) if (got[i]! <= got[i - 1]!) assert.fail(`${framing}: out of order or twice at ${i}: ${got[i - 1]} then ${got[i]}`);
      }
      // One directory per destination: the default framing keeps the name earlier versions used.
      assert.deepEqual((await readdir(dir)).filter((name) => !name.startsWith('.')).sort(), [`127.0.0.1_${port}`, `127.0.0.1_${port}_lf`]);
    } finally {
      await second.relay.stop('SIGKILL');
      await sink.close();
    }
  });
});

test('spill: the same destination twice is refused before anything binds', async () => {
  const relay = spawnRelay(['udp@127.0.0.1:0', 'tcp@127.0.0.1:9', 'tcp@127.0.0.1:9?framing=len32le']);
  const exit = await relay.exit();
  assert.equal(exit.code, 2);
  assert.equal(exit.stderr, 'relay: destination tcp@127.0.0.1:9?framing=len32le is given twice (framing len32le): each destination may appear once\n');
});
