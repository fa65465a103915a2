/**
 * `udp@HOST:PORT?split=lf` through the real `bin/relay`: datagrams packed with lines (Graphite
 * plaintext style), some with a last line without LF, some with empty lines, CRLF and a line over
 * --max-message. Each line reaches the sink as one message, in order, and /stats counts lines.
 * npm test runs this file on both UDP receive paths (again with RELAY_NATIVE_UDP=0).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { hostPortOf, startRelay } from '../helpers/relay-process.js';
import { TestSink } from '../helpers/sinks.js';
import { sendWindowed } from '../helpers/udp-sender.js';
import { eventually, metricsBase, stats } from '../helpers/relay-stats.js';

const MAX_MESSAGE = 200;
const DATAGRAMS = 300;

/** Datagram i: 1 to 40 metric lines; every 3rd without a final LF, every 5th with empty lines, every 7th in CRLF, every 11th with a line over --max-message. */
function datagramAt(i: number): { bytes: Buffer; lines: string[]; oversize: number } {
  const eol = i % 7 === 0 ? '\r\n' : '\n';
  const lines = Array.from({ length: 1 + ((i * 13) % 40) }, (_, j) => `relay.test.d${i}.m${j} ${i * 1000 + j} 1700000000${eol.slice(0, -1)}`);
  let text = lines.join(i % 5 === 0 ? '\n\n' : '\n');
  if (i % 5 === 0) text = `\n${text}`;
  let oversize = 0;
  if (i % 11 === 0) {
    text = `${lines[0]}\n${'x'.repeat(MAX_MESSAGE + 1)}\n${lines.slice(1).join('\n')}`;
    oversize = 1;
  }
  if (i % 3 !== 0) text += '\n';
  return { bytes: Buffer.from(text), lines, oversize };
}

test('e2e: udp?split=lf makes every line of a datagram one message, in order; empty lines make none; /stats counts lines', async () => {
  const sink = await TestSink.start('lf');
  const { relay, listeners } = await startRelay([
    'udp@127.0.0.1:0?split=lf',
    '--max-message',
    String(MAX_MESSAGE),
    '--metrics',
    '127.0.0.1:0',
    sink.address(true),
  ]);
  try {
    assert.match(relay.stderr, /listening on udp@127\.0\.0\.1:\d+ \((native recvmmsg|node:dgram), split into lines\)/);
    const base = await metricsBase(relay);
    await relay.waitForStderr(/connected/);
    const datagrams = Array.from({ length: DATAGRAMS }, (_, i) => datagramAt(i));
    const expected = datagrams.flatMap((d) => d.lines);
    // Lines delivered after datagram n, for the sender's window.
    const linesAfter: number[] = [];
    for (const d of datagrams) linesAfter.push((linesAfter.at(-1) ?? 0) + d.lines.length);
    await sendWindowed(
      hostPortOf(listeners[0]!),
      DATAGRAMS,
      (i) => datagrams[i]!.bytes,
      (n) => sink.waitFor(n === 0 ? 0 : linesAfter[n - 1]!),
    );

    assert.equal(sink.messages.length, expected.length);
    assert.deepEqual(
      sink.messages.map((m) => m.toString()),
      expected,
    );
    assert.deepEqual(sink.errors, []);
    const oversize = datagrams.reduce((n, d) => n + d.oversize, 0);
    await eventually(async () => {
      const l = (await stats(base)).listeners[0]!;
      const want = { receivedMessages: expected.length, receivedBytes: expected.reduce((n, line) => n + Buffer.byteLength(line), 0), oversize, ringFull: 0 };
      const got = {
        receivedMessages: l.receivedMessages,
        receivedBytes: l.receivedBytes,
        oversize: l.droppedMessages.oversize,
        ringFull: l.droppedMessages.ring_full,
      };
      return JSON.stringify(got) === JSON.stringify(want) || `listener counts ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`;
    });
    const exit = await relay.stop('SIGTERM');
    assert.equal(exit.code, 0, exit.stderr);
  } finally {
    await relay.stop('SIGKILL');
    await sink.close();
  }
});
