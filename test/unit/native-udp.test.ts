/**
 * The native UDP addon over real sockets on 127.0.0.1 and ::1: batched receive checked byte for
 * byte, sender addresses, truncation, empty datagrams, bind errors, close, and worker_threads.
 * Skipped when the addon is not built. Waits are on events with deadlines, never fixed sleeps.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { SocketAddress } from 'node:net';
import { Worker } from 'node:worker_threads';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { existsSync, readFileSync } from 'node:fs';
import {
  addonMismatch,
  FLAG_TRUNCATED,
  loadNativeUdp,
  META_ADDR,
  META_FAMILY,
  META_FIELDS,
  META_FLAGS,
  META_LENGTH,
  META_PORT,
  nativeUdpUnavailableReason,
  type NativeUdp,
} from '../../src/native/addon.js';
import { formatAddress } from '../../src/ingest/native-address.js';
import { NativeUdpReceiver, type NativeUdpReceiverOptions } from '../../src/ingest/native-receiver.js';
import { NativeUdpSender } from '../../src/bench/native-sender.js';
import { findPackageRoot } from '../../src/package-root.js';
import { payloadFor } from '../helpers/prng.js';

const DEADLINE_MS = 10_000;
const native = loadNativeUdp();

/** The addon, or undefined after skipping `t` with the reason it is not loadable. */
function addon(t: TestContext): NativeUdp | undefined {
  if (native === undefined) t.skip(`native UDP addon not loadable: ${nativeUdpUnavailableReason()}`);
  return native;
}

/** Resolves when `done()` holds, checked at each notify(); rejects after DEADLINE_MS. */
class Waiter {
  private check: (() => void) | undefined;

  notify(): void {
    this.check?.();
  }

  until(done: () => boolean, what: string, ms = DEADLINE_MS): Promise<void> {
    if (done()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.check = undefined;
        reject(new Error(`timed out after ${ms} ms waiting for ${what}`));
      }, ms);
      this.check = () => {
        if (!done()) return;
        clearTimeout(timer);
        this.check = undefined;
        resolve();
      };
    });
  }
}

interface Received {
  payload: Buffer;
  length: number;
  truncated: boolean;
  family: 4 | 6;
  address: string;
  port: number;
}

/** A receiver that copies out every datagram it gets, and counts batches. */
function collector(n: NativeUdp, options: Partial<NativeUdpReceiverOptions> & { family: 4 | 6; host: string }) {
  const got: Received[] = [];
  const waiter = new Waiter();
  let batches = 0;
  const receiver = NativeUdpReceiver.open(n, {
    port: 0,
    recvBufferBytes: 4 << 20,
    maxDatagramBytes: 2048,
    ...options,
    onBatch: (count, r) => {
      batches++;
      for (let i = 0; i < count; i++) {
        got.push({
          payload: Buffer.from(r.datagram(i)),
          length: r.length(i),
          truncated: r.truncated(i),
          family: r.senderFamily(i),
          address: r.senderAddress(i),
          port: r.senderPort(i),
        });
      }
      waiter.notify();
    },
  });
  return { receiver, got, waiter, batches: () => batches };
}

/** Packs payloads back to back for sendBatch. */
function pack(payloads: Uint8Array[]): { buffer: Uint8Array; lengths: Int32Array } {
  const total = payloads.reduce((sum, p) => sum + p.length, 0);
  const buffer = new Uint8Array(total);
  const lengths = new Int32Array(payloads.length);
  let offset = 0;
  payloads.forEach((p, i) => {
    buffer.set(p, offset);
    lengths[i] = p.length;
    offset += p.length;
  });
  return { buffer, lengths };
}

/** Sends every payload, waiting for `arrived()` to reach each chunk's end before the next (the receiver shares this thread). */
async function sendAll(sender: NativeUdpSender, payloads: Uint8Array[], chunk: number, arrived: () => number, waiter: Waiter): Promise<void> {
  let next = 0;
  let attempts = 0;
  while (next < payloads.length) {
    assert.ok(++attempts <= payloads.length * 4, `sendAll: no progress after ${attempts} attempts at datagram ${next}`);
    const slice = payloads.slice(next, next + chunk);
    const { buffer, lengths } = pack(slice);
    const sent = sender.sendBatch(buffer, lengths, slice.length);
    assert.ok(sent >= 0 && sent <= slice.length);
    next += sent;
    const target = next;
    await waiter.until(() => arrived() >= target, `${target} datagrams`);
  }
}

