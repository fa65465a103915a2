/**
 * `?proxy=v1|v2` listeners through bin/relay: the client a PROXY header names is the source that
 * --allow, --deny and --rate-limit see; a connection without a valid header is refused and counted
 * (`proxy_header`); and behind the real HAProxy (Debian's, `send-proxy` and `send-proxy-v2`, in
 * front of tcp@ and of tls@, where the header comes before the TLS handshake) every line a client
 * sends arrives, and a client outside --allow is refused although HAProxy itself is inside it.
 */
import test, { type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import tls from 'node:tls';
import path from 'node:path';
import { writeFile } from 'node:fs/promises';
import { noUdpSecondPass, startRelay, type RelayProcess, portOf } from '../helpers/relay-process.js';
import { eventually, metricsBase, stats } from '../helpers/relay-stats.js';
import { stopRelayAndSinks, TestSink } from '../helpers/sinks.js';
import { missingHaproxy, startHaproxy } from '../helpers/haproxy.js';
import { testPkiPerFile } from '../helpers/certs.js';
import { withTempDir } from '../helpers/temp-dir.js';
import { mulberry32, randomInt } from '../../src/prng.js';
import { relayToml } from '../helpers/reload-config.js';
import { freePort } from '../helpers/numbered.js';

const pki = testPkiPerFile();

/** Connects from `from` to 127.0.0.1:port, writes `bytes`, ends, and resolves once the connection closed. */
async function sendTcp(port: number, bytes: string | Buffer, from = '127.0.0.1'): Promise<void> {
  const socket = net.connect({ port, host: '127.0.0.1', localAddress: from });
  socket.on('error', () => {});
  socket.resume();
  socket.end(bytes);
  await once(socket, 'close');
}

const lines = (prefix: string, n: number): string => Array.from({ length: n }, (_, i) => `${prefix} ${i}\n`).join('');
const received = (sink: TestSink): string[] => sink.messages.map((m) => m.toString()).sort();

test('?proxy=v1: the header names the source --deny and --rate-limit see; without a header, refused and counted', async (t) => {
  if (noUdpSecondPass(t)) return;
  const sink = await TestSink.start('lf');
  let relay: RelayProcess | undefined;
  try {
    const started = await startRelay([
      'tcp@127.0.0.1:0?framing=lf&proxy=v1',
      `${sink.address()}?framing=lf`,
      '--deny',
      '10.9.9.9',
      '--rate-limit',
      '1',
      '--rate-burst',
      '3',
      '--metrics',
      '127.0.0.1:0',
      '--stats-interval',
      '0',
    ]);
    relay = started.relay;
    const base = await metricsBase(relay);
    const port = portOf(started.listeners[0]!);
    await sendTcp(port, `PROXY TCP4 10.1.1.1 127.0.0.1 5000 514\r\n${lines('ok', 2)}`);
    await sendTcp(port, `PROXY TCP4 10.9.9.9 127.0.0.1 5001 514\r\n${lines('denied', 1)}`);
    await sendTcp(port, `PROXY TCP6 2001:db8::5 ::1 5002 514\r\n${lines('limited', 10)}`);
    await sendTcp(port, lines('no-header', 1));
    await sendTcp(port, `PROXY UNKNOWN\r\n${lines('unknown', 1)}`);
    await eventually(async () => {
      const l = (await stats(base)).listeners[0]!;
      const got = [l.droppedMessages.denied, l.droppedMessages.rate_limited, l.closedConnections.proxy_header];
      return got.join() === '1,7,1' || `denied, rate_limited, proxy_header: ${got.join(', ')} (expected 1, 7, 1)`;
    });
    await sink.waitFor(6);
    assert.deepEqual(received(sink), ['limited 0', 'limited 1', 'limited 2', 'ok 0', 'ok 1', 'unknown 0']);
    assert.match(relay.stderr, /refused a connection from 127\.0\.0\.1: no PROXY v1 \("PROXY "\) header/);
    assert.match(relay.stderr, /ignored 10\.9\.9\.9: in --deny/);
    await relay.waitForStderr(/most dropped since the last report: 2001:db8::5 \(7\)/);
  } finally {
    await stopRelayAndSinks(relay, [sink]);
  }
});

test('behind the real HAProxy: send-proxy to ?proxy=v1, send-proxy-v2 to ?proxy=v2 and to a tls@ ?proxy=v2; --allow sees the client, not HAProxy', async (t: TestContext) => {
  if (noUdpSecondPass(t)) return;
  if (missingHaproxy(t)) return;
  await withTempDir('relay-proxy-', async (dir) => {
    const sink = await TestSink.start('lf');
    let relay: RelayProcess | undefined;
    let haproxy: Awaited<ReturnType<typeof startHaproxy>> | undefined;
    try {
      const started = await startRelay(
        [
          'tcp@127.0.0.1:0?framing=lf&proxy=v1',
          `${sink.address()}?framing=lf`,
          '--listen',
          'tcp@127.0.0.1:0?framing=lf&proxy=v2',
          '--listen',
          'tls@127.0.0.1:0?framing=lf&proxy=v2',
          '--listen-tls-cert',
          pki().server.certFile,
          '--listen-tls-key',
          pki().server.keyFile,
          // HAProxy connects from 127.0.0.1: only the header's source can be let in.
          '--allow',
          '127.0.0.3/32',
          '--metrics',
          '127.0.0.1:0',
          '--stats-interval',
          '0',
        ],
        3,
      );
      relay = started.relay;
      const base = await metricsBase(relay);
      const [v1Port, v2Port, tlsPort] = started.listeners.map(portOf) as [number, number, number];
      haproxy = await startHaproxy(dir, 3, ([a, b, c]) =>
        [
          'defaults',
          '  mode tcp',
          '  timeout connect 5s',
          '  timeout client 30s',
          '  timeout server 30s',
          ...[
            ['v1', a, `server relay 127.0.0.1:${v1Port} send-proxy`],
            ['v2', b, `server relay 127.0.0.1:${v2Port} send-proxy-v2`],
            ['tls', c, `server relay 127.0.0.1:${tlsPort} send-proxy-v2`],
          ].flatMap(([name, port, server]) => [`listen ${name}`, `  bind 127.0.0.1:${port}`, `  ${server}`]),
          '',
        ].join('\n'),
      );
      const [hV1, hV2, hTls] = haproxy.ports as [number, number, number];
      await sendTcp(hV1, lines('v1', 50), '127.0.0.3');
      await sendTcp(hV2, lines('v2', 50), '127.0.0.3');
      const raw = net.connect({ host: '127.0.0.1', port: hTls, localAddress: '127.0.0.3' });
      const secure = tls.connect({ socket: raw, ca: pki().ca.cert, servername: 'localhost' });
      secure.on('error', () => {});
      await once(secure, 'secureConnect');
      secure.resume();
      secure.end(lines('tls', 50));
      await once(secure, 'close');
      await sendTcp(hV2, lines('outsider', 5), '127.0.0.4');
      await sink.waitFor(150);
      await eventually(async () => {
        const l = (await stats(base)).listeners;
        return l[1]!.droppedMessages.not_allowed === 1 || `not_allowed on the v2 listener: ${l[1]!.droppedMessages.not_allowed}`;
      });
      const got = sink.messages.map((m) => m.toString());
      for (const prefix of ['v1', 'v2', 'tls']) {
        assert.deepEqual(
          got.filter((m) => m.startsWith(`${prefix} `)),
          lines(prefix, 50).trimEnd().split('\n'),
          `${prefix}: every line, in order`,
        );
      }
      assert.equal(got.length, 150, 'nothing from 127.0.0.4');
      const l = (await stats(base)).listeners;
      assert.deepEqual(
        l.map((x) => [x.closedConnections.proxy_header, x.closedConnections.tls_handshake, x.droppedMessages.not_allowed]),
        [
          [0, 0, 0],
          [0, 0, 1],
          [0, 0, 0],
        ],
        'HAProxy sent a valid header every time, and only 127.0.0.4 was refused',
      );
      assert.match(relay.stderr, /ignored 127\.0\.0\.4: not in --allow/);
    } finally {
      await haproxy?.process.stop();
      await stopRelayAndSinks(relay, [sink]);
    }
  });
});

/** A valid header of `version` naming 10.0.0.N, as a balancer sends it. */
function header(version: 'v1' | 'v2', n: number): Buffer {
  if (version === 'v1') return Buffer.from(`PROXY TCP4 10.0.0.${n} 127.0.0.1 40000 514\r\n`);
  const signature = [0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a];
  return Buffer.from([...signature, 0x21, 0x11, 0, 12, 10, 0, 0, n, 127, 0, 0, 1, 0x9c, 0x40, 0x02, 0x02]);
}

test('?proxy= fuzz: 240 seeded connections of mangled headers and random bytes, each either admitted or refused and counted; a good sender streams on, in order', async (t) => {
  if (noUdpSecondPass(t)) return;
  const sink = await TestSink.start('lf');
  let relay: RelayProcess | undefined;
  try {
    const started = await startRelay(
      [
        'tcp@127.0.0.1:0?framing=lf&proxy=v1',
        `${sink.address()}?framing=lf`,
        '--listen',
        'tcp@127.0.0.1:0?framing=len32le&proxy=v2',
        '--metrics',
        '127.0.0.1:0',
        '--stats-interval',
        '0',
      ],
      2,
    );
    relay = started.relay;
    const base = await metricsBase(relay);
    const ports = started.listeners.map(portOf) as [number, number];
    const good = net.connect(ports[0], '127.0.0.1');
    good.on('error', () => {});
    good.write(header('v1', 1));
    const N = 6000;
    let sent = 0;
    const pump = async (upTo: number): Promise<void> => {
      let chunk = '';
      for (; sent < upTo; sent++) chunk += `good ${sent}\n`;
      if (!good.write(chunk)) await once(good, 'drain');
    };
    const random = mulberry32(2026);
    const made = [0, 0];
    for (let round = 0; round < 4; round++) {
      await pump(((round + 1) * N) / 5);
      await Promise.all(
        Array.from({ length: 60 }, async () => {
          const l = randomInt(random, 0, 1);
          const valid = header(l === 0 ? 'v1' : 'v2', randomInt(random, 1, 254));
          // A valid header with bytes flipped, cut, or followed by random bytes; or random bytes alone.
          const kind = randomInt(random, 0, 3);
          const junk = Buffer.from(Array.from({ length: randomInt(random, 1, 400) }, () => randomInt(random, 0, 255)));
          let bytes: Buffer;
          if (kind === 0) bytes = junk;
          else if (kind === 1) bytes = valid.subarray(0, randomInt(random, 1, valid.length - 1));
          else if (kind === 2) bytes = Buffer.concat([valid, junk]);
          else {
            bytes = Buffer.from(valid);
            for (let f = randomInt(random, 1, 3); f > 0; f--) bytes[randomInt(random, 0, bytes.length - 1)] = randomInt(random, 0, 255);
          }
          made[l]!++;
          const s = net.connect(ports[l]!, '127.0.0.1');
          s.on('error', () => {});
          s.resume();
          s.end(bytes);
          await once(s, 'close');
        }),
      );
    }
    await pump(N);
    good.end();
    await sink.waitFor(N, 30_000);
    assert.deepEqual(
      sink.messages.map((m) => m.toString()).filter((m) => m.startsWith('good ')),
      Array.from({ length: N }, (_, i) => `good ${i}`),
    );
    // Every fuzz connection was admitted (a header that still parses) or refused and counted.
    await eventually(async () => {
      const l = (await stats(base)).listeners;
      const seen = l.map((x, i) => x.connectionsAccepted - (i === 0 ? 1 : 0) + x.closedConnections.proxy_header);
      return seen.join() === made.join() || `admitted + refused: ${seen.join(', ')} of ${made.join(', ')}`;
    });
    const l = (await stats(base)).listeners;
    assert.ok(l[0]!.closedConnections.proxy_header > 0 && l[1]!.closedConnections.proxy_header > 0, 'some refused on each');
  } finally {
    await stopRelayAndSinks(relay, [sink]);
  }
});

test('?proxy= by SIGHUP: adding it re-opens the listener to read headers; a SIGTERM does not wait for a client stalled in its header', async (t) => {
  if (noUdpSecondPass(t)) return;
  await withTempDir('relay-proxy-reload-', async (dir) => {
    const sink = await TestSink.start('lf');
    const file = path.join(dir, 'relay.toml');
    const port = await freePort();
    const toml = (query: string): string => relayToml([`tcp@127.0.0.1:${port}?framing=lf${query}`], [`${sink.address()}?framing=lf`], 'deny = ["10.9.9.9"]\n');
    await writeFile(file, toml(''));
    const { relay } = await startRelay(['--config', file]);
    let stalled: net.Socket | undefined;
    try {
      const base = await metricsBase(relay);
      await sendTcp(port, lines('plain', 1));
      await sink.waitFor(1);
      await writeFile(file, toml('&proxy=v1'));
      relay.child.kill('SIGHUP');
      await relay.waitForStderr(/reloaded .*relay\.toml/);
      await sendTcp(port, `PROXY TCP4 10.9.9.9 127.0.0.1 5000 514\r\n${lines('denied', 1)}`);
      await sendTcp(port, `PROXY TCP4 10.1.1.1 127.0.0.1 5000 514\r\n${lines('proxied', 1)}`);
      await sink.waitFor(2);
      assert.deepEqual(received(sink), ['plain 0', 'proxied 0']);
      assert.equal((await stats(base)).listeners[0]!.droppedMessages.denied, 1, 'the header source was denied');
      // A client that began its header and stalls: the relay's stop closes it at once, not after the 10 s header timeout.
      stalled = net.connect(port, '127.0.0.1');
      stalled.on('error', () => {});
      stalled.resume();
      stalled.write('PROXY TCP4 ');
      await once(stalled, 'connect');
      const closed = once(stalled, 'close');
      const started = Date.now();
      const exit = await relay.stop('SIGTERM', 15_000);
      assert.equal(exit.code, 0, exit.stderr);
      await closed;
      assert.ok(Date.now() - started < 8000, `the stop took ${Date.now() - started} ms: it waited for the stalled header`);
    } finally {
      stalled?.destroy();
      await stopRelayAndSinks(relay, [sink]);
    }
  });
});
