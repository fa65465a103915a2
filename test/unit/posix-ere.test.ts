/**
 * PosixRegex against glibc. Hand-written cases pin what glibc answers (leftmost-longest where
 * JavaScript is leftmost-first, its rules for groups in repetitions, ERE syntax JavaScript reads
 * differently, its refusals); when `cc` is there they are also checked against glibc itself. Then
 * thousands of seeded random expressions and subjects go to the oracle (test/helpers/ere-oracle.c):
 * compile errors, exec() offsets of every group, and test(), all must agree.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { RelayError } from '../../src/errors.js';
import { REG_ERROR_NUMBERS, type RegErrorName, regErrorNameOf } from '../../src/route/ere-errors.js';
import { literalPrefix } from '../../src/route/ere-js.js';
import { PosixRegex } from '../../src/route/posix-ere.js';
import { randomEre, randomSubject } from '../helpers/ere-cases.js';
import { type OracleAnswer, withEreOracle } from '../helpers/ere-oracle.js';
import { mulberry32, randomInt } from '../helpers/prng.js';

type Pmatch = [number, number][];

interface MatchCase {
  pattern: string;
  subject: string;
  /** glibc's pmatch[] as 'so,eo so,eo …' (-1,-1: the group did not take part), or 'none' for no match. */
  glibc: string;
  /** What JavaScript's own RegExp (same source, flag d) reports, where it differs from glibc. */
  js?: string;
}

const MATCHES: MatchCase[] = [
  // Leftmost-longest against leftmost-first.
  { pattern: 'a|ab', subject: 'ab', glibc: '0,2', js: '0,1' },
  { pattern: 'sys|sys\\.cpu', subject: 'sys.cpu.load', glibc: '0,7', js: '0,3' },
  { pattern: '(a*)(ab)?b', subject: 'aabb', glibc: '0,4 0,1 1,3', js: '0,3 0,2 -1,-1' },
  // Groups: the first alternative that still reaches the longest end, the last iteration.
  { pattern: '(a|ab)(c|bcd)(d*)', subject: 'abcd', glibc: '0,4 0,1 1,4 4,4' },
  { pattern: '(a|ab)*c', subject: 'ababc', glibc: '0,5 2,4' },
  { pattern: '(a+|b+)*c', subject: 'aabbc', glibc: '0,5 2,4' },
  { pattern: '(a|b)*', subject: 'ab', glibc: '0,2 1,2' },
  { pattern: '(a?)*', subject: 'aa', glibc: '0,2 1,2' },
  { pattern: '(a*)*', subject: 'b', glibc: '0,0 0,0', js: '0,0 -1,-1' },
  { pattern: '(a*)+', subject: 'b', glibc: '0,0 0,0' },
  // glibc keeps an inner group's earlier iteration where POSIX would unset it.
  { pattern: '((a)|b)+', subject: 'ab', glibc: '0,2 1,2 0,1', js: '0,2 1,2 -1,-1' },
  { pattern: '(a)|b', subject: 'b', glibc: '0,1 -1,-1' },
  { pattern: '(.*)\\.(.*)', subject: 'a.b.c', glibc: '0,5 0,3 4,5' },
  { pattern: '(|a)b', subject: 'ab', glibc: '0,2 0,1' },
  { pattern: '(a{2}){2}|(b)', subject: 'aaaab', glibc: '0,4 2,4 -1,-1' },
  { pattern: '(x){0}y', subject: 'y', glibc: '0,1 -1,-1' },
  { pattern: '((a))', subject: 'a', glibc: '0,1 0,1 0,1' },
  // glibc's own quirk: a copied anchor constrains nothing after it, and its submatch walk gives up.
  { pattern: '(^a){2}', subject: 'aa', glibc: 'none' },
  // Metric names.
  { pattern: '^sys\\.', subject: 'sys.cpu.load', glibc: '0,4' },
  { pattern: '^sys\\.', subject: 'xsys.cpu', glibc: 'none' },
  { pattern: '^(carbon|collectd)\\.([^.]+)\\.(.*)$', subject: 'collectd.host-1.cpu.0.idle', glibc: '0,26 0,8 9,15 16,26' },
  { pattern: '^(carbon|collectd)\\.([^.]+)\\.(.*)$', subject: 'carbon.relays', glibc: 'none' },
  { pattern: '[[:digit:]]+', subject: 'cpu.12.idle', glibc: '4,6' },
  { pattern: '[^[:alpha:]]+', subject: 'ab12.c', glibc: '2,5' },
  // ERE syntax that JavaScript reads otherwise.
  { pattern: '[]a]', subject: 'x]', glibc: '1,2' },
  { pattern: '[a\\]', subject: 'a\\b', glibc: '0,1' },
  { pattern: 'a{,2}', subject: 'aaa', glibc: '0,2' },
  { pattern: 'a\\{1', subject: 'a{1', glibc: '0,3' },
  { pattern: '\\<b', subject: 'ab b', glibc: '3,4' },
  { pattern: 'x)', subject: 'x)', glibc: '0,2' },
  { pattern: '\\w+\\.\\W', subject: 'ab_1.-', glibc: '0,6' },
];

