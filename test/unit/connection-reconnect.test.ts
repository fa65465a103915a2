/**
 * Connection.reconnectNow() (a reload changed how a destination is reached): the next attempt
 * starts at once, whatever the state, with a fresh backoff; a connection or attempt under way is
 * reported down once, and nothing is written into the socket it destroyed. Real Connection; the
 * simulation's fake socket and clock (test/sim/fake-net.ts), so "at once" means with no clock move.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import type { Opening, UpEvent } from '../../src/egress/attempt.js';
import { Connection } from '../../src/egress/connection.js';
import { FakeClock, FakeSocket } from '../sim/fake-net.js';

const RECONNECT_MIN_MS = 10_000;
const CONNECT_TIMEOUT_MS = 5_000;

/** What the peer does with an attempt: refuse it, accept it, or say nothing (stays connecting). */
type PeerMode = 'refuse' | 'accept' | 'silent';

/** A Connection on a fake network; `modes` answers its attempts in order ('refuse' after the last). */
function harness(upEvent: UpEvent, modes: PeerMode[], onDown: (connection: Connection) => void = () => {}) {
  const clock = new FakeClock();
  const startMs = clock.nowMs();
  const sockets: FakeSocket[] = [];
  /** When each attempt started, in ms since the harness was made. */
  const attemptsAtMs: number[] = [];
  const events: string[] = [];
  const connect = (): Opening => {
    const socket = new FakeSocket({ id: sockets.length, bytes: [], acceptedBytes: 0, ended: false }, clock, 1 << 20, upEvent);
    const mode = modes[sockets.length] ?? 'refuse';
    if (mode === 'refuse') socket.refuseConnection();
    else if (mode === 'accept') socket.acceptConnection();
    sockets.push(socket);
    attemptsAtMs.push(clock.nowMs() - startMs);
    return { socket, upEvent };
  };
  const connection: Connection = new Connection(
    { host: '127.0.0.1', port: 1, connectTimeoutMs: CONNECT_TIMEOUT_MS, stallTimeoutMs: 600_000, reconnectMinMs: RECONNECT_MIN_MS, reconnectMaxMs: 60_000 },
    {
      onUp: () => events.push('up'),
      onDown: (wasUp, reason, tlsFailed) => {
        events.push(`down wasUp=${wasUp} tlsFailed=${tlsFailed}: ${reason}`);
        onDown(connection);
      },
      onDrain: () => {},
      onIdle: () => {},
    },
    connect,
    clock,
    () => 1, // the top of the jitter: each delay is exactly its base (10 s, 20 s, 40 s, 60 s…)
  );
  /** Delivers every pending socket event (Node would, on the next ticks), oldest socket first. */
  const settle = (): void => {
    while (sockets.some((s) => s.fireOne()));
  };
  /** Moves the clock `ms` forward a second at a time, delivering socket events after each step. */
  const run = (ms: number): void => {
    for (let t = 0; t < ms; t += 1000) {
      clock.advance(Math.min(1000, ms - t));
      settle();
    }
  };
  return { clock, sockets, attemptsAtMs, events, connection, settle, run };
}

test('reconnectNow: down with a long backoff pending, the next attempt starts at once and the backoff starts over', () => {
  const h = harness('connect', []);
  h.connection.start();
  h.settle();
  h.run(30_000); // refused at 0, 10 s and 30 s: the next attempt is 40 s away (t = 70 s)
  assert.deepEqual(h.attemptsAtMs, [0, 10_000, 30_000]);
  assert.equal(h.connection.state, 'down');
  const downs = h.events.length;

  h.connection.reconnectNow('settings changed');
  assert.deepEqual(h.attemptsAtMs, [0, 10_000, 30_000, 30_000], 'an attempt at once, with no clock move');
  assert.equal(h.connection.state, 'connecting');
  assert.equal(h.events.length, downs, 'nothing was up or under way: no onDown');

  // Refused again and again: the delays start over from the minimum (10 s, 20 s, 40 s), and the
  // timer that was pending for 70 s is gone (it would have added an attempt there).
  h.settle();
  h.run(70_000);
  assert.deepEqual(h.attemptsAtMs, [0, 10_000, 30_000, 30_000, 40_000, 60_000, 100_000]);
});