function ipv6Available(n: NativeUdp): string | undefined {
  try {
    const probe = NativeUdpReceiver.open(n, { family: 6, host: '::1', port: 0, recvBufferBytes: 0, maxDatagramBytes: 16, onBatch: () => {} });
    probe.close();
    return undefined;
  } catch (error) {
    return `no IPv6 loopback: ${(error as Error).message}`;
  }
}

test('RELAY_NATIVE_UDP=0 disables the addon and says so', () => {
  const saved = process.env.RELAY_NATIVE_UDP;
  process.env.RELAY_NATIVE_UDP = '0';
  try {
    assert.equal(loadNativeUdp(), undefined);
    assert.equal(nativeUdpUnavailableReason(), 'disabled by RELAY_NATIVE_UDP=0');
  } finally {
    if (saved === undefined) delete process.env.RELAY_NATIVE_UDP;
    else process.env.RELAY_NATIVE_UDP = saved;
  }
  assert.equal(loadNativeUdp(), native);
});

const TS_LAYOUT = { META_FIELDS, META_LENGTH, META_FLAGS, META_FAMILY, META_PORT, META_ADDR, FLAG_TRUNCATED };

test('the addon exports the meta layout, equal to the TypeScript constants', (t) => {
  const n = addon(t);
  if (n === undefined) return;
  assert.deepEqual({ ...n.layout }, TS_LAYOUT);
  assert.equal(Object.isFrozen(n.layout), true);
  assert.equal(addonMismatch(n), undefined);
});

test('an addon whose layout differs from the TypeScript constants is refused, with the reason', () => {
  const udpOpen = () => {};
  const unixOpen = () => {};
  const udpPause = () => {};
  const cases: { name: string; addon: unknown; reason: string }[] = [
    { name: 'the same layout', addon: { udpOpen, unixOpen, udpPause, layout: TS_LAYOUT }, reason: '' },
    {
      name: 'one constant differs',
      addon: { udpOpen, unixOpen, udpPause, layout: { ...TS_LAYOUT, META_FLAGS: 5 } },
      reason: 'its meta layout differs: META_FLAGS is 5 in the addon, 1 here',
    },
    {
      name: 'two differ, one missing',
      addon: { udpOpen, unixOpen, udpPause, layout: { ...TS_LAYOUT, META_FIELDS: 9, FLAG_TRUNCATED: undefined } },
      reason: 'its meta layout differs: META_FIELDS is 9 in the addon, 8 here, FLAG_TRUNCATED is undefined in the addon, 1 here',
    },
    { name: 'no layout (an older build)', addon: { udpOpen, unixOpen, udpPause, META_FIELDS: 8 }, reason: 'it exports no meta layout' },
    { name: 'no udpOpen', addon: { layout: TS_LAYOUT }, reason: 'it exports no udpOpen function' },
    { name: 'no unixOpen (a build older than unix@ listeners)', addon: { udpOpen, layout: TS_LAYOUT }, reason: 'it exports no unixOpen function' },
    {
      name: 'no udpPause (a build older than --max-delay)',
      addon: { udpOpen, unixOpen, layout: TS_LAYOUT },
      reason: 'it exports no udpPause function (a build older than --max-delay)',
    },
    { name: 'not an object', addon: undefined, reason: 'it exports no udpOpen function' },
  ];
  for (const c of cases) assert.equal(addonMismatch(c.addon) ?? '', c.reason, c.name);
});

test('findPackageRoot finds the directory holding package.json from a compiled file', () => {
  const root = findPackageRoot(path.dirname(fileURLToPath(import.meta.url)));
  assert.ok(root !== undefined);
  assert.equal(JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).name, 'udp-fanout');
  assert.ok(existsSync(path.join(root, 'binding.gyp')));
});

