/**
 * nginx's stream module in front of three relays (README "Scale out"), each relay on its own port
 * with its own --spill-dir and sink: what each way of spreading keeps and loses. With
 * `hash $remote_addr$remote_port` every sender stays on one relay, so its lines arrive once and in
 * order; round robin deals one sender's lines to the three in turn (their order then rests on timing). Either
 * way the relays see nginx's address, not the sender's: their --deny of the senders' address never
 * matches (the same senders sending straight to a relay are denied). nginx runs with
 * `proxy_responses 0`: the relays never answer, and each datagram ends its UDP session.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startRelay, hostPortOf, type RelayProcess } from '../helpers/relay-process.js';
import { eventually, metricsBase, stats } from '../helpers/relay-stats.js';
import { TestSink } from '../helpers/sinks.js';
import { missingNginxStream, startNginx } from '../helpers/nginx.js';
import { checkEveryLineOnce, UdpSenders, waitDelivered } from '../helpers/spread-traffic.js';
import { withTempDir } from '../helpers/temp-dir.js';

const RELAYS = 3;
const SENDERS = 12;
const ROUNDS = 150;
/** Lines of the one sender nginx spreads round robin. */
const SCATTERED = 60;
/** The senders' own address: every relay denies it. */
const SENDERS_AT = '127.0.0.2';

test('nginx stream before three relays: hashed by sender, each of 12 senders on one relay, every line once and in order; round robin deals the lines of one sender to all three in turn; the relays see nginx, not the sender', async (t) => {
  if (missingNginxStream(t)) return;
  await withTempDir('relay-nginx-', async (dir) => {
    const sinks: TestSink[] = [];
    const relays: RelayProcess[] = [];
    let nginx: RelayProcess | undefined;
    const senders = await UdpSenders.open(SENDERS, SENDERS_AT);
    try {
      const ports: number[] = [];
      for (let i = 0; i < RELAYS; i++) {
        const sink = await TestSink.start();
        sinks.push(sink);
        const spill = path.join(dir, `spill-${i}`);
        const args = ['udp@127.0.0.1:0', '--spill-dir', spill, '--deny', SENDERS_AT, '--metrics', '127.0.0.1:0', sink.address()];
        const { relay, listeners } = await startRelay(args);
        relays.push(relay);
        ports.push(hostPortOf(listeners[0]!).port);
      }
      const servers = ports.map((p) => `server 127.0.0.1:${p};`).join(' ');
      const started = await startNginx(dir, 2, ([hashed, roundRobin]) =>
        [
          `  upstream by_sender { hash $remote_addr$remote_port; ${servers} }`,
          `  upstream round_robin { ${servers} }`,
          `  server { listen 127.0.0.1:${hashed} udp; proxy_pass by_sender; proxy_responses 0; }`,
          `  server { listen 127.0.0.1:${roundRobin} udp; proxy_pass round_robin; proxy_responses 0; }`,
        ].join('\n'),
      );
      nginx = started.process;
      const [hashed, roundRobin] = started.ports as [number, number];

      const wait = (n: number) => waitDelivered(sinks, n);
      await senders.sendRounds({ host: '127.0.0.1', port: hashed }, 'h', (r) => r < ROUNDS, wait);
      await wait(SENDERS * ROUNDS);
      const placed = checkEveryLineOnce(sinks, 'h', SENDERS, ROUNDS);
      for (const [sender, perSink] of placed.entries()) {
        assert.equal(perSink.filter((lines) => lines.length > 0).length, 1, `sender ${sender} on one relay: ${perSink.map((l) => l.length)}`);
      }
      const used = sinks.filter((_, k) => placed.some((perSink) => perSink[k]!.length > 0)).length;
      assert.ok(used > 1, `the ${SENDERS} senders spread over more than one relay (${used})`);

      // One sender, round robin: each datagram is a session of its own, and goes to the next relay.
      const one = await UdpSenders.open(1, SENDERS_AT);
      try {
        await one.sendRounds(
          { host: '127.0.0.1', port: roundRobin },
          'r',
          (r) => r < SCATTERED,
          (n) => wait(SENDERS * ROUNDS + n),
        );
      } finally {
        one.close();
      }
      await wait(SENDERS * ROUNDS + SCATTERED);
      const [scattered] = checkEveryLineOnce(sinks, 'r', 1, SCATTERED);
      for (const [k, lines] of scattered!.entries()) {
        assert.equal(lines.length, SCATTERED / RELAYS, `relay ${k} got a third of the sender's lines: ${lines}`);
        assert.ok(
          lines.every((n, j) => j === 0 || n - lines[j - 1]! === RELAYS),
          `relay ${k} got every third line: ${lines}`,
        );
      }

      // The relays saw nginx's address: nothing was denied. Straight from the senders, all is.
      const bases = await Promise.all(relays.map((r) => metricsBase(r)));
      for (const base of bases) assert.equal((await stats(base)).listeners[0]!.droppedMessages.denied, 0);
      await senders.sendRounds({ host: '127.0.0.1', port: ports[0]! }, 'd', (r) => r < 1, wait);
      await eventually(async () => {
        const denied = (await stats(bases[0]!)).listeners[0]!.droppedMessages.denied;
        return denied === SENDERS || `relay 0 denied ${denied} of the ${SENDERS} lines sent to it straight`;
      });
      const exit = await nginx.stop('SIGTERM', 5000);
      assert.equal(exit.signal ?? exit.code, 0, exit.stderr);
      for (const relay of relays) assert.equal((await relay.stop('SIGTERM')).code, 0, relay.stderr);
    } finally {
      senders.close();
      await nginx?.stop('SIGTERM', 5000);
      for (const r of relays) await r.stop('SIGKILL');
      for (const s of sinks) await s.close();
    }
  });
});