const ERRORS: [pattern: string, code: RegErrorName][] = [
  ['^*', 'REG_BADRPT'],
  ['*a', 'REG_BADRPT'],
  ['a|*b', 'REG_BADRPT'],
  ['a{}', 'REG_BADBR'],
  ['a{2,1}', 'REG_BADBR'],
  ['a{1', 'REG_EBRACE'],
  ['a{32768}', 'REG_ESIZE'],
  ['[a', 'REG_EBRACK'],
  ['[[:alpha:]', 'REG_EBRACK'],
  ['a\\', 'REG_EESCAPE'],
  ['(a', 'REG_EPAREN'],
  ['[b-a]', 'REG_ERANGE'],
  ['[a---]', 'REG_ERANGE'],
  ['[[:foo:]]', 'REG_ECTYPE'],
  ['[[.ab.]]', 'REG_ECOLLATE'],
  ['\\1', 'REG_ESUBREG'],
  ['(a)|\\1', 'REG_ESUBREG'],
];

const render = (pmatch: readonly (readonly [number, number])[] | undefined): string =>
  pmatch === undefined ? 'none' : pmatch.map(([so, eo]) => `${so},${eo}`).join(' ');

test('exec() gives glibc pmatch[] where JavaScript gives its own answer; test() agrees', () => {
  for (const c of MATCHES) {
    const regex = PosixRegex.compile(c.pattern);
    assert.equal(render(regex.exec(c.subject)?.pmatch), c.glibc, `${c.pattern} on ${c.subject}`);
    assert.equal(regex.test(c.subject), c.glibc !== 'none', `test(): ${c.pattern} on ${c.subject}`);
    if (c.js !== undefined) {
      const indices = new RegExp(c.pattern, 'd').exec(c.subject)?.indices;
      assert.equal(render(indices?.map((pair) => pair ?? [-1, -1])), c.js, `JavaScript's answer for ${c.pattern}`);
      assert.notEqual(c.js, c.glibc);
    }
  }
});

test('compile() refuses what regcomp refuses, with its code, and back-references with a reason', () => {
  for (const [pattern, code] of ERRORS) {
    assert.throws(
      () => PosixRegex.compile(pattern),
      (error: unknown) =>
        error instanceof RelayError && error.code === 'ERR_CONFIG' && regErrorNameOf(error.message) === code && error.message.includes(`'${pattern}'`),
      pattern,
    );
  }
  assert.throws(() => PosixRegex.compile('(a)\\1'), {
    code: 'ERR_CONFIG',
    message: "unsupported regular expression '(a)\\1': back-references (\\1) are not supported",
  });
  assert.throws(() => PosixRegex.compile('(x{200}){200}'), { code: 'ERR_CONFIG', message: /expand to more than 50000 nodes/ });
});