test('formatAddress writes addresses as node does (libuv inet_ntop)', () => {
  /** Full 8-group form to bytes. */
  const bytesOf = (full: string): Uint8Array => {
    const out = new Uint8Array(16);
    full.split(':').forEach((group, i) => {
      const word = parseInt(group, 16);
      out[2 * i] = word >> 8;
      out[2 * i + 1] = word & 0xff;
    });
    return out;
  };
  const cases = [
    '0:0:0:0:0:0:0:1',
    '0:0:0:0:0:0:0:0',
    '0:0:0:0:0:ffff:c000:201',
    '0:0:0:0:0:0:c000:201',
    '0:0:0:0:0:0:0:2',
    '2001:db8:0:0:1:0:0:1',
    '2001:db8:0:1:0:0:0:1',
    '2001:db8:1:2:3:4:5:6',
    '2001:0:0:1:0:0:0:0',
    'fe80:0:0:0:0:0:0:1',
    '1:0:1:0:1:0:1:0',
    'ABCD:EF01:0:0:0:0:0:FFFF',
    '0:0:0:0:1:ffff:c000:201',
    '0:0:0:0:0:fffe:c000:201',
  ];
  for (const full of cases) {
    const expected = new SocketAddress({ address: full, family: 'ipv6' }).address;
    assert.equal(formatAddress(6, bytesOf(full), 0), expected, full);
  }
  assert.equal(formatAddress(4, Uint8Array.of(9, 192, 0, 2, 1), 1), '192.0.2.1');
});

test('receives 2000 datagrams of varied sizes in order, byte for byte, in batches', async (t) => {
  const n = addon(t);
  if (n === undefined) return;
  const seed = 0x5eed;
  const total = 2000;
  const payloads = Array.from({ length: total }, (_, id) => payloadFor(seed, id, 1400));
  const { receiver, got, waiter, batches } = collector(n, { family: 4, host: '127.0.0.1', batchSize: 64 });
  const sender = NativeUdpSender.open(n, 4, '127.0.0.1', receiver.address().port);
  try {
    await sendAll(sender, payloads, 100, () => got.length, waiter);
    assert.equal(got.length, total);
    for (let id = 0; id < total; id++) {
      const r = got[id]!;
      assert.equal(r.length, payloads[id]!.length, `length of datagram ${id}`);
      assert.equal(r.truncated, false);
      assert.ok(r.payload.equals(payloads[id]!), `bytes of datagram ${id}`);
    }
    assert.ok(
      payloads.some((p) => p.length === 0),
      'the sizes include an empty datagram',
    );
    assert.ok(batches() < total / 4, `${batches()} batches for ${total} datagrams`);
  } finally {
    sender.close();
    receiver.close();
  }
});

test('reports the IPv4 sender address and port', async (t) => {
  const n = addon(t);
  if (n === undefined) return;
  const { receiver, got, waiter } = collector(n, { family: 4, host: '127.0.0.1' });
  const sender = NativeUdpSender.open(n, 4, '127.0.0.1', receiver.address().port);
  try {
    assert.deepEqual(receiver.address().family, 4);
    assert.equal(receiver.address().address, '127.0.0.1');
    await sendAll(sender, [Buffer.from('v4')], 1, () => got.length, waiter);
    const from = sender.address();
    assert.equal(from.address, '127.0.0.1');
    assert.deepEqual(
      { ...got[0]!, payload: got[0]!.payload.toString() },
      {
        payload: 'v4',
        length: 2,
        truncated: false,
        family: 4,
        address: '127.0.0.1',
        port: from.port,
      },
    );
  } finally {
    sender.close();
    receiver.close();
  }
});

test('reports the IPv6 sender address and port', async (t) => {
  const n = addon(t);
  if (n === undefined) return;
  const noIpv6 = ipv6Available(n);
  if (noIpv6 !== undefined) {
    t.skip(noIpv6);
    return;
  }
  const { receiver, got, waiter } = collector(n, { family: 6, host: '::1' });
  const sender = NativeUdpSender.open(n, 6, '::1', receiver.address().port);
  try {
    assert.equal(receiver.address().family, 6);
    assert.equal(receiver.address().address, '::1');
    assert.equal(receiver.boundText(), `udp@[::1]:${receiver.address().port}`);
    await sendAll(sender, [Buffer.from('v6'), Buffer.from('again')], 2, () => got.length, waiter);
    const from = sender.address();
    assert.equal(from.family, 6);
    for (const r of got) {
      assert.equal(r.family, 6);
      assert.equal(r.address, '::1');
      assert.equal(r.port, from.port);
    }
    assert.deepEqual(
      got.map((r) => r.payload.toString()),
      ['v6', 'again'],
    );
  } finally {
    sender.close();
    receiver.close();
  }
});

