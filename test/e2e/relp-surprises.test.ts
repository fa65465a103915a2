/**
 * relp@ against what real RELP peers do besides answering: rsyslog restarted with SIGTERM (imrelp
 * sends its last answers and `serverclose` in one segment), answers out of order followed by a FIN,
 * and a server that does not offer the syslog command. None of it may end the relay: the session
 * ends, what was answered counts once, the rest is resent (counted), nothing is dropped.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { startRelay, type RelayProcess } from '../helpers/relay-process.js';
import { eventually, metricsBase, stats } from '../helpers/relay-stats.js';
import { faultyReceiver, message, numberOf, type Verdict } from '../helpers/relp-receiver.js';
import { missingRsyslog, readRsyslogFile, startRsyslog } from '../helpers/rsyslog.js';
import { sendLines, sendPaced } from '../helpers/tcp-lines.js';
import { withTempDir } from '../helpers/temp-dir.js';

const RECONNECT = ['--reconnect-min', '10ms', '--reconnect-max', '50ms'];

async function relayTo(destination: string, extra: string[] = []): Promise<{ relay: RelayProcess; listener: string; base: string }> {
  const { relay, listeners } = await startRelay(['tcp@127.0.0.1:0?framing=lf', destination, '--metrics', '127.0.0.1:0', '--stats-interval', '0', ...extra]);
  return { relay, listener: listeners[0]!, base: await metricsBase(relay) };
}

const lines = (count: number, from = 0): string[] => Array.from({ length: count }, (_, i) => message(from + i));

const surprises: { name: string; verdict: Verdict }[] = [
  { name: 'its last answers and serverclose in one segment', verdict: 'serverclose' },
  { name: 'two answers out of order, then a FIN', verdict: 'swap' },
];

for (const { name, verdict } of surprises) {
  test(`relp: a receiver that sends ${name}, five times: the relay lives on, every message is acknowledged and counted sent once, the rest resent`, async () => {
    const N = 6000;
    // Each of the first five connections answers its commands 600 to 699 only with its 700th, and ends so there.
    const receiver = await faultyReceiver((connection, command) =>
      connection >= 5 || command < 600 || command > 700 ? 'ok' : command === 700 ? verdict : verdict === 'swap' ? 'ok' : 'later',
    );
    let relay: RelayProcess | undefined;
    try {
      const r = await relayTo(receiver.address, RECONNECT);
      relay = r.relay;
      // A steady stream (many small writes, so one segment of answers settles several of them).
      await sendPaced(r.listener, lines(N), 30, 5);
      await eventually(async () => new Set(receiver.answered).size === N || `${new Set(receiver.answered).size} of ${N} answered`, 30_000);
      await eventually(async () => (await stats(r.base)).destinations[0]!.sentMessages === N || 'the last answers are not read yet');
      const d = (await stats(r.base)).destinations[0]!;
      assert.equal(d.sentMessages, N, 'each message counted sent once');
      assert.deepEqual(d.droppedMessages, Object.fromEntries(Object.keys(d.droppedMessages).map((k) => [k, 0])), 'nothing dropped');
      assert.ok(receiver.connections() >= 6, `${receiver.connections()} connections`);
      assert.ok(d.resentMessages >= receiver.received.length - N, `duplicates counted as resent (${d.resentMessages})`);
      const exit = await relay.stop('SIGTERM');
      assert.equal(exit.code, 0, exit.stderr);
      assert.match(exit.stderr, /the server closed the session \(serverclose\)|a RELP answer out of order/);
    } finally {
      await relay?.stop('SIGKILL');
      await receiver.close();
    }
  });
}

test('relp: a server that does not offer the syslog command is refused: the destination stays down, says why, and drops nothing', async () => {
  const receiver = await faultyReceiver(() => 'ok', 'relp_version=0\ncommands=');
  let relay: RelayProcess | undefined;
  try {
    const r = await relayTo(receiver.address, RECONNECT);
    relay = r.relay;
    await sendLines(r.listener, lines(100));
    await relay.waitForStderr(/does not offer the syslog command/);
    await eventually(async () => receiver.connections() >= 3 || `${receiver.connections()} connection(s)`);
    const d = (await stats(r.base)).destinations[0]!;
    assert.equal(receiver.received.length, 0, 'no syslog command was sent');
    assert.equal(d.sentMessages, 0);
    assert.deepEqual(d.droppedMessages, Object.fromEntries(Object.keys(d.droppedMessages).map((k) => [k, 0])), 'nothing dropped');
    assert.equal(d.up, false);
  } finally {
    await relay?.stop('SIGKILL');
    await receiver.close();
  }
});

test('relp: rsyslog restarted with SIGTERM eight times under a steady stream: the relay lives on and every message is in rsyslog files, duplicates counted', async (t) => {
  if (missingRsyslog(t)) return;
  const N = 12_000;
  const RESTARTS = 8;
  await withTempDir('relp-rsyslog-term-', async (dir) => {
    let rsyslog = await startRsyslog(dir, { name: 'run-0' });
    const port = rsyslog.port;
    const files = [rsyslog.file];
    let relay: RelayProcess | undefined;
    const stopSending = new AbortController();
    try {
      const r = await relayTo(`relp@127.0.0.1:${port}`, ['--reconnect-min', '20ms', '--reconnect-max', '200ms']);
      relay = r.relay;
      const written = async (): Promise<number[]> => (await Promise.all(files.map(readRsyslogFile))).flat().map(numberOf);
      // A steady stream of ~2,500 messages/s (25 every 10 ms: many small writes, answered in batches) while rsyslog restarts.
      const sending = sendPaced(r.listener, lines(N), 25, 10, stopSending.signal);
      sending.catch(() => {}); // awaited below; a failure before that must not go unhandled
      for (let restart = 1; restart <= RESTARTS; restart++) {
        const target = (restart * N) / (RESTARTS + 2);
        await eventually(async () => new Set(await written()).size >= target || `rsyslog wrote fewer than ${target}`, 30_000);
        const exit = await rsyslog.stop('SIGTERM');
        assert.equal(exit.code, 0, `rsyslogd: ${exit.stderr}`);
        assert.equal(relay.child.exitCode, null, `the relay exited: ${relay.stderr}`);
        rsyslog = await startRsyslog(dir, { name: `run-${restart}`, port });
        files.push(rsyslog.file);
      }
      await sending;
      await eventually(async () => new Set(await written()).size === N || `${new Set(await written()).size} of ${N} in rsyslog's files`, 30_000);
      await eventually(async () => (await stats(r.base)).destinations[0]!.sentMessages === N || 'not every message acknowledged yet', 10_000);
      const all = await written();
      const d = (await stats(r.base)).destinations[0]!;
      assert.ok(d.resentMessages >= all.length - N, `duplicates (${all.length - N}) are counted as resent (${d.resentMessages})`);
      const exit = await relay.stop('SIGTERM');
      assert.equal(exit.code, 0, exit.stderr);
      t.diagnostic(`${RESTARTS} SIGTERM restarts: ${N} of ${N} present, ${all.length - N} duplicate(s), ${d.resentMessages} resent`);
    } finally {
      stopSending.abort();
      await relay?.stop('SIGKILL');
      await rsyslog.stop('SIGKILL');
    }
  });
});