test('nested repetitions do not backtrack for minutes: V8 falls back to its linear engine, word anchors run on our node sets', () => {
  // Each of these takes V8's backtracking minutes on 40 a's and a 'c' (2^40 ways to split them).
  const many = 'a'.repeat(40);
  for (const pattern of ['(a*)*b', '(a|aa)*b', '\\<(a*)*b', '(a*)*b\\>']) {
    const regex = PosixRegex.compile(pattern);
    assert.equal(regex.test(`${many}c`), false, pattern);
    assert.equal(regex.exec(`${many}c`), undefined, pattern);
    assert.equal(render(regex.exec(`${many}b`)?.pmatch.slice(0, 1)), '0,41', pattern);
  }
  assert.equal(PosixRegex.compile('\\<(a*)*b').jsSource, undefined, 'lookarounds are not left to V8');
});

test('the hand-written expectations are what glibc answers', async (t) => {
  await withEreOracle(t, async (ask) => {
    const answers = await ask([...MATCHES.map((c) => [c.pattern, c.subject] as const), ...ERRORS.map(([p]) => [p, ''] as const)]);
    for (const [i, c] of MATCHES.entries()) assert.equal(glibcPmatch(answers[i]!), c.glibc, `${c.pattern} on ${c.subject}`);
    for (const [i, [pattern, code]] of ERRORS.entries()) {
      assert.deepEqual(answers[MATCHES.length + i], { kind: 'error', code: REG_ERROR_NUMBERS[code] }, pattern);
    }
  });
});

function glibcPmatch(answer: OracleAnswer): string {
  assert.ok(answer.kind === 'match' || answer.kind === 'nomatch', JSON.stringify(answer));
  return render(answer.kind === 'match' ? answer.pmatch : undefined);
}

/** What we answer for one pair, in the oracle's terms; 'loops' where we refuse because glibc never returns. */
function ours(pattern: string, subject: string): OracleAnswer | 'unsupported' | 'loops' {
  let regex: PosixRegex;
  try {
    regex = PosixRegex.compile(pattern);
  } catch (error) {
    assert.ok(error instanceof RelayError, String(error));
    const name = regErrorNameOf(error.message);
    return name === undefined ? 'unsupported' : { kind: 'error', code: REG_ERROR_NUMBERS[name] };
  }
  let match: ReturnType<PosixRegex['exec']>;
  try {
    match = regex.exec(subject);
  } catch (error) {
    assert.ok(error instanceof RelayError && /loops forever/.test(error.message), String(error));
    return 'loops';
  }
  assert.equal(regex.test(subject), match !== undefined, `test() and exec() disagree: ${pattern} on ${JSON.stringify(subject)}`);
  if (match === undefined) return { kind: 'nomatch', nsub: regex.groupCount };
  return { kind: 'match', nsub: regex.groupCount, pmatch: match.pmatch.map(([so, eo]) => [so, eo]) };
}