test('an IPv6 socket on :: reports IPv4 senders as ::ffff:a.b.c.d (when not V6ONLY)', async (t) => {
  const n = addon(t);
  if (n === undefined) return;
  const noIpv6 = ipv6Available(n);
  const v6only = existsSync('/proc/sys/net/ipv6/bindv6only') ? readFileSync('/proc/sys/net/ipv6/bindv6only', 'utf8').trim() : '?';
  if (noIpv6 !== undefined || v6only !== '0') {
    t.skip(noIpv6 ?? `net.ipv6.bindv6only is ${v6only}`);
    return;
  }
  const { receiver, got, waiter } = collector(n, { family: 6, host: '::' });
  const sender = NativeUdpSender.open(n, 4, '127.0.0.1', receiver.address().port);
  try {
    await sendAll(sender, [Buffer.from('mapped')], 1, () => got.length, waiter);
    assert.equal(got[0]!.family, 6);
    assert.equal(got[0]!.address, '::ffff:127.0.0.1');
    assert.equal(got[0]!.port, sender.address().port);
  } finally {
    sender.close();
    receiver.close();
  }
});

test('a datagram longer than maxDatagramBytes is reported truncated with its real length', async (t) => {
  const n = addon(t);
  if (n === undefined) return;
  const { receiver, got, waiter } = collector(n, { family: 4, host: '127.0.0.1', maxDatagramBytes: 100, batchSize: 4 });
  const sender = NativeUdpSender.open(n, 4, '127.0.0.1', receiver.address().port);
  const sizes = [300, 100, 101, 99, 60000];
  const payloads = sizes.map((size, id) => Buffer.from(Array.from({ length: size }, (_, i) => (i * 7 + id) & 0xff)));
  try {
    await sendAll(sender, payloads, 5, () => got.length, waiter);
    got.forEach((r, id) => {
      const size = sizes[id]!;
      assert.equal(r.length, size, `real length of datagram ${id}`);
      assert.equal(r.truncated, size > 100, `truncated flag of a ${size}-byte datagram`);
      assert.ok(r.payload.equals(payloads[id]!.subarray(0, Math.min(size, 100))), `kept bytes of datagram ${id}`);
    });
  } finally {
    sender.close();
    receiver.close();
  }
});

test('an empty datagram has length 0', async (t) => {
  const n = addon(t);
  if (n === undefined) return;
  const { receiver, got, waiter } = collector(n, { family: 4, host: '127.0.0.1' });
  const sender = NativeUdpSender.open(n, 4, '127.0.0.1', receiver.address().port);
  try {
    await sendAll(sender, [Buffer.alloc(0), Buffer.from('x'), Buffer.alloc(0)], 3, () => got.length, waiter);
    assert.deepEqual(
      got.map((r) => [r.length, r.truncated, r.payload.length]),
      [
        [0, false, 0],
        [1, false, 1],
        [0, false, 0],
      ],
    );
  } finally {
    sender.close();
    receiver.close();
  }
});

test('binding a port in use throws an Error with code EADDRINUSE', (t) => {
  const n = addon(t);
  if (n === undefined) return;
  const first = NativeUdpReceiver.open(n, { family: 4, host: '127.0.0.1', port: 0, recvBufferBytes: 0, maxDatagramBytes: 64, onBatch: () => {} });
  try {
    const port = first.address().port;
    assert.throws(
      () => NativeUdpReceiver.open(n, { family: 4, host: '127.0.0.1', port, recvBufferBytes: 0, maxDatagramBytes: 64, onBatch: () => {} }),
      (error: NodeJS.ErrnoException) => {
        assert.ok(error instanceof Error);
        assert.equal(error.code, 'EADDRINUSE');
        assert.equal(error.syscall, 'bind');
        assert.match(error.message, /^bind: Address already in use$/);
        return true;
      },
    );
  } finally {
    first.close();
  }
});

