/**
 * A reload that changes a static consistent-hash group while one of its members is down, through
 * bin/relay (README "Groups", "Reload"): the member that stays keeps the share the old group had
 * placed on it and delivers it when it returns, with or without --spill-dir, as carbon-c-relay
 * keeps the queue of a server a reload keeps. Input is a framed TCP listener (`?framing=lf`).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { writeFile } from 'node:fs/promises';
import { ConsistentHash } from '../../src/group/consistent-hash.js';
import { freePort, metricNames } from '../helpers/carbon-relay.js';
import { relayToml } from '../helpers/reload-config.js';
import { startRelay, type RelayProcess } from '../helpers/relay-process.js';
import { eventually, metricsBase, stats } from '../helpers/relay-stats.js';
import { stopRelayAndSinks, TestSink } from '../helpers/sinks.js';
import { metricLine, metricValue, sendLines } from '../helpers/tcp-lines.js';
import { withTempDir } from '../helpers/temp-dir.js';

for (const spill of [false, true]) {
  test(`groups: a reload adds a member to a carbon_ch group while a member is down; that member gets its whole share when it returns (${spill ? 'with' : 'without'} --spill-dir)`, async () => {
    const N = 3000;
    const names = metricNames(7, 300);
    const up = await TestSink.start('lf');
    const added = await TestSink.start('lf');
    const downPort = await freePort();
    const sinks: TestSink[] = [up, added];
    let relay: RelayProcess | undefined;
    try {
      await withTempDir('groups-reload-down-', async (dir) => {
        const file = path.join(dir, 'relay.toml');
        const members = [`${up.address()}?framing=lf#a`, `tcp@127.0.0.1:${downPort}?framing=lf#b`, `${added.address()}?framing=lf#c`];
        const extra = `reconnect-max = "200ms"\n${spill ? `spill-dir = "${path.join(dir, 'spill')}"\n` : ''}`;
        const write = (count: number): Promise<void> =>
          writeFile(
            file,
            `${relayToml(['tcp@127.0.0.1:0?framing=lf'], [], extra)}\n[[group]]\nname = "carbon"\nmode = "carbon_ch"\nmembers = ${JSON.stringify(members.slice(0, count))}\n`,
          );
        await write(2);
        const started = await startRelay(['--config', file]);
        relay = started.relay;
        const base = await metricsBase(relay);
        const two = new ConsistentHash('carbon_ch', [
          { host: '127.0.0.1', port: up.port, instance: 'a' },
          { host: '127.0.0.1', port: downPort, instance: 'b' },
        ]);
        const lines = Array.from({ length: N }, (_, i) => metricLine(names[i % names.length]!, i));
        const shareOf = (member: number): number[] => lines.flatMap((l, i) => (two.place(Buffer.from(l.split(' ', 1)[0]!), 1)[0] === member ? [i] : []));
        const [ofUp, ofDown] = [shareOf(0), shareOf(1)];
        assert.ok(ofDown.length > N / 4 && ofUp.length > N / 4, `both members own a share (${ofUp.length}/${ofDown.length})`);
        await sendLines(started.listeners[0]!, lines);
        await up.waitFor(ofUp.length);
        await eventually(async () => (await stats(base)).listeners[0]!.receivedMessages === N || 'the relay has not received everything yet');

        await write(3);
        relay.child.kill('SIGHUP');
        await relay.waitForStderr(/reloaded .*relay\.toml/);
        // The old member at the down port finished (it was down: at once); its line says what became of its share.
        const retired = await relay.waitForStderr(new RegExp(`tcp@127\\.0\\.0\\.1:${downPort}\\?framing=lf: removed[^\\n]*`));
        const returned = await TestSink.start('lf', '127.0.0.1', downPort);
        sinks.push(returned);
        await returned
          .waitUntil(() => returned.messages.length >= ofDown.length, `the ${ofDown.length} messages of its share`)
          .catch((error: Error) => {
            throw new Error(`${error.message}; ${retired[0]}`);
          });
        assert.deepEqual(returned.messages.map(metricValue), ofDown, 'the returned member got its share, in order, once');
        assert.deepEqual(up.messages.map(metricValue), ofUp, 'the member that was up got its share once');
        assert.equal(added.messages.length, 0, 'the added member got nothing of what arrived before the reload');
        // Without a spill directory its share went to its successor in memory; with one, through the directory.
        const passed = spill ? `spilled ${ofDown.length}$` : `spilled 0, handed over ${ofDown.length}$`;
        assert.match(retired[0], new RegExp(`nothing left undelivered; its run: sent 0, dropped 0, ${passed}`));
        const shutdown = (await stats(base)).destinations.reduce((n, d) => n + d.droppedMessages.shutdown, 0);
        assert.equal(shutdown, 0, 'nothing counted dropped at shutdown');
      });
    } finally {
      await stopRelayAndSinks(relay, sinks);
    }
  });
}
