/**
 * Routing rules from the TOML file, through bin/relay (README "Routing"): lines go to the
 * destinations and groups their rules name, in order; a rewrite changes what later rules see and
 * send; a drop and an unrouted line are counted, never sent; /stats counts each rule; a reload
 * that changes the rules applies them to what arrives next.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { writeFile } from 'node:fs/promises';
import { spawnRelay, startRelay, type RelayProcess } from '../helpers/relay-process.js';
import { eventually, metricsBase, stats } from '../helpers/relay-stats.js';
import { stopRelayAndSinks, TestSink } from '../helpers/sinks.js';
import { sendLines } from '../helpers/tcp-lines.js';
import { withTempDir } from '../helpers/temp-dir.js';

const text = (s: TestSink): string[] => s.messages.map((m) => m.toString('latin1'));

test('routing: rules send by content, rewrite, drop and count what no rule sends', async () => {
  const [audit, app, rest] = [await TestSink.start('lf'), await TestSink.start('lf'), await TestSink.start('lf')];
  let relay: RelayProcess | undefined;
  try {
    await withTempDir('routing-', async (dir) => {
      const file = path.join(dir, 'relay.toml');
      const toml = (rules: string): string =>
        [
          'listen = ["tcp@127.0.0.1:0?framing=lf"]',
          'metrics = "127.0.0.1:0"',
          'stats-interval = "0"',
          `[[destination]]\naddress = "${audit.address()}?framing=lf"\nname = "audit"`,
          `[[destination]]\naddress = "${app.address()}?framing=lf"\nname = "app"`,
          `[[destination]]\naddress = "${rest.address()}?framing=lf"\nname = "rest"`,
          rules,
        ].join('\n');
      await writeFile(
        file,
        toml(
          [
            '[[route]]\nmatch = "^DEBUG "\ndrop = true',
            '[[route]]\nmatch = ["^audit ", "type=AUDIT"]\nto = ["audit"]\nstop = true',
            '[[route]]\nrewrite = "^app\\\\.([a-z]+)\\\\."\ninto = "apps.\\\\1."',
            '[[route]]\nmatch = "^apps\\\\."\nto = ["app", "rest"]',
            '[[route]]\nmatch = "^other "\nto = ["rest"]',
          ].join('\n'),
        ),
      );
      const started = await startRelay(['--config', file]);
      relay = started.relay;
      const base = await metricsBase(relay);
      const lines = ['audit login ok', 'DEBUG noisy', 'app.web.hits 1', 'x type=AUDIT y', 'other thing', 'nobody wants this', 'app.db.q 2', 'DEBUG again'];
      await sendLines(started.listeners[0]!, lines);
      await eventually(async () => text(rest).length === 3 || `rest has ${text(rest).length} of 3`);
      assert.deepEqual(text(audit), ['audit login ok', 'x type=AUDIT y']);
      assert.deepEqual(text(app), ['apps.web.hits 1', 'apps.db.q 2']);
      assert.deepEqual(text(rest), ['apps.web.hits 1', 'other thing', 'apps.db.q 2']);
      let snapshot = await stats(base);
      await eventually(async () => {
        snapshot = await stats(base);
        return snapshot.routes?.droppedMessages.unrouted === 1 || `unrouted ${snapshot.routes?.droppedMessages.unrouted}`;
      });
      assert.deepEqual(snapshot.routes!.droppedMessages, { unrouted: 1, blackholed: 2, invalid: 0 });
      assert.deepEqual(
        snapshot.routes!.rules.map((r) => r.matchedMessages),
        [2, 2, 0, 2, 1],
      );
      assert.equal(snapshot.routes!.rules[1]!.rule, `${file}: route 2`);
      // Each destination counts what was not its to send.
      assert.deepEqual(
        snapshot.destinations.map((d) => d.othersMessages),
        [lines.length - 2, lines.length - 2, lines.length - 3],
      );
      // A reload: from now on everything goes to rest.
      await writeFile(file, toml('[[route]]\nto = ["rest"]'));
      relay.child.kill('SIGHUP');
      await eventually(async () => (await stats(base)).reloads.ok === 1 || 'no reload yet');
      await sendLines(started.listeners[0]!, ['audit late', 'DEBUG late']);
      await eventually(async () => text(rest).length === 5 || `rest has ${text(rest).length} of 5`);
      assert.deepEqual(text(rest).slice(3), ['audit late', 'DEBUG late']);
      assert.equal(text(audit).length, 2);
    });
  } finally {
    await stopRelayAndSinks(relay, [audit, app, rest]);
  }
});

test('routing: a rule naming no destination or group is refused at start with one line', async () => {
  await withTempDir('routing-bad-', async (dir) => {
    const file = path.join(dir, 'relay.toml');
    await writeFile(
      file,
      ['listen = ["udp@127.0.0.1:0"]', '[[destination]]\naddress = "tcp@127.0.0.1:9"\nname = "a"', '[[route]]\nmatch = "x"\nto = ["b"]'].join('\n'),
    );
    const exit = await spawnRelay(['--config', file]).exit();
    assert.equal(exit.code, 2);
    assert.match(exit.stderr, /route 1: sends to "b", which is no destination or group \(names: a\)/);
    assert.equal(exit.stderr.trim().split('\n').length, 1, exit.stderr);
  });
});

test('routing: --route rules on the command line: quoted expressions with spaces, several match, drop, a catch-all; /stats names them --route N', async () => {
  const [audit, rest] = [await TestSink.start('lf'), await TestSink.start('lf')];
  let relay: RelayProcess | undefined;
  try {
    const auditName = `${audit.address()}?framing=lf`;
    const restName = `${rest.address()}?framing=lf`;
    const started = await startRelay([
      'tcp@127.0.0.1:0?framing=lf',
      auditName,
      restName,
      '--route',
      `match="^audit " match=type=AUDIT to=${auditName} stop`,
      '--route',
      'match="^DEBUG .* noisy$" drop',
      '--route',
      `to=${restName}`,
      '--metrics',
      '127.0.0.1:0',
      '--stats-interval',
      '0',
    ]);
    relay = started.relay;
    const base = await metricsBase(relay);
    await sendLines(started.listeners[0]!, ['audit login ok', 'DEBUG very noisy', 'auditor here', 'x type=AUDIT y', 'DEBUG kept']);
    await eventually(async () => text(rest).length === 2 || `rest has ${text(rest).length} of 2`);
    assert.deepEqual(text(audit), ['audit login ok', 'x type=AUDIT y']);
    assert.deepEqual(text(rest), ['auditor here', 'DEBUG kept']);
    let snapshot = await stats(base);
    await eventually(async () => {
      snapshot = await stats(base);
      return snapshot.routes?.droppedMessages.blackholed === 1 || `blackholed ${snapshot.routes?.droppedMessages.blackholed}`;
    });
    assert.deepEqual(
      snapshot.routes!.rules.map((r) => [r.rule, r.matchedMessages]),
      [
        ['--route 1', 2],
        ['--route 2', 1],
        ['--route 3', 2],
      ],
    );
  } finally {
    await stopRelayAndSinks(relay, [audit, rest]);
  }
});

test('routing: a bad --route is one line and exit 2', async () => {
  await assert.rejects(
    startRelay(['tcp@127.0.0.1:0?framing=lf', 'tcp@127.0.0.1:9', '--route', 'match="^a to=x']),
    /^relay: --route "match=\\"\^a to=x": the quote after match= is not closed$/m,
  );
  await assert.rejects(
    startRelay(['tcp@127.0.0.1:0?framing=lf', 'tcp@127.0.0.1:9', '--route', 'match=( to=tcp@127.0.0.1:9']),
    /^relay: --route 1: invalid regular expression '\(': .*$/m,
  );
  await assert.rejects(
    startRelay(['tcp@127.0.0.1:0?framing=lf', 'tcp@127.0.0.1:9', '--route', 'match=^a to=nowhere']),
    /^relay: --route 1: sends to "nowhere", which is no destination or group/m,
  );
});
