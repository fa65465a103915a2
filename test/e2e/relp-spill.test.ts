/**
 * relp@ with --spill-dir loses nothing: the real rsyslog (imrelp, Direct queue) is stopped
 * (SIGSTOP) while the stream goes on, so the relay's ring passes 3/4 (the oldest unread items
 * are spilled) and then 7/8 (the unanswered RELP window pins it: the connection is cut); rsyslog is
 * then killed and started again on its port. The window it never answered is older than what was
 * spilled: it must be resent first, not dropped.
 */
import test from 'node:test';
import path from 'node:path';
import assert from 'node:assert/strict';
import { startRelay, type RelayProcess } from '../helpers/relay-process.js';
import { eventually, metricsBase, stats } from '../helpers/relay-stats.js';
import { message, numberOf } from '../helpers/relp-receiver.js';
import { missingRsyslog, readRsyslogFile, startRsyslog } from '../helpers/rsyslog.js';
import { sendLines, sendPaced } from '../helpers/tcp-lines.js';
import { withTempDir } from '../helpers/temp-dir.js';

const lines = (count: number, from = 0): string[] => Array.from({ length: count }, (_, i) => `${message(from + i)}`.padStart(200, '.'));

test('relp + spill: rsyslog stopped, then killed while the ring overflows: every message arrives, none is dropped', async (t) => {
  if (missingRsyslog(t)) return;
  const BEFORE = 1000;
  const DURING = 14_000;
  await withTempDir('relp-spill-', async (dir) => {
    let rsyslog = await startRsyslog(dir, { name: 'first' });
    const port = rsyslog.port;
    const files = [rsyslog.file];
    let relay: RelayProcess | undefined;
    try {
      const { relay: started, listeners } = await startRelay([
        'tcp@127.0.0.1:0?framing=lf',
        `relp@127.0.0.1:${port}`,
        ...['--buffer', '2MiB', '--max-message', '2000', '--spill-dir', dir, '--metrics', '127.0.0.1:0', '--stats-interval', '0'],
        ...['--reconnect-min', '20ms', '--reconnect-max', '100ms', '--stall-timeout', '60s'],
      ]);
      relay = started;
      const base = await metricsBase(relay);
      const written = async (): Promise<number[]> => (await Promise.all(files.map(readRsyslogFile))).flat().map(numberOf);
      await sendLines(listeners[0]!, lines(BEFORE));
      await eventually(async () => (await written()).length >= BEFORE || 'rsyslog has not written the first lines', 20_000);
      rsyslog.process.child.kill('SIGSTOP');
      // 14,000 lines of 200 bytes at about 1 MB/s: more than a ring; the connection pinned and cut on the way. At
      // that rate ingest takes ~0.5 s to fill the last quarter of the ring, well past the 100 ms a
      // connected destination that stopped releasing may hold it before the lag rule applies (lag-policy.ts).
      // Paced so that the spill keeps up: the ring overflows for this destination, never for ingest.
      await sendPaced(listeners[0]!, lines(DURING, BEFORE), 20, 4);
      await eventually(async () => {
        const d = (await stats(base)).destinations[0]!;
        return d.spilledMessages > 0 || 'nothing spilled yet';
      });
      await rsyslog.stop('SIGKILL');
      rsyslog = await startRsyslog(dir, { name: 'second', port });
      files.push(rsyslog.file);
      const N = BEFORE + DURING;
      await eventually(async () => {
        const d = (await stats(base)).destinations[0]!;
        const counts = `sent ${d.sentMessages}, dropped ${JSON.stringify(d.droppedMessages)}, spilled ${d.spilledMessages}, replayed ${d.replayedMessages}, unconfirmed ${d.unconfirmedMessages}, up ${d.up}`;
        return new Set(await written()).size === N || `${new Set(await written()).size} of ${N} in rsyslog's files (${counts})`;
      }, 30_000);
      const snapshot = await stats(base);
      const d = snapshot.destinations[0]!;
      assert.equal(snapshot.listeners[0]!.droppedMessages.ring_full, 0, 'ingest dropped nothing');
      assert.deepEqual(d.droppedMessages, Object.fromEntries(Object.keys(d.droppedMessages).map((k) => [k, 0])), 'nothing dropped');
      const exit = await relay.stop('SIGTERM');
      assert.equal(exit.code, 0, exit.stderr);
      t.diagnostic(`${N} of ${N} in rsyslog's files; ${d.spilledMessages} spilled, ${d.resentMessages} resent`);
    } finally {
      await relay?.stop('SIGKILL');
      await rsyslog.stop('SIGKILL');
    }
  });
});

