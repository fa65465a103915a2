/**
 * The addon's shared-port sockets (native/relay_reuseport.c) on 127.0.0.1: two UDP receivers and
 * two TCP servers on one port each take some of many senders, a socket without SO_REUSEPORT is
 * refused the port, and a receiver that left the port's group still reads what was queued for
 * it but gets nothing sent after. Skipped when the addon (or a build with these functions) is not
 * there. Waits are on events with deadlines.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { nativeUdpUnavailableReason } from '../../src/native/addon.js';
import { NativeUdpReceiver } from '../../src/ingest/native-receiver.js';
import { reusePortNative, type ReusePortNative } from '../../src/ingest/reuse-port.js';
import { NativeUdpSender } from '../../src/bench/native-sender.js';
import type { NativeUdp } from '../../src/native/addon.js';

const SENDERS = 48;
const DEADLINE_MS = 10_000;

function addon(t: TestContext): (NativeUdp & ReusePortNative) | undefined {
  const native = reusePortNative();
  if (native === undefined) t.skip(`no shared-port functions in the addon: ${nativeUdpUnavailableReason() ?? 'a build older than them'}`);
  return native;
}

/** Resolves once `done()` holds, looked at every 2 ms; rejects after DEADLINE_MS naming `what`. */
async function until(done: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + DEADLINE_MS;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** A receiver on 127.0.0.1:port with SO_REUSEPORT that counts the datagrams it gets. */
function counting(native: NativeUdp, port: number): { receiver: NativeUdpReceiver; count: () => number } {
  let count = 0;
  const receiver = NativeUdpReceiver.open(native, {
    family: 4,
    host: '127.0.0.1',
    port,
    reusePort: true,
    recvBufferBytes: 1 << 20,
    maxDatagramBytes: 64,
    onBatch: (n) => {
      count += n;
    },
  });
  return { receiver, count: () => count };
}

/** Sends one datagram from each sender, synchronously (sendmmsg): they are queued when this returns. */
function oneEach(senders: NativeUdpSender[]): void {
  for (const s of senders) assert.equal(s.sendBatch(new Uint8Array([1]), new Int32Array([1]), 1), 1);
}

test('reuse-port: two UDP receivers share a port; a plain socket is refused it; one that left the group reads what was queued and gets nothing after', async (t) => {
  const native = addon(t);
  if (native === undefined) return;
  const first = counting(native, 0);
  const port = first.receiver.address().port;
  const second = counting(native, port);
  const senders = Array.from({ length: SENDERS }, () => NativeUdpSender.open(native, 4, '127.0.0.1', port));
  try {
    assert.throws(
      () => native.udpOpen(4, '127.0.0.1', port, 0, new Uint8Array(64), new Int32Array(8), 64, () => {}),
      (e: NodeJS.ErrnoException) => e.code === 'EADDRINUSE' && e.syscall === 'bind',
    );
    // Queued on both sockets (one per sender, by the kernel's hash), then the first leaves before reading any.
    oneEach(senders);
    first.receiver.leavePortGroup();
    await until(() => first.count() + second.count() === SENDERS, `${SENDERS} datagrams`);
    const queued = first.count();
    assert.ok(queued > 0 && second.count() > 0, `both took some of ${SENDERS} senders: ${queued} and ${second.count()}`);
    // Sent after it left: every one goes to the second (it reaching all of them means the first got none).
    oneEach(senders);
    await until(() => second.count() === 2 * SENDERS - queued, `${SENDERS} more on the second receiver`);
    assert.equal(first.count(), queued);
  } finally {
    for (const s of senders) s.close();
    first.receiver.close();
    second.receiver.close();
  }
});

test('reuse-port: two TCP servers adopt SO_REUSEPORT sockets on one port and share connections; a plain server is refused the port', async (t) => {
  const native = addon(t);
  if (native === undefined) return;
  const accepted = [0, 0];
  const servers = accepted.map((_, i) =>
    net.createServer((socket) => {
      accepted[i]!++;
      socket.destroy();
    }),
  );
  const clients: net.Socket[] = [];
  try {
    servers[0]!.listen({ fd: native.tcpListenReusePort(4, '127.0.0.1', 0, 511) });
    await once(servers[0]!, 'listening');
    const { port } = servers[0]!.address() as net.AddressInfo;
    servers[1]!.listen({ fd: native.tcpListenReusePort(4, '127.0.0.1', port, 511) });
    await once(servers[1]!, 'listening');
    assert.equal((servers[1]!.address() as net.AddressInfo).port, port);
    const plain = net.createServer().listen(port, '127.0.0.1');
    const [error] = (await once(plain, 'error')) as [NodeJS.ErrnoException];
    assert.equal(error.code, 'EADDRINUSE');
    for (let i = 0; i < SENDERS; i++) {
      const client = net.connect(port, '127.0.0.1');
      client.on('error', () => {});
      clients.push(client);
    }
    await until(() => accepted[0]! + accepted[1]! === SENDERS, `${SENDERS} connections accepted`);
    assert.ok(accepted[0]! > 0 && accepted[1]! > 0, `both servers took some of ${SENDERS} connections: ${accepted.join(' and ')}`);
  } finally {
    for (const c of clients) c.destroy();
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => (s.listening ? s.close(() => resolve()) : resolve()))));
  }
});
