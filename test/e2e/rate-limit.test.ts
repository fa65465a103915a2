/**
 * --rate-limit and --rate-burst through bin/relay (on the native and the node:dgram receive path:
 * npm test runs the end-to-end tests on both): a noisy source gets its burst and the rate, the rest
 * is dropped and counted (`rate_limited`, per listener) and named in the log, while a quiet source
 * on the same listener loses nothing; each line of a ?split=lf datagram counts; TCP inputs are
 * limited per source address too; and SIGHUP turns the limit on without a restart.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import path from 'node:path';
import { writeFile } from 'node:fs/promises';
import { RELAY_BIN, startRelay, type RelayProcess, portOf } from '../helpers/relay-process.js';
import { eventually, metricsBase, stats } from '../helpers/relay-stats.js';
import { stopRelayAndSinks, TestSink } from '../helpers/sinks.js';
import { sendFrom } from '../helpers/udp-sender.js';
import { withTempDir } from '../helpers/temp-dir.js';
import { relayToml } from '../helpers/reload-config.js';

/** Writes `text` on a TCP connection from `from` and closes it; resolves with the milliseconds until it closed. */
async function writeFrom(from: string, port: number, text: string): Promise<number> {
  const started = performance.now();
  const socket = net.connect({ port, host: '127.0.0.1', localAddress: from });
  socket.resume();
  socket.end(text);
  await once(socket, 'close');
  return performance.now() - started;
}