test('bad arguments throw TypeError or RangeError, not crash', (t) => {
  const n = addon(t);
  if (n === undefined) return;
  const meta = new Int32Array(8);
  const buffer = new ArrayBuffer(64);
  assert.throws(() => n.udpOpen(4, 'localhost', 0, 0, buffer, meta, 64, () => {}), TypeError);
  assert.throws(() => n.udpOpen(4, '::1', 0, 0, buffer, meta, 64, () => {}), TypeError);
  assert.throws(() => n.udpOpen(5 as 4, '127.0.0.1', 0, 0, buffer, meta, 64, () => {}), RangeError);
  assert.throws(() => n.udpOpen(4, '127.0.0.1', 70000, 0, buffer, meta, 64, () => {}), RangeError);
  assert.throws(() => n.udpOpen(4, '127.0.0.1', 0, 0, buffer, meta, 65, () => {}), RangeError);
  assert.throws(() => n.udpOpen(4, '127.0.0.1', 0, 0, buffer, new Int32Array(7), 64, () => {}), RangeError);
  assert.throws(() => n.udpOpen(4, '127.0.0.1', 0, 0, buffer, new Uint32Array(8) as unknown as Int32Array, 64, () => {}), TypeError);
  assert.throws(() => n.udpOpen(4, '127.0.0.1', 0, 0, buffer, meta, 64, null as unknown as () => void), TypeError);
  assert.throws(() => n.udpClose({} as never), TypeError);
  const sender = NativeUdpSender.open(n, 4, '127.0.0.1', 9);
  try {
    assert.throws(() => sender.sendBatch(new Uint8Array(4), Int32Array.of(5), 1), RangeError);
    assert.throws(() => sender.sendBatch(new Uint8Array(4), Int32Array.of(-1), 1), RangeError);
    assert.throws(() => sender.sendBatch(new Uint8Array(4), Int32Array.of(4), 2), RangeError);
  } finally {
    sender.close();
  }
});

test('close is idempotent and frees the port at once', async (t) => {
  const n = addon(t);
  if (n === undefined) return;
  const first = collector(n, { family: 4, host: '127.0.0.1' });
  const port = first.receiver.address().port;
  first.receiver.close();
  first.receiver.close();
  n.udpClose((first.receiver as unknown as { handle: never }).handle);
  assert.equal(first.receiver.closed, true);
  assert.throws(() => first.receiver.address(), { code: 'EBADF' });

  const again = collector(n, { family: 4, host: '127.0.0.1', port });
  const sender = NativeUdpSender.open(n, 4, '127.0.0.1', port);
  try {
    assert.equal(again.receiver.address().port, port);
    await sendAll(sender, [Buffer.from('after close')], 1, () => again.got.length, again.waiter);
    assert.equal(again.got[0]!.payload.toString(), 'after close');
    assert.equal(first.got.length, 0);
  } finally {
    sender.close();
    sender.close();
    again.receiver.close();
  }
  assert.throws(() => sender.sendBatch(Uint8Array.of(1), Int32Array.of(1)), { code: 'EBADF' });
});

test('a detached batch buffer stops receiving with EFAULT instead of writing into freed memory', async (t) => {
  const n = addon(t);
  if (n === undefined) return;
  const waiter = new Waiter();
  const errors: NodeJS.ErrnoException[] = [];
  let batches = 0;
  const receiver = NativeUdpReceiver.open(n, {
    family: 4,
    host: '127.0.0.1',
    port: 0,
    recvBufferBytes: 0,
    maxDatagramBytes: 64,
    batchSize: 4,
    onBatch: () => {
      batches++;
    },
    onError: (error) => {
      errors.push(error);
      waiter.notify();
    },
  });
  const sender = NativeUdpSender.open(n, 4, '127.0.0.1', receiver.address().port);
  try {
    const batchBuffer = receiver.bytes.buffer as ArrayBuffer;
    structuredClone(batchBuffer, { transfer: [batchBuffer] });
    assert.equal(sender.sendBatch(new Uint8Array(8), Int32Array.of(8)), 1);
    await waiter.until(() => errors.length > 0, 'the receive error');
    assert.equal(errors[0]!.code, 'EFAULT');
    assert.equal(errors[0]!.syscall, 'recvmmsg');
    assert.equal(batches, 0);
  } finally {
    sender.close();
    receiver.close();
  }
});

test('a sender to a closed port never throws for ECONNREFUSED', (t) => {
  const n = addon(t);
  if (n === undefined) return;
  const probe = NativeUdpReceiver.open(n, { family: 4, host: '127.0.0.1', port: 0, recvBufferBytes: 0, maxDatagramBytes: 64, onBatch: () => {} });
  const port = probe.address().port;
  probe.close();
  const sender = NativeUdpSender.open(n, 4, '127.0.0.1', port);
  try {
    // The first send draws an ICMP port unreachable; the next ones meet ECONNREFUSED, retried once.
    for (let round = 0; round < 5; round++) {
      const sent = sender.sendBatch(new Uint8Array(30), Int32Array.of(10, 10, 10), 3);
      assert.ok(sent >= 0 && sent <= 3, `round ${round}: sent ${sent}`);
    }
  } finally {
    sender.close();
  }
});

