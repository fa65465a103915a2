/**
 * A failover group with --spill-dir, through bin/relay: the primary's peer stops reading and then
 * dies, so the primary spills and goes down for good; what it spilled goes to the standby, as what
 * it held in memory does (README "Groups"). Input is a framed TCP listener (`?framing=lf`).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startRelay, type RelayProcess } from '../helpers/relay-process.js';
import { eventually, metricsBase, stats } from '../helpers/relay-stats.js';
import { stopRelayAndSinks, TestSink } from '../helpers/sinks.js';
import { metricValue, sendLines } from '../helpers/tcp-lines.js';
import { withTempDir } from '../helpers/temp-dir.js';

test('groups: failover with --spill-dir: the primary stops reading, spills and dies; the standby gets what it spilled too', async (t) => {
  // 40 MB of 1 KB lines through a 512 KiB ring: far more than the primary's kernel buffers hold (a few MB on loopback), so it spills.
  const N = 40_000;
  const [primary, standby] = [await TestSink.start('lf'), await TestSink.start('lf')];
  let relay: RelayProcess | undefined;
  try {
    await withTempDir('groups-spill-', async (dir) => {
      const members = [primary, standby].map((s) => `${s.address()}?framing=lf`).join(',');
      const started = await startRelay([
        'tcp@127.0.0.1:0?framing=lf',
        '--group',
        `name=pair mode=failover members=${members}`,
        '--spill-dir',
        path.join(dir, 'spill'),
        '--buffer',
        '512KiB',
        '--metrics',
        '127.0.0.1:0',
        '--stats-interval',
        '0',
      ]);
      relay = started.relay;
      const base = await metricsBase(relay);
      const sending = sendLines(
        started.listeners[0]!,
        Array.from({ length: N }, (_, i) => `metric.a ${i} ${'x'.repeat(1000)}`),
      );
      await primary.waitFor(500);
      // The primary's peer stops reading and accepts no new connection: once cut as not reading, it stays down.
      primary.pauseReading();
      primary.server.close();
      await sending;
      // Ingest may find the ring full while the primary holds it (it drops those, counted): what reached the ring is the rest.
      let inRing = 0;
      await eventually(async () => {
        const { receivedMessages, droppedMessages } = (await stats(base)).listeners[0]!;
        inRing = receivedMessages;
        return receivedMessages + droppedMessages.ring_full === N || `the relay took ${receivedMessages} of ${N} (ring full ${droppedMessages.ring_full})`;
      }, 30_000);
      // Its kernel buffers full, the primary spilled more than it could replay; then its peer dies.
      let backlog = 0;
      await eventually(async () => {
        const p = (await stats(base)).destinations[0]!;
        backlog = p.spilledMessages - p.replayedMessages;
        return backlog > 0 || `the primary has no spill backlog (spilled ${p.spilledMessages}, replayed ${p.replayedMessages})`;
      });
      primary.resetConnections();
      const seen = (): Set<number> => new Set([...primary.messages, ...standby.messages].map(metricValue));
      let snapshot = await stats(base);
      await eventually(async () => {
        snapshot = await stats(base);
        // What the primary's kernel took and its peer never read is counted sent to it: plain TCP cannot tell it was lost.
        const lostInKernel = snapshot.destinations[0]!.sentMessages - primary.messages.length;
        // A write is counted sent at its callback, which may come a moment after the peer read it.
        const counted = snapshot.destinations.reduce((n, d) => n + d.sentMessages, 0);
        const dropped = snapshot.destinations.reduce((n, d) => n + Object.values(d.droppedMessages).reduce((a, b) => a + b, 0), 0);
        return (
          (seen().size + lostInKernel === counted && counted + dropped === inRing) ||
          `${seen().size} distinct arrived, ${lostInKernel} lost in the primary's kernel, ${counted} counted sent, ${dropped} dropped, of ${inRing}; destinations ${JSON.stringify(snapshot.destinations)}`
        );
      }, 30_000);
      const [p, s] = snapshot.destinations;
      assert.ok(p!.spilledMessages > 0, 'the primary spilled');
      assert.equal(p!.up, false, 'the primary is down');
      assert.equal(s!.takenOverMessages, p!.handedOverMessages, 'what the primary handed over, the standby took');
      // What it had not replayed when its peer died (the backlog seen a moment before may have shrunk since) it handed over.
      const onDisk = p!.spilledMessages - p!.replayedMessages;
      assert.ok(onDisk > 0 && p!.handedOverMessages >= onDisk, `it handed over what it had on disk (${p!.handedOverMessages}, ${onDisk} on disk)`);
      t.diagnostic(
        `${inRing} of ${N} in the ring; primary confirmed ${p!.sentMessages}, spilled ${p!.spilledMessages} (${backlog} on disk when its peer died), handed over ${p!.handedOverMessages}; standby ${s!.sentMessages}`,
      );
    });
  } finally {
    await stopRelayAndSinks(relay, [primary, standby]);
  }
});
