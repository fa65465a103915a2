/**
 * glibc as the oracle for src/route/posix-ere.ts: compiles test/helpers/ere-oracle.c with the
 * system's `cc` into a temporary directory and asks it about many (pattern, subject) pairs in one
 * run. Without `cc` ($CC if set) a test skips (and fails under CI=true).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { packageRoot } from '../../src/package-root.js';
import { RelayProcess } from './relay-process.js';
import { withTempDir } from './temp-dir.js';

/** What glibc says about one pair: regcomp's error code, no match, regexec's pmatch[0..re_nsub], or nothing within 2 s of CPU. */
export type OracleAnswer =
  | { kind: 'timeout' }
  | { kind: 'error'; code: number }
  | { kind: 'nomatch'; nsub: number }
  | { kind: 'match'; nsub: number; pmatch: [number, number][] };

/** Asks the oracle about every pair at once. */
export type AskOracle = (pairs: readonly (readonly [pattern: string, subject: string])[]) => Promise<OracleAnswer[]>;

/** $CC when set (a path, or a name looked up on PATH; one that is not there tests the skip), else `cc`. */
export function findCc(): string | undefined {
  const name = process.env.CC ?? 'cc';
  const candidates = path.isAbsolute(name)
    ? [name]
    : [...(process.env.PATH ?? '').split(path.delimiter), '/usr/bin', '/usr/local/bin'].filter((d) => d !== '').map((d) => path.join(d, name));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {}
  }
  return undefined;
}

const MISSING = `no C compiler (${process.env.CC ?? 'cc'}) to build the glibc regex oracle (apt-get install gcc)`;

/** Runs `body` with the oracle built; skips the test without `cc` (fails under CI=true). */
export async function withEreOracle(t: TestContext, body: (ask: AskOracle) => Promise<void>): Promise<void> {
  const cc = findCc();
  if (cc === undefined) {
    if (process.env.CI === 'true') assert.fail(`${MISSING}, and CI=true requires it`);
    t.skip(MISSING);
    return;
  }
  await withTempDir('ere-oracle-', async (dir) => {
    const binary = path.join(dir, 'ere-oracle');
    const source = path.join(packageRoot(), 'test', 'helpers', 'ere-oracle.c');
    const build = await new RelayProcess(spawn(cc, ['-O1', '-o', binary, source], { stdio: ['ignore', 'pipe', 'pipe'] })).exit(60_000);
    assert.equal(build.code, 0, `cc ere-oracle.c: ${build.stderr}`);
    await body((pairs) => ask(binary, pairs));
  });
}

const hex = (s: string): string => Buffer.from(s, 'latin1').toString('hex');

async function ask(binary: string, pairs: readonly (readonly [string, string])[]): Promise<OracleAnswer[]> {
  const child = new RelayProcess(spawn(binary, [], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } }));
  child.child.stdin!.end(pairs.map(([pattern, subject]) => `${hex(pattern)} ${hex(subject)}\n`).join(''));
  const exit = await child.exit(60_000);
  assert.equal(exit.code, 0, `ere-oracle exited with ${exit.code ?? exit.signal}: ${exit.stderr}`);
  const lines = exit.stdout.split('\n').filter((line) => line !== '');
  assert.equal(lines.length, pairs.length, 'one oracle answer per pair');
  return lines.map((line) => {
    const [kind, first, ...rest] = line.split(' ');
    if (kind === 'T') return { kind: 'timeout' };
    if (kind === 'E') return { kind: 'error', code: Number(first) };
    if (kind === 'N') return { kind: 'nomatch', nsub: Number(first) };
    const pmatch = rest.map((pair) => pair.split(',').map(Number) as [number, number]);
    return { kind: 'match', nsub: Number(first), pmatch };
  });
}
