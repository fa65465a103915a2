#!/usr/bin/env node
/**
 * Microbenchmark of the native UDP addon against node:dgram (not part of npm test; a few seconds).
 *
 *   npm run build && node bench/native-udp.mjs [count=200000] [rate=100000]
 *
 * 1. Receive cost: a receiver process (native addon, then node:dgram) gets `count` datagrams of
 *    100 bytes on 127.0.0.1 from a sender process pacing them at `rate`/s in 1 ms steps; the
 *    receiver's process CPU time (user+sys, all its threads) from ready to the last datagram,
 *    divided by the datagrams received, is the CPU per datagram. The callback does what ingest
 *    needs per datagram: a view of it (native) / the Buffer dgram hands over.
 * 2. Drain cost: the same count, but queued in the socket in bursts of 2000 before the loop gets
 *    to them (ingest catching up): CPU of the drain only, per datagram.
 * 3. Send rate: one NativeUdpSender, in its own process, offers 100-byte datagrams with sendmmsg
 *    (1024 per call) for 1 s to a socket that never reads (the kernel drops them). On loopback the
 *    kernel's delivery work is done in the sender's context, so this is a lower bound for a NIC.
 */
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { fileURLToPath } from 'node:url';

const SELF = fileURLToPath(import.meta.url);
const SIZE = 100;
const { loadNativeUdp, nativeUdpUnavailableReason, NativeUdpReceiver, NativeUdpSender } = await import(
  new URL('../dist/ingest/native-udp.js', import.meta.url).href
);

function cpuMicros() {
  const u = process.cpuUsage();
  return u.user + u.system;
}

function out(obj) {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

/** Receiver child: prints {port}, then {received, cpuMicros, batches} when `count` arrived or the sender went quiet. */
async function receive(kind, count) {
  let received = 0;
  let batches = 0;
  let bytes = 0;
  let start = 0;
  let done;
  const finished = new Promise((resolve) => (done = resolve));
  let lastArrival = Date.now();
  let port;
  let close;
  if (kind === 'native') {
    const native = loadNativeUdp();
    if (native === undefined) throw new Error(`native addon unavailable: ${nativeUdpUnavailableReason()}`);
    const receiver = NativeUdpReceiver.open(native, {
      family: 4,
      host: '127.0.0.1',
      port: 0,
      recvBufferBytes: 4 << 20,
      maxDatagramBytes: 2048,
      batchSize: 64,
      onBatch: (n, r) => {
        batches++;
        for (let i = 0; i < n; i++) bytes += r.datagram(i).length;
        received += n;
        lastArrival = Date.now();
        if (received >= count) done();
      },
    });
    port = receiver.address().port;
    close = () => receiver.close();
  } else {
    const socket = dgram.createSocket('udp4');
    await new Promise((resolve) => socket.bind(0, '127.0.0.1', resolve));
    socket.setRecvBufferSize(4 << 20);
    socket.on('message', (msg) => {
      bytes += msg.length;
      received++;
      lastArrival = Date.now();
      if (received >= count) done();
    });
    port = socket.address().port;
    close = () => socket.close();
  }
  // Quiet for 300 ms after the first datagram: the rest was dropped.
  const quiet = setInterval(() => {
    if (received > 0 && Date.now() - lastArrival > 300) done();
  }, 50);
  start = cpuMicros();
  out({ port });
  await finished;
  const cpu = cpuMicros() - start;
  clearInterval(quiet);
  close();
  out({ received, bytes, batches, cpuMicros: cpu });
}

/**
 * Drain child: the socket already holds a burst when the loop gets to it (the best case for
 * batching, e.g. ingest catching up after a busy moment). Sends `burst` datagrams to itself
 * synchronously (not counted), then counts the CPU until the loop has received them; repeats.
 */
async function drain(kind, count, burst) {
  const native = loadNativeUdp();
  let received = 0;
  let batches = 0;
  let wake = () => {};
  let port;
  let close;
  if (kind === 'native') {
    const receiver = NativeUdpReceiver.open(native, {
      family: 4,
      host: '127.0.0.1',
      port: 0,
      recvBufferBytes: 4 << 20,
      maxDatagramBytes: 2048,
      batchSize: 256,
      onBatch: (n, r) => {
        batches++;
        for (let i = 0; i < n; i++) r.datagram(i);
        received += n;
        wake();
      },
    });
    port = receiver.address().port;
    close = () => receiver.close();
  } else {
    const socket = dgram.createSocket('udp4');
    await new Promise((resolve) => socket.bind(0, '127.0.0.1', resolve));
    socket.setRecvBufferSize(4 << 20);
    socket.on('message', () => {
      received++;
      wake();
    });
    port = socket.address().port;
    close = () => socket.close();
  }
  const sender = NativeUdpSender.open(native, 4, '127.0.0.1', port);
  const buffer = new Uint8Array(burst * SIZE).fill(0x63);
  const lengths = new Int32Array(burst).fill(SIZE);
  let cpu = 0;
  let target = 0;
  while (target < count) {
    let sent = 0;
    while (sent < burst) sent += sender.sendBatch(buffer.subarray(sent * SIZE), lengths.subarray(sent), burst - sent);
    target += burst;
    const c0 = cpuMicros();
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`drain: ${received} of ${target} after 5 s`)), 5000);
      wake = () => {
        if (received >= target) {
          clearTimeout(timer);
          resolve();
        }
      };
    });
    cpu += cpuMicros() - c0;
  }
  sender.close();
  close();
  out({ received, batches, cpuMicros: cpu });
}

