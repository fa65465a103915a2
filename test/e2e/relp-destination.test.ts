/**
 * relp@ destinations through bin/relay: a message counts as sent only once the receiver answered
 * 200 for it. Against a RELP receiver of this test that cuts the connection between commands and
 * their answers, withholds answers, and refuses some messages (500); and against the real rsyslog
 * (imrelp, Direct queue) killed with SIGKILL mid-stream and started again on the same port:
 * every message arrives at least once, duplicates only of what was unanswered at a break, each
 * counted as resent, never as lost.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { startRelay, type RelayProcess } from '../helpers/relay-process.js';
import { eventually, metricsBase, stats } from '../helpers/relay-stats.js';
import { missingRsyslog, readRsyslogFile, startRsyslog } from '../helpers/rsyslog.js';
import { sendLines } from '../helpers/tcp-lines.js';
import { withTempDir } from '../helpers/temp-dir.js';
import { faultyReceiver } from '../helpers/relp-receiver.js';

import { message, numberOf } from '../helpers/relp-receiver.js';

async function relayTo(destination: string, extra: string[] = []): Promise<{ relay: RelayProcess; listener: string; base: string }> {
  const { relay, listeners } = await startRelay(['tcp@127.0.0.1:0?framing=lf', destination, '--metrics', '127.0.0.1:0', '--stats-interval', '0', ...extra]);
  return { relay, listener: listeners[0]!, base: await metricsBase(relay) };
}

test('relp: connections cut between commands and their answers: every message arrives, what was answered is never sent again, the rest is resent and counted', async (t) => {
  const N = 20_000;
  // Each of the first five connections ends after 3000 commands, answering only the first 2900 of them.
  const receiver = await faultyReceiver((connection, command) => (connection < 5 && command >= 2900 ? (command === 3000 ? 'cut' : 'withhold') : 'ok'));
  let relay: RelayProcess | undefined;
  try {
    const r = await relayTo(receiver.address, ['--reconnect-min', '10ms', '--reconnect-max', '50ms']);
    relay = r.relay;
    await sendLines(
      r.listener,
      Array.from({ length: N }, (_, i) => message(i)),
    );
    await eventually(async () => new Set(receiver.answered).size === N || `${new Set(receiver.answered).size} of ${N} answered`, 30_000);
    // The relay reads the last answers a moment after they were sent.
    await eventually(async () => (await stats(r.base)).destinations[0]!.sentMessages === N || 'the last answers are not read yet');
    const d = (await stats(r.base)).destinations[0]!;
    assert.equal(d.sentMessages, N, 'sent counts each message once, when it was answered');
    assert.equal(d.unconfirmedMessages, 0);
    const duplicates = receiver.received.length - N;
    assert.ok(duplicates > 0, 'the cuts made the relay send unanswered messages again');
    assert.ok(d.resentMessages >= duplicates, `every duplicate was counted as resent (${d.resentMessages} resent, ${duplicates} duplicates)`);
    // Nothing answered 200 was sent again: each message was answered once.
    assert.equal(receiver.answered.length, N, 'no message answered twice');
    assert.ok(receiver.connections() >= 6);
    t.diagnostic(`${receiver.connections()} connections, ${receiver.received.length} commands for ${N} messages, ${d.resentMessages} counted resent`);
  } finally {
    await relay?.stop('SIGKILL');
    await receiver.close();
  }
});

test('relp: a message the receiver refuses (500) is counted as rejected, logged with the reason, and not sent again', async () => {
  const N = 3000;
  const receiver = await faultyReceiver((_c, _n, payload) => (numberOf(payload) % 100 === 7 ? 'refuse' : 'ok'));
  let relay: RelayProcess | undefined;
  try {
    const r = await relayTo(receiver.address);
    relay = r.relay;
    await sendLines(
      r.listener,
      Array.from({ length: N }, (_, i) => message(i)),
    );
    await eventually(async () => receiver.received.length === N || `${receiver.received.length} of ${N} received`, 20_000);
    await eventually(async () => {
      const d = (await stats(r.base)).destinations[0]!;
      return (d.sentMessages === N - 30 && d.droppedMessages.rejected === 30) || `sent ${d.sentMessages}, rejected ${d.droppedMessages.rejected}`;
    });
    await relay.waitForStderr(/the receiver refused \d+ message\(s\): 500 not today/);
    assert.equal(receiver.connections(), 1);
  } finally {
    await relay?.stop('SIGKILL');
    await receiver.close();
  }
});

test('relp: answers withheld: nothing counts as sent, the unacknowledged gauge shows them, and the stall timeout resends them on a new connection', async () => {
  const N = 50;
  // The first connection never answers; the second answers everything.
  const receiver = await faultyReceiver((connection) => (connection === 0 ? 'withhold' : 'ok'));
  let relay: RelayProcess | undefined;
  try {
    const r = await relayTo(receiver.address, ['--stall-timeout', '1s', '--reconnect-min', '10ms']);
    relay = r.relay;
    await sendLines(
      r.listener,
      Array.from({ length: N }, (_, i) => message(i)),
    );
    await eventually(async () => {
      const d = (await stats(r.base)).destinations[0]!;
      return (
        (receiver.connections() === 1 && d.unconfirmedMessages === N && d.sentMessages === 0) || `unconfirmed ${d.unconfirmedMessages}, sent ${d.sentMessages}`
      );
    });
    await eventually(async () => receiver.answered.length === N || `${receiver.answered.length} of ${N} answered`, 10_000);
    await eventually(async () => (await stats(r.base)).destinations[0]!.sentMessages === N || 'the last answers are not read yet');
    const d = (await stats(r.base)).destinations[0]!;
    assert.equal(d.sentMessages, N);
    assert.equal(d.stalls, 1);
    assert.deepEqual(
      receiver.answered,
      Array.from({ length: N }, (_, i) => i),
      'resent first, in order',
    );
  } finally {
    await relay?.stop('SIGKILL');
    await receiver.close();
  }
});

test('relp: rsyslog (imrelp, Direct queue) killed with SIGKILL mid-stream and started again: nothing is lost, duplicates only of what was unanswered, counted', async (t) => {
  if (missingRsyslog(t)) return;
  const N = 30_000;
  await withTempDir('relp-rsyslog-kill-', async (dir) => {
    let rsyslog = await startRsyslog(dir, { name: 'first' });
    const port = rsyslog.port;
    const files = [rsyslog.file];
    let relay: RelayProcess | undefined;
    try {
      const r = await relayTo(`relp@127.0.0.1:${port}`, ['--reconnect-min', '20ms', '--reconnect-max', '200ms']);
      relay = r.relay;
      const sending = sendLines(
        r.listener,
        Array.from({ length: N }, (_, i) => message(i)),
      );
      await eventually(async () => (await readRsyslogFile(rsyslog.file)).length >= N / 3 || 'rsyslog has not written a third yet', 20_000);
      await rsyslog.stop('SIGKILL');
      const unconfirmedAtKill = (await stats(r.base)).destinations[0]!.unconfirmedMessages;
      rsyslog = await startRsyslog(dir, { name: 'second', port });
      files.push(rsyslog.file);
      await sending;
      const lines = async (): Promise<number[]> => (await Promise.all(files.map(readRsyslogFile))).flat().map(numberOf);
      await eventually(async () => new Set(await lines()).size === N || `${new Set(await lines()).size} of ${N} in rsyslog's files`, 30_000);
      await eventually(async () => (await stats(r.base)).destinations[0]!.sentMessages === N || 'not every message acknowledged yet', 10_000);
      const all = await lines();
      const duplicates = all.length - N;
      const d = (await stats(r.base)).destinations[0]!;
      assert.equal(d.sentMessages, N, 'each message counted once, when acknowledged');
      assert.ok(d.resentMessages >= duplicates, `duplicates (${duplicates}) are counted as resent (${d.resentMessages})`);
      // One break: at most a window (--relp-window, 128) of commands was out unanswered, and only those went again.
      assert.ok(d.resentMessages <= 128, `only what was unanswered was sent again (${d.resentMessages})`);
      t.diagnostic(
        `killed rsyslog with ${unconfirmedAtKill} messages not yet acknowledged (written to the session or waiting for its window); ${N} of ${N} present, ${duplicates} duplicate(s), ${d.resentMessages} resent`,
      );
    } finally {
      await relay?.stop('SIGKILL');
      await rsyslog.stop('SIGKILL');
    }
  });
});

test('relp: a graceful stop drains, sends close and has it answered before the relay exits', async () => {
  const N = 500;
  const receiver = await faultyReceiver(() => 'ok');
  let relay: RelayProcess | undefined;
  try {
    const r = await relayTo(receiver.address);
    relay = r.relay;
    await sendLines(
      r.listener,
      Array.from({ length: N }, (_, i) => message(i)),
    );
    const exit = await relay.stop('SIGTERM');
    assert.equal(exit.code, 0, exit.stderr);
    assert.equal(receiver.answered.length, N);
    assert.equal(receiver.closes(), 1, 'the session ended with close');
    assert.match(exit.stderr, new RegExp(`sent ${receiver.address.replaceAll('.', '\\.')} ${N}`));
  } finally {
    await relay?.stop('SIGKILL');
    await receiver.close();
  }
});
