/**
 * The addon's systemd functions (native/relay_notify.c) on real sockets: notifySend to a path and
 * to an abstract name, socketInfo of each kind of socket, fdDuplicate, and udpAdopt receiving on a
 * socket another owner bound (as systemd passes it): closing the receiver closes its duplicate only,
 * and never lowers the receive buffer. Skipped when the addon is not built (or RELAY_NATIVE_UDP=0).
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { closeSync, openSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { loadNativeSystemd, nativeSystemdUnavailableReason, type NativeSystemd, type NativeUdp } from '../../src/native/addon.js';
import { NativeUdpReceiver } from '../../src/ingest/native-receiver.js';
import { NotifySocket } from '../helpers/notify-socket.js';
import { withTempDir } from '../helpers/temp-dir.js';
import { findExecutable, missingServer } from '../helpers/haproxy.js';
import { RelayProcess } from '../helpers/relay-process.js';

const native = loadNativeSystemd();

function addon(t: TestContext): (NativeUdp & NativeSystemd) | undefined {
  if (native === undefined) t.skip(`native addon not loadable: ${nativeSystemdUnavailableReason()}`);
  return native;
}

/** The fd of a bound node:dgram socket (Node keeps its handle under a symbol; tests only). */
function dgramFd(socket: dgram.Socket): number {
  const state = Object.getOwnPropertySymbols(socket).find((s) => s.description === 'state symbol')!;
  return (socket as unknown as Record<symbol, { handle: { fd: number } }>)[state]!.handle.fd;
}

/** The fd of a listening net.Server (tests only). */
function serverFd(server: net.Server): number {
  return (server as unknown as { _handle: { fd: number } })._handle.fd;
}

async function boundUdp(type: 'udp4' | 'udp6', host: string): Promise<dgram.Socket> {
  const socket = dgram.createSocket(type);
  socket.bind(0, host);
  await once(socket, 'listening');
  return socket;
}

test('notifySend: one datagram to an absolute path; ENOENT when nothing is there; bad names are TypeErrors, a message over 4 KiB a RangeError', async (t) => {
  const n = addon(t);
  if (!n) return;
  await withTempDir('relay-notify-', async (dir) => {
    const socket = new NotifySocket(n, path.join(dir, 'notify'));
    try {
      n.notifySend(socket.path, 'READY=1\nSTATUS=one line');
      const got = await socket.waitForField('READY', '1');
      assert.equal(got.text, 'READY=1\nSTATUS=one line');
    } finally {
      socket.close();
    }
    assert.throws(
      () => n.notifySend(path.join(dir, 'nobody'), 'READY=1'),
      (e: NodeJS.ErrnoException) => e.code === 'ENOENT' && e.syscall === 'sendto',
    );
    for (const bad of ['relative', '@', '']) assert.throws(() => n.notifySend(bad, 'READY=1'), TypeError);
    assert.throws(() => n.notifySend(socket.path, 'x'.repeat(5000)), RangeError);
  });
});

test('notifySend: an @name goes to the abstract socket of that name (received by python3)', async (t) => {
  const n = addon(t);
  if (!n || missingServer(t, 'python3', 'PYTHON3', 'apt-get install python3')) return;
  const name = `relay-test-notify-${process.pid}`;
  const script = [
    'import socket, sys',
    's = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)',
    `s.bind("\\0${name}")`,
    'print("bound", flush=True)',
    's.settimeout(10)',
    'sys.stdout.write(s.recv(4096).decode() + "\\n")',
  ].join('\n');
  const python = new RelayProcess(spawn(findExecutable('python3', 'PYTHON3')!, ['-c', script], { stdio: ['ignore', 'pipe', 'pipe'] }));
  try {
    await python.waitForStdout(/^bound$/m);
    n.notifySend(`@${name}`, 'WATCHDOG=1');
    const exit = await python.exit(10_000);
    assert.equal(exit.code, 0, exit.stderr);
    assert.equal(exit.stdout, 'bound\nWATCHDOG=1\n');
  } finally {
    await python.stop('SIGKILL');
  }
});

