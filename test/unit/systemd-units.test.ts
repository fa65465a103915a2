/**
 * The shipped units (packaging/systemd/): `systemd-analyze verify` reads them as systemd would and
 * must say nothing at all (it exits 0 even for an unknown key, so its output is the check). It needs
 * no running systemd. The units are checked as shipped, with one change: ExecStart points at this
 * checkout's bin/relay, because verify refuses a command that does not exist. The choices the relay
 * depends on are checked by name (the reasons are in the units' comments).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { packageRoot } from '../../src/package-root.js';
import { findExecutable, missingServer } from '../helpers/haproxy.js';
import { RELAY_BIN, RelayProcess } from '../helpers/relay-process.js';
import { withTempDir } from '../helpers/temp-dir.js';

const UNITS = path.join(packageRoot(), 'packaging', 'systemd');

/** The active (uncommented) `Key=value` lines of a unit, in order. */
function settings(unit: string): [string, string][] {
  return unit
    .split('\n')
    .filter((line) => /^[A-Za-z]+=/.test(line))
    .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]);
}

test('systemd-analyze verify: relay.service and relay.socket load without a word', async (t) => {
  if (missingServer(t, 'systemd-analyze', 'SYSTEMD_ANALYZE', 'apt-get install systemd')) return;
  await withTempDir('relay-units-', async (dir) => {
    const service = await readFile(path.join(UNITS, 'relay.service'), 'utf8');
    const execStart = /^ExecStart=\S+/m;
    assert.match(service, execStart);
    await writeFile(path.join(dir, 'relay.service'), service.replace(execStart, `ExecStart=${RELAY_BIN}`));
    await writeFile(path.join(dir, 'relay.socket'), await readFile(path.join(UNITS, 'relay.socket'), 'utf8'));
    const binary = findExecutable('systemd-analyze', 'SYSTEMD_ANALYZE')!;
    const verify = new RelayProcess(spawn(binary, ['verify', './relay.service', './relay.socket'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] }));
    const exit = await verify.exit(60_000);
    assert.equal(`${exit.stdout}${exit.stderr}`, '', 'systemd-analyze verify says nothing');
    assert.equal(exit.code, 0);
  });
});

test('relay.service: notify with the main process only, watchdog, reload by SIGHUP, SIGTERM with room for the drain, hardened, V8 left able to run', async () => {
  const unit = new Map(settings(await readFile(path.join(UNITS, 'relay.service'), 'utf8')));
  for (const [key, value] of [
    ['Type', 'notify'],
    ['NotifyAccess', 'main'],
    ['ExecReload', '/bin/kill -HUP $MAINPID'],
    ['KillSignal', 'SIGTERM'],
    ['DynamicUser', 'yes'],
    ['StateDirectory', 'relay'],
    ['ProtectSystem', 'strict'],
    ['ProtectHome', 'yes'],
    ['PrivateTmp', 'yes'],
    ['NoNewPrivileges', 'yes'],
    ['RestrictAddressFamilies', 'AF_INET AF_INET6 AF_UNIX'],
    ['CapabilityBoundingSet', ''],
    ['AmbientCapabilities', ''],
  ]) {
    assert.equal(unit.get(key!), value, `${key}=${value}`);
  }
  assert.equal(unit.has('MemoryDenyWriteExecute'), false, 'V8 writes and then runs machine code');
  const seconds = (key: string): number => Number(/^(\d+)s$/.exec(unit.get(key) ?? '')?.[1]);
  assert.ok(seconds('TimeoutStopSec') >= 5 + 10, 'the default drain (5 s) and the rest of the stop');
  assert.ok(seconds('WatchdogSec') >= 10);
});

test('relay.socket: UDP 514 and TCP ports as examples, for relay.service', async () => {
  const unit = settings(await readFile(path.join(UNITS, 'relay.socket'), 'utf8'));
  assert.deepEqual(
    unit.filter(([key]) => key.startsWith('Listen')),
    [
      ['ListenDatagram', '514'],
      ['ListenStream', '2008'],
      ['ListenStream', '6514'],
    ],
  );
  assert.deepEqual(
    unit.find(([key]) => key === 'Service'),
    ['Service', 'relay.service'],
  );
});
