/**
 * The settings table (src/config/settings.ts) is the one definition of each setting: README.md's
 * option table is checked against it row by row, and the run command's --help lists exactly its
 * rows with their defaults. After changing a row, paste the table this test prints into README.md.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../../src/package-root.js';
import type { Setting } from '../../src/config/setting-kinds.js';
import { SETTINGS } from '../../src/config/settings.js';
import { restartOnlyKeys } from '../../src/config/setting-values.js';
import { cli } from '../helpers/cli.js';

const HEADER = ['| option | default | scope | on SIGHUP | meaning |', '|---|---|---|---|---|'];

/** The README's cell for a setting's default. */
function defaultCell(s: Setting): string {
  if (typeof s.default === 'number') return `\`${s.defaultText ?? s.default}\``;
  if (typeof s.default === 'string') return `\`${s.default}\``;
  if (s.defaultText !== undefined) return `(${s.defaultText})`;
  return s.unset === undefined ? '' : `(${s.unset})`;
}

/** The README's row for a setting. */
function readmeRow(s: Setting): string {
  const flag = `\`--${s.key}${s.arg ? ` ${s.arg.slice(1, -1).toUpperCase()}` : ''}\``;
  const option = s.short ? `\`${s.short}\`, ${flag}` : flag;
  const scope = { relay: 'global', main: 'global', destination: 'per destination', 'command line': '' }[s.scope];
  const applied = s.scope === 'command line' ? '' : s.applied === 'live' ? 'applied' : 'at restart';
  return `| ${option} | ${defaultCell(s)} | ${scope} | ${applied} | ${s.readme ?? s.help} |`;
}

/** README.md's option table: the lines from its header to the first line that is not a row. */
function readmeTable(): string[] {
  const lines = readFileSync(path.join(packageRoot(), 'README.md'), 'utf8').split('\n');
  const start = lines.indexOf(HEADER[0]!);
  assert.ok(start >= 0, `README.md has no line ${HEADER[0]}`);
  const end = lines.findIndex((line, i) => i > start && !line.startsWith('|'));
  return lines.slice(start, end);
}

test('settings: README.md lists every setting, in table order, with its default, scope, reload and text', () => {
  const expected = [...HEADER, ...SETTINGS.map((s) => readmeRow(s))];
  assert.deepEqual(readmeTable(), expected, `README.md's option table should be:\n${expected.join('\n')}\n`);
});

test('settings: --help has one option per setting, in table order, with its default', async () => {
  const { code, stdout } = await cli(['--help']);
  assert.equal(code, 0);
  const options = stdout
    .slice(stdout.indexOf('Options:\n'), stdout.indexOf('\nCommands:'))
    .split(/\n {2}(?=-)/)
    .slice(1);
  const byKey = new Map(options.map((text) => [/--([a-z-]+)/.exec(text)![1]!, text.replace(/\s+/g, ' ').trim()]));
  assert.deepEqual([...byKey.keys()], ['version', ...SETTINGS.map((s) => s.key), 'help']);
  for (const s of SETTINGS) {
    if (s.defaultText !== undefined) assert.ok(byKey.get(s.key)!.endsWith(`(default: ${s.defaultText})`), byKey.get(s.key));
  }
});

test('settings: the reload plan keeps exactly the restart settings outside the main thread', () => {
  assert.deepEqual(restartOnlyKeys(), [
    'buffer',
    'max-message',
    'recv-buffer',
    'ingest',
    'unix-mode',
    'unix-owner',
    'reuse-port',
    'spill-dir',
    'spill-max',
    'relp-window',
    'max-delay',
  ]);
});