for (const upEvent of ['connect', 'secureConnect'] as const) {
  test(`reconnectNow (${upEvent}): an attempt under way is reported down once and replaced at once`, () => {
    const h = harness(upEvent, ['silent', 'refuse', 'silent']);
    h.connection.start();
    h.settle();
    assert.equal(h.connection.state, 'connecting');

    h.connection.reconnectNow('settings changed');
    assert.deepEqual(h.events, ['down wasUp=false tlsFailed=false: settings changed']);
    assert.equal(h.sockets[0]!.destroyed, true);
    assert.deepEqual(h.attemptsAtMs, [0, 0]);
    assert.equal(h.connection.state, 'connecting');

    // The old socket's 'close' and its connect deadline change nothing; the new attempt's refusal
    // is the one more onDown, and its backoff is the minimum.
    h.settle();
    h.run(RECONNECT_MIN_MS);
    assert.equal(h.events.length, 2, h.events.join('\n'));
    assert.match(h.events[1]!, /^down wasUp=false tlsFailed=false: connect ECONNREFUSED/);
    assert.deepEqual(h.attemptsAtMs, [0, 0, RECONNECT_MIN_MS]);
  });

  test(`reconnectNow (${upEvent}): an up connection is reported down once, nothing more goes into its socket, the next one comes up at once`, () => {
    const h = harness(upEvent, ['accept', 'accept']);
    h.connection.start();
    h.settle();
    assert.deepEqual(h.events, ['up']);
    const confirmations: boolean[] = [];
    h.connection.write(Buffer.from('unread'), (confirmed) => confirmations.push(confirmed));

    h.connection.reconnectNow('settings changed');
    assert.deepEqual(h.events, ['up', 'down wasUp=true tlsFailed=false: settings changed']);
    const old = h.sockets[0]!;
    assert.equal(old.destroyed, true);
    assert.equal(h.connection.live, false, 'nothing may be written until the new connection is up');
    assert.deepEqual(h.attemptsAtMs, [0, 0], 'the new attempt started at once');

    h.settle();
    // The write queued in the destroyed socket got Node's no-error callback: not a confirmation.
    assert.deepEqual(confirmations, [false]);
    assert.deepEqual(h.events.slice(2), ['up'], 'the old socket closing reported nothing more');
    h.connection.write(Buffer.from('resent'), (confirmed) => confirmations.push(confirmed));
    assert.equal(old.writesAfterEnd, 0, 'no write went into the destroyed socket');
    assert.equal(old.record.acceptedBytes, 0);
    assert.equal(h.sockets[1]!.take(1024), 'resent'.length);
    h.settle();
    assert.deepEqual(confirmations, [false, true]);
  });
}

test('reconnectNow: after an up connection, a failed new attempt backs off from the minimum', () => {
  const h = harness('connect', ['accept', 'refuse']);
  h.connection.start();
  h.settle();
  h.connection.reconnectNow('settings changed');
  h.settle();
  h.run(RECONNECT_MIN_MS);
  assert.deepEqual(h.attemptsAtMs, [0, 0, RECONNECT_MIN_MS]);
});

test('reconnectNow: a closed connection stays closed', () => {
  const h = harness('connect', ['accept']);
  h.connection.start();
  h.settle();
  h.connection.close(false);
  h.connection.reconnectNow('settings changed');
  h.settle();
  h.run(2 * RECONNECT_MIN_MS);
  assert.equal(h.connection.state, 'closed');
  assert.deepEqual(h.attemptsAtMs, [0]);
  assert.deepEqual(h.events, ['up']);
});

test('reconnectNow: an owner that closes the connection in onDown gets no new attempt', () => {
  const h = harness('connect', ['accept'], (connection) => connection.close(false));
  h.connection.start();
  h.settle();
  h.connection.reconnectNow('settings changed');
  assert.equal(h.connection.state, 'closed');
  assert.deepEqual(h.attemptsAtMs, [0]);
  h.settle();
  h.run(2 * RECONNECT_MIN_MS);
  assert.deepEqual(h.attemptsAtMs, [0]);
});
