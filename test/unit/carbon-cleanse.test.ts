/**
 * carbon-c-relay's cleansing and line splitting: each rule on its own, then an oracle. Thousands of
 * generated dirty lines go through the real carbon-c-relay on one TCP connection, with a config that
 * rewrites every name to `<name>` (`rewrite ^(.*)$ into <\1>;`) before forwarding to a sink of this
 * test: what arrives shows both the cleansed bytes and where carbon-c-relay's name ended, and must
 * equal, line for line and in order, what splitCarbonLines + cleanseLine + metricNameEnd give.
 * Lines carbon-c-relay drops must be the ones cleanseLine drops. -s (submission mode) keeps its own
 * statistics out of the stream. Without carbon-c-relay the oracle skips (fails when CI=true).
 */
import test, { type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import {
  CARBON_CLEANSE,
  type CleanseOptions,
  type CleanseRules,
  type NameEnd,
  carbonCleanseRules,
  cleanseLine,
  cleanseRange,
  metricNameEnd,
  splitCarbonLines,
} from '../../src/route/carbon-cleanse.js';
import { missingOracle, startCarbon } from '../helpers/carbon-relay.js';
import { mulberry32, randomInt } from '../helpers/prng.js';
import type { RelayProcess } from '../helpers/relay-process.js';
import { TestSink } from '../helpers/sinks.js';
import { withTempDir } from '../helpers/temp-dir.js';

/**
 * `<name>rest` of a cleansed line, as the oracle's rewrite prints it; undefined when dropped. The
 * name's end is found three ways, which must agree: by cleanseRange on the line inside a larger
 * buffer, and by metricNameEnd on the cleansed line alone and on its range in that buffer.
 */
function rewritten(input: string, rules: CleanseRules = CARBON_CLEANSE): string | undefined {
  const out = cleanseLine(Buffer.from(input, 'latin1'), rules);
  const inside = Buffer.from(`;; ${input} ;;`, 'latin1');
  const found: NameEnd = { nameEnd: -2 };
  const end = cleanseRange(inside, 3, inside.length - 3, rules, found);
  if (out === undefined) {
    assert.equal(end, -1, `cleanseRange keeps what cleanseLine drops: ${JSON.stringify(input)}`);
    return undefined;
  }
  const nameEnd = metricNameEnd(out, 0, out.length, rules);
  assert.deepEqual(inside.subarray(3, end), Buffer.from(out), `cleanseRange in a larger buffer: ${JSON.stringify(input)}`);
  assert.equal(found.nameEnd - 3, nameEnd, `cleanseRange's name end: ${JSON.stringify(input)}`);
  assert.equal(metricNameEnd(inside, 3, end, rules) - 3, nameEnd, `metricNameEnd on a range: ${JSON.stringify(input)}`);
  const text = Buffer.from(out).toString('latin1');
  return `<${text.slice(0, nameEnd)}>${text.slice(nameEnd)}`;
}

// [what it shows, input line, `<name>rest` or undefined when dropped]
const DEFAULT_CASES: [string, string, string | undefined][] = [
  ['a clean line', 'a.b.c 1 1700000000', '<a.b.c> 1 1700000000'],
  ['double dots', 'a..b...c 1 2', '<a.b.c> 1 2'],
  ['leading dots and blanks', ' \t..a.b 1 2', '<a.b> 1 2'],
  ['trailing dot of the name', 'a.b. 1 2', '<a.b> 1 2'],
  ['trailing dots of the name', 'a.b... 1 2', '<a.b> 1 2'],
  ['dots and blanks between name and value', 'a. . b', '<a> b'],
  ['runs of spaces and tabs', 'a  \t 1\t\t2   ', '<a> 1 2 '],
  ['a tab ends the name', 'a\tb\tc', '<a> b c'],
  ['a dot right after the name goes', 'a .5 1', '<a> 5 1'],
  ['double dots in the value', 'a 1..5 2', '<a> 1.5 2'],
  ['a dot after a later space stays', 'a 1 .5', '<a> 1 .5'],
  ['irregular bytes in the name', 'a/b*c(d) 1', '<a_b_c_d_> 1'],
  ['the allowed characters', 'a-b_c:d#e 1', '<a-b_c:d#e> 1'],
  ['control and high bytes: name, value', 'z\x01\xff.y 1\xff\x00\x7f 2', '<z__.y> 1\xff_\x7f 2'],
  ['NUL in the name', 'a\x00b 1', '<a_b> 1'],
  ['tags: the first ; ends the name', 'a.b;t=v;u=w 1 2', '<a.b>;t=v;u=w 1 2'],
  ['tags are not cleansed', 'a/b;t=v/x*y\xe9 1', '<a_b>;t=v/x*y\xe9 1'],
  ['tags: double dots collapse', 'a;t=v.x..y 1 2', '<a>;t=v.x.y 1 2'],
  ['tags: a dot right after ; goes', 'a;.t=v 1', '<a>;t=v 1'],
  ['tags: a space right after ; goes', 'a; 1 2', '<a>;1 2'],
  ['tags: no trailing-dot elimination', 'a;t=v. 1', '<a>;t=v. 1'],
  ['tags: a second ; is an ordinary byte', 'a;b;c 1', '<a>;b;c 1'],
  ['a ; in the value ends the name there', 'a 1;2 3', '<a 1>;2 3'],
  ['a line that starts with ;', ';t=v 1', '<>;t=v 1'],
  ['a name and ; only', 'a;', '<a>;'],
  ['tags without value', 'a;b', '<a>;b'],
  ['no value: a name and a space', 'a  ', '<a> '],
  ['five fields', 'a 1 2 3 4', '<a> 1 2 3 4'],
  ['empty', '', undefined],
  ['blanks only', ' \t ', undefined],
  ['dots only', '...', undefined],
  ['a name only', 'a.b', undefined],
  ['a name with leading blanks only', '  .a', undefined],
];

for (const [what, input, expected] of DEFAULT_CASES) {
  test(`cleanseLine: ${what}`, () => assert.equal(rewritten(input), expected));
}

test('cleanseLine: a clean line comes back as the same array, untouched', () => {
  const line = Buffer.from('carbon.agents.host-01.cpu.user 12.5 1700000000');
  assert.equal(cleanseLine(line), line);
  assert.equal(line.toString(), 'carbon.agents.host-01.cpu.user 12.5 1700000000');
});

test('cleanseLine: a dirty line is cleansed over its own bytes, the result a view of its start', () => {
  const line = Buffer.from('..a..b 1');
  const out = cleanseLine(line)!;
  assert.equal(out.buffer, line.buffer);
  assert.equal(out.byteOffset, line.byteOffset);
  assert.equal(Buffer.from(out).toString(), 'a.b 1');
});

const OPTION_CASES: [string, CleanseOptions, string, string | undefined][] = [
  ['-c with ; turns tags off', { allowedChars: '-_:#;' }, 'a;t=v/x 1', '<a;t_v_x> 1'],
  ['-c replaces the default list', { allowedChars: '+' }, 'a-b+c 1', '<a_b+c> 1'],
  ['-c cannot make a dot or a blank ordinary', { allowedChars: '. \t' }, 'a..b 1', '<a.b> 1'],
  ['-M 10: 9 bytes pass', { maxInputLength: 10 }, 'abcde 123', '<abcde> 123'],
  ['-M 10: 10 bytes are dropped', { maxInputLength: 10 }, 'abcde 1234', undefined],
  ['-M counts the cleansed line', { maxInputLength: 10 }, 'abcde   ..123', '<abcde> 123'],
  ['-m 3: a 3-byte name passes', { maxMetricLength: 3 }, 'abc 1', '<abc> 1'],
  ['-m 3: a 4-byte name is dropped', { maxMetricLength: 3 }, 'abcd 1', undefined],
  ['-m counts the name before the tags', { maxMetricLength: 3 }, 'abc;t=v 1', '<abc>;t=v 1'],
];

for (const [what, options, input, expected] of OPTION_CASES) {
  test(`cleanseLine: ${what}`, () => assert.equal(rewritten(input, carbonCleanseRules(options)), expected));
}

const SPLIT_CASES: [string, string, string[], string][] = [
  ['LF, CR LF, CR, and an unterminated rest', 'a\nb\r\nc\rd', ['a', 'b', '', 'c'], 'd'],
  ['empty lines are lines', '\n\n', ['', ''], ''],
  ['nothing', '', [], ''],
  ['no terminator at all', 'a 1 2', [], 'a 1 2'],
];

for (const [what, text, lines, rest] of SPLIT_CASES) {
  test(`splitCarbonLines: ${what}`, () => {
    const bytes = Buffer.from(`xx${text}yy`, 'latin1');
    const got: string[] = [];
    const restAt = splitCarbonLines(bytes, 2, bytes.length - 2, (start, end) => got.push(bytes.toString('latin1', start, end)));
    assert.deepEqual(got, lines);
    assert.equal(bytes.toString('latin1', restAt, bytes.length - 2), rest);
  });
}

// ---- the oracle ----

const LINES_PER_RUN = 3000;
const SENTINEL = 'zz.sentinel 1 1';
const CLEAN = [...'abcxyzABCXYZ0189-_:#'];
const DIRT = ['.', '..', ' ', '\t', ';', '=', '/', '*', '\x00', '\x01', '\x1f', '\x7f', '\x80', '\xe9', '\xff', ',', '"', '\\', '~', '+'];
const VALUES = ['1', '12.5', '-3', '1..5', '.5', '5.', '1e3', 'nan', '1;2', '\xff', ''];
const TERMINATORS = ['\n', '\n', '\n', '\r\n', '\r', '\n\n'];

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[randomInt(random, 0, items.length - 1)]!;
}

