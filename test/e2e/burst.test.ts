/**
 * Bursts smaller than the ring, through the real `bin/relay` (issue 24, item 9), with `?split=lf`:
 * - the case: 64 datagrams of 600 lines (3.96 MB of ring items, 94% of a 4 MiB ring) sent
 *   back to back, which the native path takes in one receive batch;
 * - one datagram of 500 lines (51.5 KB of items, 79% of a 64 KiB ring) at a time, 20 times: one
 *   datagram is one publish on either receive path, and it needs no large socket buffer.
 * Every reader is healthy and the ring never fills, so the isolation rule (docs/ARCHITECTURE.md,
 * "Isolation") has nothing to protect: every line must arrive, in order, nothing counted dropped.
 * It used to trim the destination to half the ring as soon as such a batch was published (18,040
 * lines counted `overflow` in the first case). npm test runs this file on both UDP receive paths
 * (again with RELAY_NATIVE_UDP=0).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { hostPortOf, startRelay } from '../helpers/relay-process.js';
import { TestSink } from '../helpers/sinks.js';
import { sendBurst, sendWindowed } from '../helpers/udp-sender.js';
import { numbered, sequence } from '../helpers/numbered.js';
import { eventually, metricsBase, stats } from '../helpers/relay-stats.js';

/** 99 bytes + LF: a ring item of 103 bytes; 600 lines make a 60,000-byte datagram, under UDP's 65,507. */
const LINE_BYTES = 99;

const CASES = [
  // ~4.3 MB of kernel accounting: within the 8 MiB that --recv-buffer's default gets under a 4 MiB
  // net.core.rmem_max (as test/e2e/delivery-faults.test.ts assumes).
  { ring: '4MiB', datagrams: 64, lines: 600, together: true, args: [] },
  // A ring must hold 4 messages of --max-message: the default 64 KiB would ask for 512 KiB.
  { ring: '64KiB', datagrams: 20, lines: 500, together: false, args: ['--max-message', '1024'] },
];

for (const { ring, datagrams, lines, together, args } of CASES) {
  const what = together ? `${datagrams} datagrams x ${lines} lines back to back` : `${datagrams} times one datagram of ${lines} lines`;
  test(`burst: ${what} into a ${ring} ring reach a healthy destination whole, nothing dropped`, async () => {
    const sink = await TestSink.start('lf');
    const { relay, listeners } = await startRelay(['udp@127.0.0.1:0?split=lf', '--buffer', ring, ...args, '--metrics', '127.0.0.1:0', sink.address(true)]);
    try {
      const base = await metricsBase(relay);
      await relay.waitForStderr(/connected/);
      const count = datagrams * lines;
      /** Datagram d: lines d*lines .. (d+1)*lines-1, numbered and LF-terminated. */
      const datagramAt = (d: number): Buffer => Buffer.from(Array.from({ length: lines }, (_, j) => `${numbered(d * lines + j, LINE_BYTES)}\n`).join(''));
      const target = hostPortOf(listeners[0]!);
      if (together) {
        await sendBurst(
          target,
          Array.from({ length: datagrams }, (_, d) => datagramAt(d)),
        );
      } else {
        // Each datagram once the last one arrived and the relay let go of it (its writes called
        // back: the sink may read them first): each is a burst of its own into an empty ring.
        const delivered = async (n: number): Promise<void> => {
          await sink.waitFor(n * lines);
          await eventually(async () => (await stats(base)).ring.usedBytes === 0 || 'the ring still holds the last datagram');
        };
        await sendWindowed(target, datagrams, datagramAt, delivered, 1);
      }
      await sink.waitFor(count);
      const got = sequence(sink);
      assert.equal(got.length, count);
      for (let i = 0; i < count; i++) if (got[i] !== i) assert.fail(`line ${i} is ${got[i]}`);
      await eventually(async () => {
        const s = await stats(base);
        const l = s.listeners[0]!;
        const d = s.destinations[0]!;
        const got = {
          received: l.receivedMessages,
          kernelDropped: l.kernelDroppedMessages,
          ringFull: l.droppedMessages.ring_full,
          sent: d.sentMessages,
          ...d.droppedMessages,
        };
        const want = { received: count, kernelDropped: 0, ringFull: 0, sent: count, overflow: 0, spill_full: 0, unframeable: 0, shutdown: 0, rejected: 0 };
        return JSON.stringify(got) === JSON.stringify(want) || `counts ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`;
      });
      const exit = await relay.stop('SIGTERM');
      assert.equal(exit.code, 0, exit.stderr);
    } finally {
      await relay.stop('SIGKILL');
      await sink.close();
    }
  });
}
