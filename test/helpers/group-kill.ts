/**
 * A group member killed mid-stream, end to end through bin/relay (test/e2e/groups.test.ts and
 * groups-wide.test.ts): the scenario and what must hold whatever the mode.
 */
import assert from 'node:assert/strict';
import { startRelay, type RelayProcess } from './relay-process.js';
import { eventually, metricsBase, stats } from './relay-stats.js';
import type { TestSink } from './sinks.js';
import { metricValue, sendLines } from './tcp-lines.js';

/** A line of about 1 KB: many of them fill the kernel's buffers of a member that stops reading, so the relay holds unconfirmed writes. */
export const bigLine = (key: string, i: number): string => `${key} ${i} ${'x'.repeat(1000)}`;

/**
 * Sends N big lines to a group of `sinks`, stops the member at `victim` reading once it has some,
 * kills it once the relay has received everything (so it holds unconfirmed writes for it), and
 * waits until every message either arrived or is one the dead member's kernel had taken (counted
 * sent to it: plain TCP cannot tell those were lost). Returns what each member was counted sent,
 * and what the dead one handed over and the others took.
 */
export async function killMidStream(
  mode: string,
  sinks: TestSink[],
  N: number,
  keyOf: (i: number) => string,
  victim = 0,
): Promise<{ sent: number[]; handed: number; taken: number }> {
  let relay: RelayProcess | undefined;
  try {
    const members = sinks.map((s) => `${s.address()}?framing=lf`).join(',');
    const started = await startRelay([
      'tcp@127.0.0.1:0?framing=lf',
      '--group',
      `name=tier mode=${mode} members=${members}`,
      '--metrics',
      '127.0.0.1:0',
      '--stats-interval',
      '0',
    ]);
    relay = started.relay;
    const base = await metricsBase(relay);
    const health = async (): Promise<string> => ((await (await fetch(`${base}/health`)).json()) as { status: string }).status;
    await eventually(async () => (await health()) === 'ok' || `health ${await health()}`);
    const sending = sendLines(
      started.listeners[0]!,
      Array.from({ length: N }, (_, i) => bigLine(keyOf(i), i)),
    );
    await sinks[victim]!.waitFor(1000);
    sinks[victim]!.pauseReading();
    await sending;
    await eventually(async () => (await stats(base)).listeners[0]!.receivedMessages === N || 'the relay has not received everything yet', 20_000);
    sinks[victim]!.resetConnections();
    await sinks[victim]!.close();
    const seen = (): Set<number> => new Set(sinks.flatMap((s) => s.messages).map(metricValue));
    await eventually(async () => {
      const s = await stats(base);
      const lostInKernel = s.destinations[victim]!.sentMessages - sinks[victim]!.messages.length;
      // The relay counts a write sent at its callback, which may come a moment after the peer read it.
      const counted = s.destinations.reduce((n, d) => n + d.sentMessages, 0);
      return (
        (seen().size + lostInKernel === N && counted === N) ||
        `${seen().size} distinct messages arrived, ${lostInKernel} counted sent to the dead member and lost in its kernel, ${counted} counted sent, of ${N}`
      );
    }, 20_000);
    assert.equal(await health(), 'degraded');
    const snapshot = await stats(base);
    assert.ok(snapshot.destinations.every((d) => d.group === 'tier'));
    const metrics = await (await fetch(`${base}/metrics`)).text();
    assert.match(metrics, /^relay_sent_messages_total\{destination="tcp@127\.0\.0\.1:\d+\?framing=lf",group="tier"\} \d+$/m);
    const sent = snapshot.destinations.map((d) => d.sentMessages);
    assert.equal(
      sent.reduce((a, b) => a + b, 0),
      N,
      'each message counted sent once',
    );
    const handed = snapshot.destinations[victim]!.handedOverMessages;
    const taken = snapshot.destinations.reduce((n, d, i) => (i === victim ? n : n + d.takenOverMessages), 0);
    assert.equal(taken, handed, 'what the dead member handed over, the others took');
    assert.ok(handed > 0, 'the dead member held unconfirmed messages when it died');
    return { sent, handed, taken };
  } finally {
    await relay?.stop('SIGKILL');
  }
}
