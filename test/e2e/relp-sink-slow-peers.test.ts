/**
 * `relay sink relp@127.0.0.1:0 --frame-timeout 4s` through bin/relay, with peers that send slowly
 * (test/helpers/relp-client.ts): a frame trickled a byte at a time is received whole and answered;
 * a frame started and never finished closes that session after the frame timeout, while a session
 * idle between frames (and a connection that never spoke) is kept and goes on working.
 * What a trickled frame costs in memory is checked in test/unit/relp-frame.test.ts (bufferedBytes).
 */
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { encodeFrame, parseResponse } from '../../src/relp/frame.js';
import { CLIENT_OPEN_OFFERS, RelpTestClient } from '../helpers/relp-client.js';
import { hostPortOf, type RelayProcess, startRelay } from '../helpers/relay-process.js';

/** Short for a test, long enough that the trickled frame (a few hundred ms) completes well within it on a busy machine. */
const FRAME_TIMEOUT_MS = 4000;

let sink: RelayProcess;
let port: number;
const clients: RelpTestClient[] = [];

before(async () => {
  const started = await startRelay(['sink', 'relp@127.0.0.1:0', '--frame-timeout', `${FRAME_TIMEOUT_MS}ms`]);
  sink = started.relay;
  port = hostPortOf(started.listeners[0]!).port;
});

after(async () => {
  for (const client of clients) client.destroy();
  if (sink === undefined) return; // before() failed, and startRelay stopped it
  const exit = await sink.stop('SIGTERM');
  assert.equal(exit.code, 0, exit.stderr);
});

async function connect(): Promise<RelpTestClient> {
  const client = await RelpTestClient.connect(port);
  clients.push(client);
  client.socket.setNoDelay(true);
  return client;
}

async function open(client: RelpTestClient): Promise<void> {
  client.send(1, 'open', CLIENT_OPEN_OFFERS);
  const answer = await client.next();
  assert.deepEqual({ txnr: answer.txnr, command: answer.command, code: parseResponse(answer.data).code }, { txnr: 1, command: 'rsp', code: 200 });
}

async function expectOk(client: RelpTestClient, txnr: number): Promise<void> {
  const frame = await client.next();
  assert.deepEqual({ txnr: frame.txnr, command: frame.command, data: frame.data.toString('latin1') }, { txnr, command: 'rsp', data: '200 OK' });
}

/** Resolves once the sink has printed `line` (a whole line) after stdout offset `from`. */
async function printed(line: string, from: number): Promise<void> {
  const escaped = line.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  await sink.waitForStdout(new RegExp(`[\\s\\S]{${from}}[\\s\\S]*^${escaped}$`, 'm'));
}

test('relp sink: a frame trickled one byte per write is received whole and answered 200', async () => {
  const client = await connect();
  await open(client);
  // 2000 printable bytes, each position telling where it is: a byte lost, doubled or moved shows.
  const payload = Array.from({ length: 2000 }, (_, i) => String.fromCharCode(0x21 + ((i * 7) % 94))).join('');
  const from = sink.stdout.length;
  const frame = encodeFrame(2, 'syslog', Buffer.from(payload, 'latin1'));
  for (let i = 0; i < frame.length; i++) {
    client.sendRaw(frame.subarray(i, i + 1));
    await nextTurn(); // one write per turn of the event loop: each byte its own segment
  }
  await expectOk(client, 2);
  await printed(payload, from);
  client.send(3, 'syslog', 'and a whole frame after it');
  await expectOk(client, 3);
});

test('relp sink: a frame started and not finished within --frame-timeout closes that session; idle ones stay and work', async () => {
  const silent = await connect(); // never sends a byte until the end
  const idle = await connect();
  await open(idle);
  idle.send(2, 'syslog', 'idle before');
  await expectOk(idle, 2);
  const idleSince = Date.now();

  const stalled = await connect();
  const stalledPort = stalled.socket.localPort;
  await open(stalled);
  // A whole frame, then the start of the next in the same write: the clock starts at that start.
  stalled.sendRaw(Buffer.concat([encodeFrame(2, 'syslog', Buffer.from('stalled whole')), Buffer.from('3 syslog 100 only some')]));
  const stalledSince = Date.now();
  await expectOk(stalled, 2);
  const stderrFrom = sink.stderr.length;
  const serverclose = await stalled.next(FRAME_TIMEOUT_MS + 10_000);
  assert.deepEqual({ txnr: serverclose.txnr, command: serverclose.command }, { txnr: 0, command: 'serverclose' });
  await stalled.closed();
  const stalledFor = Date.now() - stalledSince;
  assert.ok(stalledFor >= FRAME_TIMEOUT_MS - 50, `closed after ${stalledFor} ms, before the frame timeout`);
  const reason = await sink.waitForStderr(/relay sink: closing 127\.0\.0\.1:(\d+): RELP: a frame not complete 4s after its first byte\n/);
  assert.equal(reason.index! >= stderrFrom, true);
  assert.equal(Number(reason[1]), stalledPort);

  // Idle longer than the frame timeout, between frames: still served.
  assert.ok(Date.now() - idleSince > FRAME_TIMEOUT_MS);
  const from = sink.stdout.length;
  idle.send(3, 'syslog', 'idle after');
  await expectOk(idle, 3);
  await printed('idle after', from);
  await open(silent);
  silent.send(2, 'syslog', 'silent after');
  await expectOk(silent, 2);
  await printed('silent after', from);
});
