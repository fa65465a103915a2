/**
 * Relay.reload in process, with real threads and sockets (as Vector tests its topology reloads):
 * destinations swapped by many reloads give their slots back whatever the order of the egress
 * thread's reports (issue 15, defect 4), and each removed one logs its run's tally. The SIGHUP path
 * through bin/relay is tested end to end (test/e2e/reload*.test.ts).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { Relay } from '../../src/main/relay.js';
import { DESTINATION_SLOTS, type RelayConfig } from '../../src/config/config.js';
import { freePort } from '../helpers/numbered.js';
import { withTempDir } from '../helpers/temp-dir.js';
import { relayConfig } from '../helpers/relay-config.js';

/** A relay from one UDP listener to `destinations`, spilling to `dir`. */
function config(dir: string, destinations: string[]): RelayConfig {
  return relayConfig(['udp@127.0.0.1:0'], destinations, dir);
}

test(`relay: ${DESTINATION_SLOTS * 2} reloads that each swap a down destination for another never run out of slots; each removed one logs its tally`, async () => {
  await withTempDir('relay-reload-', async (dir) => {
    // Nobody listens on these: a removed one is down and finishes at once, while the added one's
    // spill directory is still opening, so its report usually comes before egress's reply.
    const ports = await Promise.all([freePort(), freePort(), freePort()]);
    const lines: string[] = [];
    const relay = await Relay.start(
      config(dir, [`tcp@127.0.0.1:${ports[0]}`, `tcp@127.0.0.1:${ports[1]}`]),
      (_level, line) => lines.push(line),
      (error) => assert.fail(`a relay thread failed: ${error.message}`),
    );
    try {
      const swaps = DESTINATION_SLOTS * 2;
      for (let n = 1; n <= swaps; n++) {
        const report = await relay.reload(config(dir, [`tcp@127.0.0.1:${ports[0]}`, `tcp@127.0.0.1:${ports[1 + (n % 2)]}`]));
        assert.deepEqual(report.addedDestinations, [`tcp@127.0.0.1:${ports[1 + (n % 2)]}`]);
      }
      const deadline = Date.now() + 10_000;
      while (lines.filter((l) => / removed/.test(l)).length < swaps && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
      const removed = lines.filter((l) => / removed/.test(l));
      assert.equal(removed.length, swaps, 'every removed destination reported its end');
      for (const line of removed) assert.match(line, /^tcp@127\.0\.0\.1:\d+: removed, nothing left undelivered; its run: sent 0, dropped 0, spilled 0$/);
      assert.ok(!lines.some((l) => /internal|not retiring/.test(l)), lines.join('\n'));
      const snapshot = await relay.snapshot();
      assert.equal(snapshot.destinations.length, 2);
    } finally {
      await relay.stop();
    }
  });
});