/** Whether JavaScript's RegExp reads `pattern` as the same expression, and if so whether its leftmost-first answer differs from glibc's. */
function jsDiffers(pattern: string, subject: string, glibc: Pmatch): boolean | undefined {
  if (/[[\\]|\{,|\{0\}/.test(pattern)) return undefined;
  let m: RegExpExecArray | null;
  try {
    m = new RegExp(pattern, 'd').exec(subject);
  } catch {
    return undefined;
  }
  if (m === null) return true;
  const js = m.indices!.map((pair) => pair ?? [-1, -1]);
  return JSON.stringify(js) !== JSON.stringify(glibc);
}

test('random expressions and subjects: compile errors, every group offset and test() equal glibc', async (t) => {
  await withEreOracle(t, async (ask) => {
    const random = mulberry32(20240607);
    const pairs: [string, string][] = [];
    for (let i = 0; i < 3000; i++) {
      // Every other expression is plain, for comparing JavaScript's own reading.
      const plain = i % 2 === 1;
      const pattern = randomEre(random, plain);
      for (let j = 0; j < 5; j++) pairs.push([pattern, randomSubject(random, 9, plain)]);
    }
    // Where glibc's submatch walk never ends it costs the oracle 2 s of CPU per case: ask about one.
    const mine = pairs.map(([pattern, subject]) => ours(pattern, subject));
    const loops = mine.map((answer, i) => (answer === 'loops' ? i : -1)).filter((i) => i >= 0);
    const asked = pairs.filter((_, i) => mine[i] !== 'loops' || loops.indexOf(i) < 1);
    const answers = new Map(pairs.map((pair) => [pair, undefined as OracleAnswer | undefined]));
    for (const [i, answer] of (await ask(asked)).entries()) answers.set(asked[i]!, answer);
    const seen = { match: 0, groupsSet: 0, nomatch: 0, error: 0, backReference: 0, glibcSlow: 0, glibcLoops: 0, loopsNotAsked: 0, jsDiffers: 0 };
    pairs.forEach((pair, i) => {
      const [pattern, subject] = pair;
      const glibc = answers.get(pair);
      const where = `${JSON.stringify(pattern)} on ${JSON.stringify(subject)}`;
      if (mine[i] === 'unsupported') {
        assert.match(pattern, /\\[1-9]/, `refused without a glibc reason: ${where}`);
        seen.backReference++;
        return;
      }
      if (glibc === undefined) {
        seen.loopsNotAsked++;
        return;
      }
      if (glibc.kind === 'timeout') {
        // No answer within 2 s: where glibc loops forever we must say so; where it is only slow we cannot check.
        if (mine[i] === 'loops') seen.glibcLoops++;
        else seen.glibcSlow++;
        return;
      }
      assert.deepEqual(mine[i], glibc, where);
      seen[glibc.kind]++;
      if (glibc.kind === 'match') {
        if (glibc.pmatch.slice(1).some(([so]) => so >= 0)) seen.groupsSet++;
        if (jsDiffers(pattern, subject, glibc.pmatch)) seen.jsDiffers++;
      }
    });
    t.diagnostic(`cases: ${JSON.stringify(seen)}`);
    // The generator must reach every outcome, and cases where JavaScript's own reading is wrong.
    assert.ok(seen.match > 5000 && seen.nomatch > 2000 && seen.error > 200 && seen.groupsSet > 2000, JSON.stringify(seen));
    assert.ok(seen.jsDiffers > 500, `JavaScript differs from glibc in only ${seen.jsDiffers} cases`);
    assert.ok(seen.glibcLoops === Math.min(1, loops.length), 'glibc never returns where we say it loops');
  });
});

test('literalPrefix: the literal text after a leading ^ of the translation, none under a top-level alternation or before a group', () => {
  const cases: [string, string][] = [
    ['^sys\\.cpu\\.', 'sys.cpu.'],
    ['^app\\.(web|db)\\.', 'app.'],
    ['^a|b', ''],
    ['^x(y|z)|w', ''],
    ['^(foo|bar)\\.', ''],
    ['\\.count$', ''],
    ['^ab*c', 'a'],
    ['^ab?', 'a'],
    ['^a+b', ''],
    ['^a{2}b', ''],
    ['^[a]b', ''],
    ['^a[|]b', 'a'],
    ['^a\\|b', 'a|b'],
    ['^\\^x', '^x'],
  ];
  const random = mulberry32(25);
  for (const [pattern, prefix] of cases) {
    const regex = PosixRegex.compile(pattern);
    const js = new RegExp(regex.jsSource!);
    assert.equal(literalPrefix(regex.jsSource!), prefix, pattern);
    // test() checks the prefix before the RegExp: it answers as the RegExp alone does.
    for (let i = 0; i < 300; i++) {
      const subject = (i % 2 === 0 ? prefix.slice(0, randomInt(random, 0, prefix.length)) : '') + randomSubject(random, 6, true);
      assert.equal(regex.test(subject), js.test(subject), `${pattern} on ${JSON.stringify(subject)}`);
    }
  }
});