/** A run of 0 to `max` bytes: mostly clean, dirt with probability `dirt`. */
function run(random: () => number, max: number, dirt: number): string {
  let s = '';
  for (let n = randomInt(random, 0, max); n > 0; n--) s += random() < dirt ? pick(random, DIRT) : pick(random, CLEAN);
  return s;
}

/** One generated line without terminator (CR and LF never inside). */
function dirtyLine(random: () => number): string {
  if (random() < 0.1) {
    let s = '';
    for (let n = randomInt(random, 0, 40); n > 0; n--) {
      const b = randomInt(random, 0, 255);
      s += b === 10 || b === 13 ? ' ' : String.fromCharCode(b);
    }
    return s;
  }
  const blank = (): string => run(random, 0, 0) + pick(random, ['', ' ', '  ', '\t', ' \t ', '.', ' .', '. ']);
  let line = random() < 0.3 ? blank() : '';
  const segments = randomInt(random, 0, 5);
  for (let i = 0; i < segments; i++) line += (i > 0 ? pick(random, ['.', '.', '.', '..', '...']) : '') + run(random, 8, 0.15);
  for (let t = random() < 0.25 ? randomInt(random, 1, 3) : 0; t > 0; t--) line += `;${run(random, 4, 0.2)}=${run(random, 4, 0.3)}`;
  for (let f = randomInt(random, 0, 4); f > 0; f--) line += pick(random, [' ', ' ', ' ', '  ', '\t', ' \t']) + pick(random, VALUES);
  if (random() < 0.2) line += blank();
  return line;
}