/** Sender child: `count` datagrams to port at `rate`/s, paced in 1 ms steps. */
function send(port, count, rate) {
  const native = loadNativeUdp();
  const sender = NativeUdpSender.open(native, 4, '127.0.0.1', port);
  const perStep = Math.max(1, Math.round(rate / 1000));
  const buffer = new Uint8Array(perStep * SIZE).fill(0x61);
  const lengths = new Int32Array(perStep).fill(SIZE);
  const nap = new Int32Array(new SharedArrayBuffer(4));
  const t0 = performance.now();
  let sent = 0;
  let step = 0;
  while (sent < count) {
    const n = Math.min(perStep, count - sent);
    sent += sender.sendBatch(buffer, lengths, n);
    step++;
    const wait = t0 + step - performance.now();
    if (wait > 0) Atomics.wait(nap, 0, 0, wait);
  }
  sender.close();
  out({ sent, seconds: (performance.now() - t0) / 1000 });
}

/**
 * Flood child: offers datagrams for `seconds` to a socket of its own that is never read (the
 * synchronous loop keeps dgram from reading; the kernel drops what overflows) and reports the rate.
 */
async function flood(seconds) {
  const native = loadNativeUdp();
  const sink = dgram.createSocket('udp4');
  await new Promise((resolve) => sink.bind(0, '127.0.0.1', resolve));
  const sender = NativeUdpSender.open(native, 4, '127.0.0.1', sink.address().port);
  const batch = 1024;
  const buffer = new Uint8Array(batch * SIZE).fill(0x62);
  const lengths = new Int32Array(batch).fill(SIZE);
  const c0 = cpuMicros();
  const t0 = performance.now();
  let sent = 0;
  let calls = 0;
  while (performance.now() - t0 < seconds * 1000) {
    sent += sender.sendBatch(buffer, lengths, batch);
    calls++;
  }
  const elapsed = (performance.now() - t0) / 1000;
  const cpu = cpuMicros() - c0;
  sender.close();
  sink.close();
  out({ sent, calls, seconds: elapsed, cpuMicros: cpu });
}

/** Runs this script as a child in `args` mode; resolves with its JSON lines, calling onLine for each. */
function child(args, onLine = () => {}) {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [SELF, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    const lines = [];
    let buffered = '';
    p.stdout.on('data', (chunk) => {
      buffered += chunk;
      for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
        const line = JSON.parse(buffered.slice(0, nl));
        buffered = buffered.slice(nl + 1);
        lines.push(line);
        onLine(line);
      }
    });
    p.on('error', reject);
    p.on('exit', (code) => (code === 0 ? resolve(lines) : reject(new Error(`${args[0]} exited with ${code}`))));
  });
}

async function compare(count, rate) {
  const results = {};
  for (const kind of ['native', 'dgram']) {
    let senderDone;
    const receiver = child(['recv', kind, String(count)], (line) => {
      if (line.port !== undefined) senderDone = child(['send', String(line.port), String(count), String(rate)]);
    });
    const lines = await receiver;
    const sent = (await senderDone)[0];
    const r = lines[1];
    results[kind] = r;
    console.log(
      `${kind.padEnd(6)} received ${r.received}/${sent.sent} (${((r.received / sent.sent) * 100).toFixed(1)}%) in ${sent.seconds.toFixed(2)} s, ` +
        `receiver CPU ${(r.cpuMicros / 1000).toFixed(0)} ms = ${(r.cpuMicros / r.received).toFixed(2)} µs/datagram` +
        (kind === 'native' ? `, ${r.batches} batches (${(r.received / r.batches).toFixed(1)} datagrams/batch)` : ''),
    );
  }
  console.log(
    `native/dgram CPU per datagram: ${(results.native.cpuMicros / results.native.received / (results.dgram.cpuMicros / results.dgram.received)).toFixed(2)}`,
  );
}

async function drainBoth(count, burst) {
  console.log(`${count} datagrams of ${SIZE} bytes already queued in bursts of ${burst} (CPU of the drain only):`);
  const perDatagram = {};
  for (const kind of ['native', 'dgram']) {
    const [r] = await child(['drain', kind, String(count), String(burst)]);
    perDatagram[kind] = r.cpuMicros / r.received;
    console.log(
      `${kind.padEnd(6)} ${r.received} drained, CPU ${(r.cpuMicros / 1000).toFixed(0)} ms = ${perDatagram[kind].toFixed(2)} µs/datagram` +
        (kind === 'native' ? `, ${r.batches} batches (${(r.received / r.batches).toFixed(1)} datagrams/batch)` : ''),
    );
  }
  console.log(`native/dgram CPU per datagram: ${(perDatagram.native / perDatagram.dgram).toFixed(2)}`);
}

async function sendRate() {
  const [r] = await child(['flood', '1']);
  console.log(
    `sender: ${(r.sent / r.seconds / 1e6).toFixed(2)} M datagrams/s of ${SIZE} bytes offered by one NativeUdpSender thread ` +
      `(${r.calls} sendBatch calls of 1024, ${((r.cpuMicros / r.sent) * 1000).toFixed(0)} ns CPU/datagram)`,
  );
}

const [mode, ...rest] = process.argv.slice(2);
if (mode === 'recv') await receive(rest[0], Number(rest[1]));
else if (mode === 'send') send(Number(rest[0]), Number(rest[1]), Number(rest[2]));
else if (mode === 'flood') await flood(Number(rest[0]));
else if (mode === 'drain') await drain(rest[0], Number(rest[1]), Number(rest[2]));
else {
  if (loadNativeUdp() === undefined) {
    console.error(`native addon unavailable: ${nativeUdpUnavailableReason()}`);
    process.exit(1);
  }
  const count = Number(mode ?? 200_000);
  const rate = Number(rest[0] ?? 100_000);
  console.log(`${count} datagrams of ${SIZE} bytes on 127.0.0.1 at ${rate}/s`);
  await compare(count, rate);
  await drainBoth(count, 2000);
  await sendRate();
}
