/**
 * The PROXY protocol header (src/framing/proxy-header.ts): headers built here byte by byte from
 * HAProxy's proxy-protocol.txt (not by the library the relay parses them with), whole and cut at
 * every byte, and on real loopback connections in seeded random chunks: the source named, and the
 * connection's own bytes after the header, exactly.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { mulberry32, randomInt } from '../../src/prng.js';
import { ProxyHeaderError, proxyHeaderEnd, proxyHeaderSource, readProxyHeader, type ProxyVersion } from '../../src/framing/proxy-header.js';

const SIGNATURE = [0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a];

/** A v2 header: command (0 LOCAL, 1 PROXY), family byte, the address block and TLV bytes. */
function v2(command: number, familyByte: number, addressBlock: number[], tlvs: number[] = []): Buffer {
  const body = [...addressBlock, ...tlvs];
  return Buffer.from([...SIGNATURE, 0x20 | command, familyByte, body.length >> 8, body.length & 0xff, ...body]);
}
/** A v2 address block: source and destination address bytes (4 each for IPv4, 16 for IPv6), then the ports. */
function addressBlock(src: number[], dst: number[], sport: number, dport: number): number[] {
  return [...src, ...dst, sport >> 8, sport & 0xff, dport >> 8, dport & 0xff];
}