test('relp + spill: the relay stops while rsyslog is down with a window pinned behind spilled data; the next run delivers every message', async (t) => {
  if (missingRsyslog(t)) return;
  const BEFORE = 1000;
  const DURING = 14_000;
  const N = BEFORE + DURING;
  await withTempDir('relp-spill-stop-', async (dir) => {
    let rsyslog = await startRsyslog(dir, { name: 'first' });
    const port = rsyslog.port;
    const files = [rsyslog.file];
    const written = async (): Promise<number[]> => (await Promise.all(files.map(readRsyslogFile))).flat().map(numberOf);
    const relayArgs = [
      `relp@127.0.0.1:${port}`,
      ...['--buffer', '2MiB', '--max-message', '2000', '--spill-dir', path.join(dir, 'spill'), '--metrics', '127.0.0.1:0', '--stats-interval', '0'],
      ...['--reconnect-min', '20ms', '--reconnect-max', '100ms', '--stall-timeout', '60s', '--drain-timeout', '500ms'],
    ];
    let relay: RelayProcess | undefined;
    try {
      const first = await startRelay(['tcp@127.0.0.1:0?framing=lf', ...relayArgs]);
      relay = first.relay;
      const base = await metricsBase(relay);
      await sendLines(first.listeners[0]!, lines(BEFORE));
      await eventually(async () => (await written()).length >= BEFORE || 'rsyslog has not written the first lines', 20_000);
      // rsyslog stops answering: the window goes out unanswered, and the ring behind it overflows to the spill.
      rsyslog.process.child.kill('SIGSTOP');
      await sendPaced(first.listeners[0]!, lines(DURING, BEFORE), 20, 4);
      let before = (await stats(base)).destinations[0]!;
      await eventually(async () => {
        before = (await stats(base)).destinations[0]!;
        return (before.spilledMessages > 0 && before.unconfirmedMessages > 0) || `spilled ${before.spilledMessages}, unconfirmed ${before.unconfirmedMessages}`;
      });
      await rsyslog.stop('SIGKILL');
      await eventually(async () => !(await stats(base)).destinations[0]!.up || 'the destination is still up');
      // A graceful stop with the receiver gone: the unanswered window is older than what was spilled after it.
      const stopped = await relay.stop('SIGTERM');
      assert.equal(stopped.code, 0, stopped.stderr);
      assert.doesNotMatch(stopped.stderr, /undelivered at shutdown/, 'nothing undelivered at the stop');
      rsyslog = await startRsyslog(dir, { name: 'second', port });
      files.push(rsyslog.file);
      // The next run: no new input, only what the first left in the spill directory.
      const second = await startRelay(['tcp@127.0.0.1:0?framing=lf', ...relayArgs]);
      relay = second.relay;
      const secondBase = await metricsBase(relay);
      await eventually(async () => {
        const d = (await stats(secondBase)).destinations[0]!;
        const seen = new Set(await written()).size;
        return seen === N || `${seen} of ${N} in rsyslog's files (second run: replayed ${d.replayedMessages}, sent ${d.sentMessages}, up ${d.up})`;
      }, 30_000);
      const after = (await stats(secondBase)).destinations[0]!;
      assert.deepEqual(after.droppedMessages, Object.fromEntries(Object.keys(after.droppedMessages).map((k) => [k, 0])), 'nothing dropped');
      t.diagnostic(
        `${N} of ${N} in rsyslog's files; first run spilled ${before.spilledMessages} with ${before.unconfirmedMessages} unconfirmed; the second replayed ${after.replayedMessages}`,
      );
    } finally {
      await relay?.stop('SIGKILL');
      await rsyslog.stop('SIGKILL');
    }
  });
});