test('a receiver works inside a worker_thread; closing lets the worker end on its own', async (t) => {
  const n = addon(t);
  if (n === undefined) return;
  await runWorker(n, 'close');
});

test('terminating a worker with an open receiver exits cleanly and frees the port', async (t) => {
  const n = addon(t);
  if (n === undefined) return;
  const port = await runWorker(n, 'terminate');
  // The worker's cleanup hook closed the socket: the port can be bound again.
  const again = NativeUdpReceiver.open(n, { family: 4, host: '127.0.0.1', port, recvBufferBytes: 0, maxDatagramBytes: 64, onBatch: () => {} });
  again.close();
});

test("an exception thrown by onBatch in a worker is that worker's uncaught exception", async (t) => {
  const n = addon(t);
  if (n === undefined) return;
  const worker = new Worker(new URL('../helpers/native-udp-worker.js', import.meta.url), { workerData: { mode: 'throw', expected: 1 } });
  const waiter = new Waiter();
  let port = 0;
  let error: Error | undefined;
  let exitCode: number | undefined;
  worker.on('message', (m: { type: string; port?: number }) => {
    if (m.type === 'ready') port = m.port!;
    waiter.notify();
  });
  worker.on('error', (e) => {
    error = e;
    waiter.notify();
  });
  worker.on('exit', (code) => {
    exitCode = code;
    waiter.notify();
  });
  let sender: NativeUdpSender | undefined;
  try {
    await waiter.until(() => port !== 0 || exitCode !== undefined, 'the worker to be ready');
    sender = NativeUdpSender.open(n, 4, '127.0.0.1', port);
    assert.equal(sender.sendBatch(new Uint8Array(64), Int32Array.of(64)), 1);
    await waiter.until(() => exitCode !== undefined, 'the worker to exit');
    assert.equal(error?.message, 'boom from onBatch');
    assert.equal(exitCode, 1);
  } finally {
    sender?.close();
    if (exitCode === undefined) await worker.terminate();
  }
});

/** Runs the worker helper in `mode`, sends it 500 datagrams, and returns the port it listened on once it has exited. */
async function runWorker(n: NativeUdp, mode: 'close' | 'terminate'): Promise<number> {
  const total = 500;
  const worker = new Worker(new URL('../helpers/native-udp-worker.js', import.meta.url), { workerData: { mode, expected: total } });
  const waiter = new Waiter();
  let port = 0;
  let received = 0;
  let closed = false;
  let exitCode: number | undefined;
  const problems: string[] = [];
  worker.on('message', (m: { type: string; port?: number; total?: number; reason?: string; index?: number }) => {
    if (m.type === 'ready') port = m.port!;
    else if (m.type === 'received') received = m.total!;
    else if (m.type === 'closed') closed = true;
    else problems.push(JSON.stringify(m));
    waiter.notify();
  });
  worker.on('error', (e) => {
    problems.push(`error: ${e.message}`);
    waiter.notify();
  });
  worker.on('exit', (code) => {
    exitCode = code;
    waiter.notify();
  });
  const sender = await (async () => {
    await waiter.until(() => port !== 0 || exitCode !== undefined || problems.length > 0, 'the worker to be ready');
    assert.deepEqual(problems, []);
    return NativeUdpSender.open(n, 4, '127.0.0.1', port);
  })().catch(async (e: unknown) => {
    await worker.terminate();
    throw e;
  });
  try {
    const payloads = Array.from({ length: total }, (_, i) => new Uint8Array(64).fill(i % 256));
    await sendAll(sender, payloads, 50, () => received, waiter);
    assert.equal(received, total);
    if (mode === 'close') {
      await waiter.until(() => exitCode !== undefined, 'the worker to end on its own after closing');
      assert.equal(closed, true);
      assert.equal(exitCode, 0);
    } else {
      // Datagrams still arriving while the worker goes away.
      const more = pack(Array.from({ length: 20 }, (_, i) => new Uint8Array(64).fill((total + i) % 256)));
      sender.sendBatch(more.buffer, more.lengths);
      const terminated = worker.terminate();
      await waiter.until(() => exitCode !== undefined, 'the terminated worker to exit');
      assert.equal(await terminated, 1);
    }
    assert.deepEqual(problems, []);
  } finally {
    sender.close();
    if (exitCode === undefined) await worker.terminate();
  }
  return port;
}