/** Every case: a whole header, its version, and the source it names (undefined: none) or the error. */
const CASES: { name: string; version: ProxyVersion; header: Buffer; source?: string; error?: RegExp }[] = [
  { name: 'v1 TCP4', version: 'v1', header: Buffer.from('PROXY TCP4 10.1.2.3 192.0.2.1 51000 514\r\n'), source: '10.1.2.3' },
  { name: 'v1 TCP6', version: 'v1', header: Buffer.from('PROXY TCP6 2001:db8::7 2001:db8::1 51000 514\r\n'), source: '2001:db8::7' },
  { name: 'v1 UNKNOWN', version: 'v1', header: Buffer.from('PROXY UNKNOWN\r\n'), source: undefined },
  { name: 'v1 UNKNOWN with addresses', version: 'v1', header: Buffer.from('PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n'), source: undefined },
  { name: 'v1 not an IPv4 address', version: 'v1', header: Buffer.from('PROXY TCP4 300.1.2.3 192.0.2.1 1 2\r\n'), error: /not TCP4 addresses/ },
  { name: 'v1 IPv6 under TCP4', version: 'v1', header: Buffer.from('PROXY TCP4 ::1 ::1 1 2\r\n'), error: /not TCP4 addresses/ },
  { name: 'v1 port past 65535', version: 'v1', header: Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 70000 2\r\n'), error: /ports/ },
  { name: 'v1 no protocol', version: 'v1', header: Buffer.from('PROXY 1.2.3.4\r\n'), error: /bad PROXY v1 header/ },
  {
    name: 'v2 PROXY IPv4',
    version: 'v2',
    header: v2(1, 0x11, addressBlock([10, 9, 8, 7], [127, 0, 0, 1], 40000, 514)),
    source: '10.9.8.7',
  },
  {
    name: 'v2 PROXY IPv4 with TLVs',
    version: 'v2',
    header: v2(1, 0x11, addressBlock([10, 9, 8, 6], [127, 0, 0, 1], 40000, 514), [0x01, 0x00, 0x02, 0x68, 0x32, 0x04, 0x00, 0x00]),
    source: '10.9.8.6',
  },
  {
    name: 'v2 PROXY IPv6',
    version: 'v2',
    header: v2(1, 0x21, addressBlock([0x20, 0x01, 0x0d, 0xb8, ...Array(11).fill(0), 9], [...Array(15).fill(0), 1], 1, 2)),
    source: '2001:db8::9',
  },
  { name: 'v2 LOCAL (a health check)', version: 'v2', header: v2(0, 0x00, []), source: undefined },
  { name: 'v2 PROXY UNSPEC', version: 'v2', header: v2(1, 0x00, []), source: undefined },
  { name: 'v2 unknown command', version: 'v2', header: v2(2, 0x11, addressBlock([1, 2, 3, 4], [5, 6, 7, 8], 1, 2)), error: /unknown command 2/ },
  { name: 'v2 unknown family', version: 'v2', header: v2(1, 0xf1, addressBlock([1, 2, 3, 4], [5, 6, 7, 8], 1, 2)), error: /unknown family or transport 0xf1/ },
  {
    name: 'v2 unknown transport',
    version: 'v2',
    header: v2(1, 0x1f, addressBlock([1, 2, 3, 4], [5, 6, 7, 8], 1, 2)),
    error: /unknown family or transport 0x1f/,
  },
  { name: 'v2 IPv4 block too short', version: 'v2', header: v2(1, 0x11, [1, 2, 3, 4]), error: /too short/ },
];

test('proxy header: each case whole, and cut at every byte (more bytes needed until the last)', () => {
  for (const c of CASES) {
    for (let cut = 0; cut < c.header.length; cut++) {
      assert.equal(proxyHeaderEnd(c.header.subarray(0, cut), c.version), undefined, `${c.name}: cut at ${cut}`);
    }
    const withMore = Buffer.concat([c.header, Buffer.from('<13>after')]);
    assert.equal(proxyHeaderEnd(withMore, c.version), c.header.length, c.name);
    if (c.error) assert.throws(() => proxyHeaderSource(c.header, c.version), c.error, c.name);
    else assert.equal(proxyHeaderSource(c.header, c.version), c.source, c.name);
  }
});

test('proxy header: bytes that cannot begin a header are refused at once', () => {
  assert.throws(() => proxyHeaderEnd(Buffer.from('<13>Oct 1 host: hi\n'), 'v1'), ProxyHeaderError);
  assert.throws(() => proxyHeaderEnd(Buffer.from('PRO'), 'v2'), /v2/);
  assert.throws(() => proxyHeaderEnd(Buffer.from([0x16, 0x03, 0x01]), 'v1'), /v1/); // a TLS ClientHello
  assert.throws(() => proxyHeaderEnd(Buffer.from(`PROXY TCP4 ${'1'.repeat(120)}`), 'v1'), /without CRLF/);
  assert.throws(() => proxyHeaderEnd(Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n'), 'v2'), /signature/);
  assert.throws(() => proxyHeaderEnd(CASES.find((c) => c.version === 'v2')!.header, 'v1'), /v1/);
});

/** A loopback connection: the server side, and a client that writes `chunks` (a turn of the loop apart). */
async function connection(chunks: Buffer[]): Promise<{ server: net.Socket; close(): void }> {
  const listener = net.createServer();
  listener.listen(0, '127.0.0.1');
  await once(listener, 'listening');
  const accepted = once(listener, 'connection');
  const client = net.connect((listener.address() as net.AddressInfo).port, '127.0.0.1');
  client.on('error', () => {});
  const [server] = (await accepted) as [net.Socket];
  server.pause();
  void (async () => {
    for (const chunk of chunks) {
      client.write(chunk);
      await new Promise((resolve) => setImmediate(resolve));
    }
    client.end();
  })();
  return {
    server,
    close: () => {
      client.destroy();
      server.destroy();
      listener.close();
    },
  };
}

/** Reads everything left on `socket` until it ends. */
async function rest(socket: net.Socket): Promise<Buffer> {
  const parts: Buffer[] = [];
  socket.on('data', (d: Buffer) => parts.push(d));
  socket.resume();
  await once(socket, 'end');
  return Buffer.concat(parts);
}

test('proxy header: on real connections, in seeded random chunks, the source and exactly the bytes after it (200 seeds)', async () => {
  const valid = CASES.filter((c) => !c.error);
  for (let seed = 1; seed <= 200; seed++) {
    const random = mulberry32(seed);
    const c = valid[randomInt(random, 0, valid.length - 1)]!;
    const after = Buffer.from(Array.from({ length: randomInt(random, 0, 300) }, () => randomInt(random, 0, 255)));
    const whole = Buffer.concat([c.header, after]);
    const chunks: Buffer[] = [];
    for (let at = 0; at < whole.length; ) {
      const n = randomInt(random, 1, 40);
      chunks.push(whole.subarray(at, at + n));
      at += n;
    }
    const { server, close } = await connection(chunks);
    try {
      const source = await readProxyHeader(server, c.version, 5000);
      assert.equal(source, c.source, `seed ${seed} ${c.name}`);
      assert.deepEqual(await rest(server), after, `seed ${seed} ${c.name}: the bytes after the header`);
    } finally {
      close();
    }
  }
});

test('proxy header: a connection that ends, sends garbage, or stalls before its header is refused', async () => {
  const ended = await connection([Buffer.from('PROXY TCP4 1.2.')]);
  await assert.rejects(readProxyHeader(ended.server, 'v1', 5000), /closed before its PROXY v1 header/);
  ended.close();
  const garbage = await connection([Buffer.from('hello\n')]);
  await assert.rejects(readProxyHeader(garbage.server, 'v2', 5000), /no PROXY v2/);
  garbage.close();
  const listener = net.createServer();
  listener.listen(0, '127.0.0.1');
  await once(listener, 'listening');
  const accepted = once(listener, 'connection');
  const client = net.connect((listener.address() as net.AddressInfo).port, '127.0.0.1');
  client.write('PROXY TCP4 ');
  const [server] = (await accepted) as [net.Socket];
  try {
    await assert.rejects(readProxyHeader(server, 'v1', 200), /no PROXY v1 header within 200 ms/);
  } finally {
    client.destroy();
    server.destroy();
    listener.close();
  }
});