test('socketInfo: type, family, bound address and listening of UDP, TCP and Unix sockets; a file is ENOTSOCK', async (t) => {
  const n = addon(t);
  if (!n) return;
  const udp4 = await boundUdp('udp4', '127.0.0.1');
  const udp6 = await boundUdp('udp6', '::1').catch(() => undefined);
  const tcp = net.createServer().listen(0, '127.0.0.1');
  await once(tcp, 'listening');
  try {
    assert.deepEqual(n.socketInfo(dgramFd(udp4)), { type: 'dgram', family: 'ipv4', address: '127.0.0.1', port: udp4.address().port, listening: false });
    if (udp6) assert.deepEqual(n.socketInfo(dgramFd(udp6)), { type: 'dgram', family: 'ipv6', address: '::1', port: udp6.address().port, listening: false });
    const port = (tcp.address() as net.AddressInfo).port;
    assert.deepEqual(n.socketInfo(serverFd(tcp)), { type: 'stream', family: 'ipv4', address: '127.0.0.1', port, listening: true });
    await withTempDir('relay-socket-info-', async (dir) => {
      const file = path.join(dir, 'stream');
      const unix = net.createServer().listen(file);
      await once(unix, 'listening');
      try {
        assert.deepEqual(n.socketInfo(serverFd(unix)), { type: 'stream', family: 'unix', path: file, listening: true });
      } finally {
        unix.close();
      }
      const fd = openSync(path.join(dir, 'plain'), 'w');
      try {
        assert.throws(
          () => n.socketInfo(fd),
          (e: NodeJS.ErrnoException) => e.code === 'ENOTSOCK',
        );
      } finally {
        closeSync(fd);
      }
    });
  } finally {
    udp4.close();
    udp6?.close();
    tcp.close();
  }
});

/** Sends `payloads` to 127.0.0.1:port, one datagram each. */
async function send(port: number, payloads: string[]): Promise<void> {
  const sender = dgram.createSocket('udp4');
  for (const p of payloads) await new Promise<void>((resolve, reject) => sender.send(p, port, '127.0.0.1', (e) => (e ? reject(e) : resolve())));
  sender.close();
}

/** A receiver adopting `fd`, and what it received so far. */
function adopt(n: NativeUdp, fd: number, recvBufferBytes = 0): { receiver: NativeUdpReceiver; got: string[] } {
  const got: string[] = [];
  const receiver = NativeUdpReceiver.open(n, {
    fd,
    path: undefined,
    recvBufferBytes,
    maxDatagramBytes: 256,
    onBatch: (count, r) => {
      for (let i = 0; i < count; i++) got.push(Buffer.from(r.datagram(i)).toString());
    },
  });
  return { receiver, got };
}

async function until(what: string, condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!condition()) {
    assert.ok(Date.now() < deadline, `${what} within 5 s`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

test('udpAdopt: receives on a socket bound by another owner; closing it closes its duplicate only, the socket is adopted again', async (t) => {
  const n = addon(t);
  if (!n) return;
  // Bound by node:dgram, kept only as our duplicate (as systemd keeps its own): the socket stays bound.
  const owner = await boundUdp('udp4', '127.0.0.1');
  const port = owner.address().port;
  const ownerFd = dgramFd(owner);
  const passed = n.fdDuplicate(ownerFd);
  owner.close();
  try {
    assert.notEqual(passed, ownerFd);
    assert.equal(n.socketInfo(passed).port, port);
    await send(port, ['queued before adopting']);
    const first = adopt(n, passed);
    assert.equal(first.receiver.boundText(), `udp@127.0.0.1:${port}`);
    await send(port, ['one', 'two']);
    await until('three datagrams', () => first.got.length === 3);
    assert.deepEqual(first.got, ['queued before adopting', 'one', 'two']);
    first.receiver.close();
    assert.equal(n.socketInfo(passed).port, port, 'the passed fd is still open and bound');
    await send(port, ['while nobody reads']);
    const second = adopt(n, passed);
    await send(port, ['three']);
    await until('two more', () => second.got.length === 2);
    assert.deepEqual(second.got, ['while nobody reads', 'three']);
    second.receiver.close();
  } finally {
    closeSync(passed);
  }
});

test('udpAdopt: a stream socket is refused; the receive buffer is raised towards what is asked, never lowered', async (t) => {
  const n = addon(t);
  if (!n) return;
  const tcp = net.createServer().listen(0, '127.0.0.1');
  await once(tcp, 'listening');
  try {
    assert.throws(
      () => adopt(n, serverFd(tcp)),
      (e: NodeJS.ErrnoException) => e.code === 'ESOCKTNOSUPPORT' && e.syscall === 'udpAdopt',
    );
  } finally {
    tcp.close();
  }
  const owner = await boundUdp('udp4', '127.0.0.1');
  try {
    owner.setRecvBufferSize(256 * 1024);
    const set = owner.getRecvBufferSize();
    const small = adopt(n, dgramFd(owner), 4096);
    assert.equal(small.receiver.recvBufferSize(), set, 'asking for less keeps what the socket has');
    small.receiver.close();
    const large = adopt(n, dgramFd(owner), set); // twice what it holds now: raised (capped by rmem_max without CAP_NET_ADMIN)
    assert.ok(large.receiver.recvBufferSize() >= set, `${large.receiver.recvBufferSize()} >= ${set}`);
    large.receiver.close();
  } finally {
    owner.close();
  }
});