const lines = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix} ${i}`);

/** Messages of `sink` that start with `prefix`. */
const countOf = (sink: TestSink, prefix: string): number => sink.messages.filter((m) => m.toString().startsWith(`${prefix} `)).length;

/** At most burst + rate × elapsed, and at least the burst: what a token bucket lets through. */
function assertWithinBucket(name: string, got: number, burst: number, perSecond: number, elapsedMs: number): void {
  assert.ok(got >= burst, `${name}: ${got} through, fewer than the burst ${burst}`);
  assert.ok(
    got <= burst + Math.ceil((perSecond * elapsedMs) / 1000) + 1,
    `${name}: ${got} through in ${Math.round(elapsedMs)} ms, rate ${perSecond}/s burst ${burst}`,
  );
}

test('--rate-limit 20 --rate-burst 50: a noisy source gets its burst and the rate, the rest counted; a quiet one loses nothing; UDP, split lines and TCP', async () => {
  const sink = await TestSink.start('lf');
  let relay: RelayProcess | undefined;
  try {
    const started = await startRelay(
      [
        'udp@127.0.0.1:0',
        `${sink.address()}?framing=lf`,
        '--listen',
        'udp@127.0.0.1:0?split=lf',
        '--listen',
        'tcp@127.0.0.1:0?framing=lf',
        '--rate-limit',
        '20',
        '--rate-burst',
        '50',
        '--metrics',
        '127.0.0.1:0',
        '--stats-interval',
        '0',
      ],
      3,
    );
    relay = started.relay;
    const base = await metricsBase(relay);
    const [udpPort, splitPort, tcpPort] = started.listeners.map(portOf) as [number, number, number];
    const noisyMs = await sendFrom('127.0.0.2', udpPort, lines('noisy', 1000));
    await sendFrom('127.0.0.1', udpPort, lines('quiet', 40));
    // 10 datagrams of 30 lines: 300 messages from one source.
    const splitMs = await sendFrom(
      '127.0.0.3',
      splitPort,
      Array.from({ length: 10 }, (_, d) => lines(`split${d}`, 30).join('\n')),
    );
    const tcpMs = await writeFrom('127.0.0.4', tcpPort, `${lines('tcp', 500).join('\n')}\n`);
    await writeFrom('127.0.0.5', tcpPort, `${lines('tcpquiet', 30).join('\n')}\n`);

    await eventually(async () => {
      const l = (await stats(base)).listeners;
      const received = l.map((x) => x.receivedMessages + x.droppedMessages.rate_limited + x.kernelDroppedMessages);
      return (received[0] === 1040 && received[1] === 300 && received[2] === 530) || `received or limited: ${received.join(', ')} of 1040, 300, 530`;
    });
    await sink.waitFor((await stats(base)).listeners.reduce((n, l) => n + l.receivedMessages, 0));
    const l = (await stats(base)).listeners;
    const noisy = countOf(sink, 'noisy');
    assertWithinBucket('udp 127.0.0.2', noisy, 50, 20, noisyMs);
    assert.equal(countOf(sink, 'quiet'), 40, 'the quiet UDP source lost messages');
    assert.equal(l[0]!.droppedMessages.rate_limited, 1000 - noisy - l[0]!.kernelDroppedMessages);
    const split = sink.messages.filter((m) => m.toString().startsWith('split')).length;
    assertWithinBucket('split lines from 127.0.0.3', split, 50, 20, splitMs);
    assert.equal(l[1]!.droppedMessages.rate_limited, 300 - split - l[1]!.kernelDroppedMessages);
    const tcp = countOf(sink, 'tcp');
    assertWithinBucket('tcp from 127.0.0.4', tcp, 50, 20, tcpMs);
    assert.equal(countOf(sink, 'tcpquiet'), 30, 'the quiet TCP source lost messages');
    assert.equal(l[2]!.droppedMessages.rate_limited, 500 - tcp);

    const metrics = await (await fetch(`${base}/metrics`)).text();
    assert.match(
      metrics,
      new RegExp(
        `^relay_ingest_dropped_messages_total\\{listener="udp@127\\.0\\.0\\.1:${udpPort}",reason="rate_limited"\\} ${l[0]!.droppedMessages.rate_limited}$`,
        'm',
      ),
    );
    // A second after the first drop: the drops of that second in it, not only the first.
    const report = await relay.waitForStderr(
      new RegExp(
        `udp@127\\.0\\.0\\.1:${udpPort}: dropping messages over --rate-limit 20/s per source \\(burst 50\\); most dropped since the last report: 127\\.0\\.0\\.2 \\((\\d+)\\)`,
      ),
    );
    const reported = Number(report[1]);
    assert.ok(reported > 1 && reported <= l[0]!.droppedMessages.rate_limited, `the report names ${reported} drops of the noisy source`);
  } finally {
    await stopRelayAndSinks(relay, [sink]);
  }
});

test('--rate-limit by SIGHUP: a running relay without a limit gets one, and --check-config shows it', async () => {
  await withTempDir('relay-rate-limit-', async (dir) => {
    const sink = await TestSink.start();
    const file = path.join(dir, 'relay.toml');
    await writeFile(file, relayToml(['udp@127.0.0.1:0'], [sink.address()]));
    const { relay, listeners } = await startRelay(['--config', file]);
    try {
      const base = await metricsBase(relay);
      const port = portOf(listeners[0]!);
      await sendFrom('127.0.0.2', port, lines('before', 300));
      await sink.waitFor(300 - (await stats(base)).listeners[0]!.kernelDroppedMessages);
      assert.equal((await stats(base)).listeners[0]!.droppedMessages.rate_limited, 0);

      await writeFile(file, relayToml(['udp@127.0.0.1:0'], [sink.address()], 'rate-limit = 10\nrate-burst = 25\n'));
      relay.child.kill('SIGHUP');
      await relay.waitForStderr(/reloaded .*relay\.toml/);
      const ms = await sendFrom('127.0.0.2', port, lines('after', 300));
      await eventually(async () => {
        const x = (await stats(base)).listeners[0]!;
        return x.receivedMessages + x.droppedMessages.rate_limited + x.kernelDroppedMessages === 600 || `${x.receivedMessages} received`;
      });
      await sink.waitFor((await stats(base)).listeners[0]!.receivedMessages);
      assertWithinBucket('after the reload', countOf(sink, 'after'), 25, 10, ms);

      const check = execFileSync(process.execPath, [RELAY_BIN, '--check-config', file], { encoding: 'utf8' });
      assert.match(check, /at most 10 messages\/s per source, bursts of 25/);
    } finally {
      await stopRelayAndSinks(relay, [sink]);
    }
  });
});
