/**
 * A quick throughput check until `relay bench` exists: offers `rate` datagrams/s of `size`
 * bytes for `seconds` to a freshly spawned bin/relay with `dests` counting len32le sinks, and
 * prints what went in and what came out of each sink.
 *
 *   node dist/bench/quick-throughput.js [rate=100000] [dests=1] [seconds=5] [size=100]
 *
 * The sender is a worker thread of this process (paced by the clock, batches of up to 64 per
 * turn); sinks run on this process's main thread. On a 2-core machine everything shares the CPU.
 */
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import dgram from 'node:dgram';
import net from 'node:net';
import { once } from 'node:events';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

interface SenderData {
  port: number;
  rate: number;
  seconds: number;
  size: number;
}

async function sender({ port, rate, seconds, size }: SenderData): Promise<void> {
  const socket = dgram.createSocket('udp4');
  socket.connect(port, '127.0.0.1');
  await once(socket, 'connect');
  const payload = Buffer.alloc(size, 0x61);
  const start = process.hrtime.bigint();
  const total = rate * seconds;
  let sent = 0;
  let inFlight = 0;
  while (sent < total) {
    const elapsedS = Number(process.hrtime.bigint() - start) / 1e9;
    if (elapsedS > seconds * 3) break; // could not keep up: stop anyway, the report says so
    const due = Math.min(total, Math.floor(elapsedS * rate));
    for (let i = 0; sent < due && i < 64 && inFlight < 1024; i++, sent++) {
      inFlight++;
      socket.send(payload, () => inFlight--);
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
  while (inFlight > 0) await new Promise((resolve) => setImmediate(resolve));
  const elapsedS = Number(process.hrtime.bigint() - start) / 1e9;
  socket.close();
  parentPort!.postMessage({ sent, elapsedS });
}

async function main(): Promise<void> {
  const [rate = 100_000, dests = 1, seconds = 5, size = 100] = process.argv.slice(2).map(Number);
  const counts: number[] = [];
  const servers = await Promise.all(
    Array.from({ length: dests }, async (_, d) => {
      counts[d] = 0;
      const server = net.createServer((socket) => {
        let pending = 0; // bytes still to skip of the current frame's payload
        let header = Buffer.alloc(0);
        socket.on('data', (chunk: Buffer) => {
          let i = 0;
          while (i < chunk.length) {
            if (pending > 0) {
              const take = Math.min(pending, chunk.length - i);
              pending -= take;
              i += take;
              continue;
            }
            const need = 4 - header.length;
            header = Buffer.concat([header, chunk.subarray(i, i + need)]);
            i += Math.min(need, chunk.length - i);
            if (header.length === 4) {
              pending = header.readUInt32LE(0);
              header = Buffer.alloc(0);
              counts[d]!++;
            }
          }
        });
      });
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      return server;
    }),
  );
  const relayBin = fileURLToPath(new URL('../../bin/relay', import.meta.url));
  const destinations = servers.map((s) => `tcp@127.0.0.1:${(s.address() as net.AddressInfo).port}`);
  const relay = spawn(process.execPath, [relayBin, 'udp@127.0.0.1:0', ...destinations], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  relay.stderr.setEncoding('utf8');
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`relay did not start: ${stderr}`)), 10_000);
    relay.stderr.on('data', (s: string) => {
      stderr += s;
      const m = stderr.match(/listening on udp@127\.0\.0\.1:(\d+)/);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
  });
  const worker = new Worker(fileURLToPath(import.meta.url), { workerData: { port, rate, seconds, size } satisfies SenderData });
  const [{ sent, elapsedS }] = (await once(worker, 'message')) as [{ sent: number; elapsedS: number }];
  // Let the relay finish what it holds: wait until the counts stop moving (bounded).
  for (let last = -1, waitedMs = 0; waitedMs < 5000 && counts.reduce((a, b) => a + b, 0) !== last; waitedMs += 200) {
    last = counts.reduce((a, b) => a + b, 0);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  relay.kill('SIGKILL');
  for (const s of servers) s.close();
  const line = {
    offered_rate: rate,
    destinations: dests,
    size,
    sent,
    send_rate: Math.round(sent / elapsedS),
    delivered: counts,
    loss_pct: counts.map((c) => Number((((sent - c) / sent) * 100).toFixed(3))),
  };
  console.log(JSON.stringify(line));
  process.exit(0);
}

if (isMainThread) await main();
else await sender(workerData as SenderData);
