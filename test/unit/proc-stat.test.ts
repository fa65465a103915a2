/** The one /proc stat parser: fields are counted after the last ')' because a command name may hold spaces and parentheses. */
import test from 'node:test';
import assert from 'node:assert/strict';
import { parseStatLine } from '../../src/metrics/proc-stat.js';

test('proc stat: state, ppid, user + system CPU seconds and start time, also with spaces and parentheses in the command name', () => {
  const line = '4242 (relay (ingest) x) S 17 4242 17 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 7 0 1000 0 0\n';
  assert.deepEqual(parseStatLine(line), { state: 'S', ppid: 17, cpuSeconds: 3.25, startTicks: 1000 });
  assert.equal(parseStatLine('garbage without the name field'), undefined);
});
