/**
 * The carbon-c-relay configuration parser on our side: every hand-written case of
 * test/helpers/carbon-config-cases.ts (each construct, comments in odd places, each syntax error,
 * each semantic error and each refused construct, with its file and line), includes through
 * readCarbonConfig and through a readInclude of the caller, and the glob of an include. That the
 * real carbon-c-relay agrees is carbon-config-oracle.test.ts's.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { RelayError } from '../../src/errors.js';
import { type CarbonConfig, type IncludedFile, parseCarbonConfig, readCarbonConfig } from '../../src/route/carbon-config.js';
import { globComponent } from '../../src/route/carbon-include.js';
import { CONFIG_CASES, type ConfigCase, writeCase } from '../helpers/carbon-config-cases.js';
import { withTempDir } from '../helpers/temp-dir.js';

/** Our outcome: the tree, or the RelayError (any other error fails the test). */
async function ours(c: ConfigCase): Promise<CarbonConfig | RelayError> {
  try {
    if (c.files === undefined && !c.text.includes('include')) return parseCarbonConfig(c.text, 'c.conf');
    let config: CarbonConfig | undefined;
    await withTempDir('carbon-config-', async (dir) => {
      await writeCase(dir, c);
      config = await readCarbonConfig('c.conf', { cwd: dir });
    });
    return config!;
  } catch (error) {
    if (error instanceof RelayError && error.code === 'ERR_CONFIG') return error;
    throw error;
  }
}

for (const c of CONFIG_CASES) {
  test(`carbon config: ${c.what}`, async () => {
    const outcome = await ours(c);
    if (c.error === undefined) {
      assert.ok(!(outcome instanceof RelayError), `refused: ${(outcome as RelayError).message}`);
      c.check?.(outcome);
    } else {
      assert.ok(outcome instanceof RelayError, 'accepted');
      assert.equal(outcome.message, c.error);
      assert.equal(outcome.exitCode, 2);
    }
  });
}

test('carbon config: every line of an error is one line naming a file and line', () => {
  for (const c of CONFIG_CASES.filter((k) => k.error !== undefined)) assert.match(c.error!, /^[\w./]+:\d+: [^\n]+$/);
});

test('carbon config: parseCarbonConfig reads includes through readInclude, in place and in order', () => {
  const files: Record<string, IncludedFile[]> = {
    'a.conf': [{ file: 'a.conf', text: 'cluster c forward 127.0.0.1;\n' }],
    'b*.conf': [
      { file: 'b1.conf', text: 'match x send to c;\n' },
      { file: 'b2.conf', text: '\nmatch y send to c;\n' },
    ],
  };
  const asked: string[] = [];
  const config = parseCarbonConfig('include a.conf;\nmatch w send to c;\ninclude "b*.conf";\nmatch z send to c;\n', 'root.conf', (pattern, at) => {
    asked.push(`${pattern} from ${at.file}:${at.line}`);
    return files[pattern]!;
  });
  assert.deepEqual(asked, ['a.conf from root.conf:1', 'b*.conf from root.conf:3']);
  assert.deepEqual(
    config.rules.map((r) => `${r.file}:${r.line}`),
    ['root.conf:2', 'b1.conf:1', 'b2.conf:2', 'root.conf:4'],
  );
  assert.deepEqual(config.files, ['root.conf', 'a.conf', 'b1.conf', 'b2.conf']);
});

test('carbon config: a readInclude that throws is reported at the include', () => {
  assert.throws(
    () =>
      parseCarbonConfig('\ninclude x;\n', 'r.conf', () => {
        throw new Error('no such thing');
      }),
    { code: 'ERR_CONFIG', message: "r.conf:2: include 'x': no such thing" },
  );
});

test('carbon config: an include loop is an error (carbon-c-relay recurses until it crashes)', async () => {
  await withTempDir('carbon-config-', async (dir) => {
    await writeFile(path.join(dir, 'a.conf'), 'include b.conf;\n');
    await writeFile(path.join(dir, 'b.conf'), 'include a.conf;\n');
    assert.throws(() => readCarbonConfig('a.conf', { cwd: dir }), {
      code: 'ERR_CONFIG',
      message: "b.conf:1: include 'a.conf': a loop (a.conf includes b.conf includes a.conf)",
    });
  });
});

test('carbon config: readCarbonConfig of a missing file', async () => {
  await withTempDir('carbon-config-', async (dir) => {
    assert.throws(() => readCarbonConfig('none.conf', { cwd: dir }), {
      code: 'ERR_CONFIG',
      message: "carbon-c-relay config 'none.conf': cannot read it (ENOENT)",
    });
  });
});

test('carbon config: a wildcard in an include directory is refused', async () => {
  await withTempDir('carbon-config-', async (dir) => {
    await writeFile(path.join(dir, 'c.conf'), 'include d*/x.conf;\n');
    assert.throws(() => readCarbonConfig('c.conf', { cwd: dir }), {
      code: 'ERR_CONFIG',
      message: "c.conf:1: include 'd*/x.conf': wildcards in a directory are not supported, only in the last path component",
    });
  });
});

// [glob, names it matches, names it does not]
const GLOBS: [string, string[], string[]][] = [
  ['*.conf', ['a.conf', 'conf.conf', 'x.y.conf'], ['.a.conf', 'a.confx', 'a.con']],
  ['.*', ['.a', '.'], ['a']],
  ['?.c', ['a.c', '_.c'], ['ab.c', '.c', '..c']],
  ['[ab]*', ['a', 'bx'], ['c', '.a']],
  ['[!ab]*', ['c', 'z1'], ['a', 'b']],
  ['[^a-c]x', ['dx'], ['ax', 'bx', 'cx']],
  ['[]a]', [']', 'a'], ['b']],
  ['a[', ['a['], ['a']],
  ['\\*', ['*'], ['a']],
  ['a-b+(c)', ['a-b+(c)'], ['a-bb(c)']],
];

for (const [glob, yes, no] of GLOBS) {
  test(`carbon config: include glob ${glob}`, () => {
    const regex = globComponent(glob);
    for (const name of yes) assert.ok(regex.test(name), `${glob} should match ${name}`);
    for (const name of no) assert.ok(!regex.test(name), `${glob} should not match ${name}`);
  });
}