interface OracleRun {
  what: string;
  seed: number;
  options: CleanseOptions;
  /** carbon-c-relay's flags for `options`. */
  args: string[];
}

async function runOracle(t: TestContext, o: OracleRun): Promise<void> {
  if (missingOracle(t)) return;
  const started = Date.now();
  const rules = carbonCleanseRules(o.options);
  const random = mulberry32(o.seed);
  let stream = '';
  for (let i = 0; i < LINES_PER_RUN; i++) {
    const line = dirtyLine(random);
    stream += line + pick(random, TERMINATORS);
    // carbon-c-relay does not re-arm tags after a line with `;` that -M/-m drops, until it keeps a
    // line of the same read: a kept line without `;` right after makes that independent of reads
    if (line.includes(';') && rewritten(line, rules) === undefined) stream += 'r 1\n';
  }
  // the sentinel arrives last (one connection, one worker, one destination: order is kept); the unterminated tail never
  stream += `${SENTINEL}\nunterminated.tail 1 1`;
  const bytes = Buffer.from(stream, 'latin1');

  const inputs: string[] = [];
  const expected: string[] = [];
  let dropped = 0;
  splitCarbonLines(bytes, 0, bytes.length, (start, end) => {
    const input = bytes.toString('latin1', start, end);
    const out = rewritten(input, rules);
    if (out === undefined) dropped++;
    else {
      inputs.push(input);
      expected.push(out);
    }
  });
  assert.equal(expected.at(-1), `<${SENTINEL.split(' ')[0]}> 1 1`);

  const sink = await TestSink.start('lf');
  let relay: RelayProcess | undefined;
  try {
    await withTempDir('carbon-cleanse-', async (dir) => {
      const config = (port: number): string =>
        [
          `listen type linemode 127.0.0.1:${port} proto tcp;`,
          `cluster sink forward 127.0.0.1:${sink.port};`,
          'rewrite ^(.*)$ into <\\1>;',
          'match * send to sink;',
          '',
        ].join('\n');
      const carbon = await startCarbon(dir, config, ['-s', ...o.args]);
      relay = carbon.relay;
      const client = net.connect(carbon.port, '127.0.0.1');
      await once(client, 'connect');
      client.end(bytes);
      await sink.waitUntil(() => sink.messages.at(-1)?.toString('latin1') === expected.at(-1), `the sentinel (carbon-c-relay: ${relay.stderr})`);
      client.destroy();
    });
    const got = sink.messages.map((m) => m.toString('latin1'));
    const first = got.findIndex((line, i) => line !== expected[i]);
    if (first >= 0 || got.length !== expected.length) {
      const i = first >= 0 ? first : Math.min(got.length, expected.length);
      assert.fail(
        `line ${i} of ${expected.length}: input ${JSON.stringify(inputs[i])}, carbon-c-relay ${JSON.stringify(got[i])}, cleanseLine ${JSON.stringify(expected[i])}`,
      );
    }
    t.diagnostic(`${expected.length} lines equal byte for byte, ${dropped} dropped by both, ${Date.now() - started} ms`);
  } finally {
    if (relay !== undefined) await relay.stop('SIGKILL');
    await sink.close();
  }
}

const RUNS: OracleRun[] = [
  { what: 'default cleansing', seed: 11, options: {}, args: [] },
  { what: '-c "-_:#;+" (tags off, + allowed)', seed: 12, options: { allowedChars: '-_:#;+' }, args: ['-c', '-_:#;+'] },
  { what: '-M 48 -m 12', seed: 13, options: { maxInputLength: 48, maxMetricLength: 12 }, args: ['-M', '48', '-m', '12'] },
];

for (const o of RUNS) {
  test(`oracle: carbon-c-relay cleanses ${LINES_PER_RUN} generated dirty lines as cleanseLine does, ${o.what}`, (t) => runOracle(t, o));
}
