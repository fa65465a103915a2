/**
 * `relay sink relp@` stopped (SIGTERM) while whoever reads its stdout lags: every message it
 * answered 200 is printed. Before, process.exit() dropped what the pipe had not taken yet — the
 * chaos campaign saw acknowledged messages missing after a receiver's SIGTERM (seeds 70, 97).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { CLIENT_OPEN_OFFERS, RelpTestClient } from '../helpers/relp-client.js';
import { RELAY_BIN } from '../helpers/relay-process.js';

test('relay sink relp@: SIGTERM while stdout lags: every message answered 200 is printed', async () => {
  const N = 3000;
  const child = spawn(process.execPath, [RELAY_BIN, 'sink', 'relp@127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => {
    stderr += s;
  });
  // Nobody reads stdout yet: its pipe fills, and the rest waits in the sink.
  child.stdout.pause();
  let client: RelpTestClient | undefined;
  try {
    const deadline = Date.now() + 10_000;
    while (!/listening on relp@127\.0\.0\.1:(\d+)/.test(stderr)) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`the sink did not start: ${stderr}`);
      await new Promise((resolve) => child.stderr.once('data', resolve));
    }
    const port = Number(/listening on relp@127\.0\.0\.1:(\d+)/.exec(stderr)![1]);
    client = await RelpTestClient.connect(port);
    client.send(1, 'open', CLIENT_OPEN_OFFERS);
    assert.equal((await client.next()).command, 'rsp');
    const line = (i: number): string => `message ${i} ${'x'.repeat(200)}`;
    for (let i = 0; i < N; i++) client.send(i + 2, 'syslog', line(i));
    for (let i = 0; i < N; i++) {
      const answer: { txnr: number; data: Buffer } = await client.next();
      assert.equal(answer.txnr, i + 2);
      assert.match(answer.data.toString('latin1'), /^200/);
    }
    // Every message answered: stop the sink, then read what it printed.
    child.kill('SIGTERM');
    const chunks: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.stdout.resume();
    const [code] = (await once(child, 'close')) as [number | null];
    assert.equal(code, 0, stderr);
    const printed = Buffer.concat(chunks)
      .toString('latin1')
      .split('\n')
      .filter((l) => l !== '');
    assert.equal(printed.length, N, `${printed.length} of ${N} answered messages printed`);
    assert.deepEqual(
      printed,
      Array.from({ length: N }, (_, i) => line(i)),
    );
  } finally {
    client?.destroy();
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
});
