/**
 * A setting documented restart-only stays as the relay started even for what a reload adds:
 * `relp-window` 4 at start, a reload that adds a `relp@` destination while the file says 64. The
 * added destination sends 4 commands to a receiver that never answers, then waits until the
 * stall timeout closes that connection.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import path from 'node:path';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { encodeFrame, FrameParser, formatOffers } from '../../src/relp/frame.js';
import { startRelay, type RelayProcess } from '../helpers/relay-process.js';
import { eventually, metricsBase, stats } from '../helpers/relay-stats.js';
import { relayToml } from '../helpers/reload-config.js';
import { TestSink } from '../helpers/sinks.js';
import { sendLines } from '../helpers/tcp-lines.js';
import { withTempDir } from '../helpers/temp-dir.js';

/**
 * A RELP receiver that answers `open` and never a `syslog` command. It counts the commands each
 * connection brought; a connection is over when the relay gives up on it (--stall-timeout).
 */
async function silentRelpReceiver() {
  const commandsPerConnection: number[] = [];
  const sockets = new Set<net.Socket>();
  let closedConnections = 0;
  const server = net.createServer((socket) => {
    const connection = commandsPerConnection.push(0) - 1;
    sockets.add(socket);
    socket.on('close', () => {
      sockets.delete(socket);
      closedConnections++;
    });
    socket.on('error', () => {});
    const parser = new FrameParser(1 << 20);
    socket.on('data', (chunk: Buffer) => {
      parser.push(chunk);
      for (let f = parser.next(); f; f = parser.next()) {
        if (f.command === 'syslog') commandsPerConnection[connection]!++;
        else if (f.command === 'open') {
          const offers = formatOffers([
            ['relp_version', '0'],
            ['commands', 'syslog'],
          ]);
          socket.write(encodeFrame(f.txnr, 'rsp', Buffer.from(`200 OK\n${offers}`)));
        }
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    address: `relp@127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    commandsPerConnection,
    closedConnections: () => closedConnections,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

test('reload: relp-window is restart-only: a relp@ destination a reload adds keeps the window the relay started with', async () => {
  const startWindow = 4;
  const fileWindow = 64;
  const N = 40;
  await withTempDir('relay-reload-relp-window-', async (dir) => {
    const sink = await TestSink.start();
    const receiver = await silentRelpReceiver();
    const file = path.join(dir, 'relay.toml');
    const listen = ['tcp@127.0.0.1:0?framing=lf'];
    await writeFile(file, relayToml(listen, [sink.address()], `relp-window = ${startWindow}\nstall-timeout = "1s"\n`));
    let relay: RelayProcess | undefined;
    try {
      const started = await startRelay(['--config', file]);
      relay = started.relay;
      const base = await metricsBase(relay);
      await writeFile(file, relayToml(listen, [sink.address(), receiver.address], `relp-window = ${fileWindow}\nstall-timeout = "1s"\n`));
      relay.child.kill('SIGHUP');
      await relay.waitForStderr(/reloaded .*relay\.toml/);
      await relay.waitForStderr(new RegExp(`ignored until restart: .*relp-window ${startWindow} -> ${fileWindow}`));

      await sendLines(
        started.listeners[0]!,
        Array.from({ length: N }, (_, i) => `message ${i}`),
      );
      await sink.waitFor(N);
      await eventually(async () => {
        const d = (await stats(base)).destinations.find((x) => x.name === receiver.address)!;
        return d.unconfirmedMessages === N || `${d.unconfirmedMessages} of ${N} handed to the relp@ destination`;
      });
      // Nothing is answered: after --stall-timeout the relay closes the connection, and what it carried is all the window let out.
      await eventually(async () => receiver.closedConnections() > 0 || 'the relay has not given up on the first connection');
      assert.equal(receiver.commandsPerConnection[0], startWindow, 'syslog commands sent on the first connection before waiting for answers');
    } finally {
      await relay?.stop('SIGKILL');
      await receiver.close();
      await sink.close();
    }
  });
});
