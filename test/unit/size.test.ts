import test from 'node:test';
import assert from 'node:assert/strict';
import { formatBytes, formatDurationMs, parseDurationMs, parseSize, type Bounds } from '../../src/config/size.js';
import { RelayError } from '../../src/errors.js';

const KIB = 1024;
const MIB = 1024 ** 2;
const GIB = 1024 ** 3;
const ANY: Bounds = { min: 0, max: Number.MAX_SAFE_INTEGER };
const BUFFER: Bounds = { min: 256 * KIB, max: 2 * GIB };
const TIMEOUT: Bounds = { min: 1, max: 10 * 60_000 };

const SIZE_VALID: [input: string, bytes: number][] = [
  ['0', 0],
  ['65535', 65535],
  ['100B', 100],
  ['100b', 100],
  ['100 B', 100],
  ['8K', 8 * KIB],
  ['8k', 8 * KIB],
  ['512KiB', 512 * KIB],
  ['512kib', 512 * KIB],
  ['8M', 8 * MIB],
  ['64MiB', 64 * MIB],
  ['64 MiB', 64 * MIB],
  ['64\tMiB', 64 * MIB],
  [' 64MiB ', 64 * MIB],
  ['64mib', 64 * MIB],
  ['2G', 2 * GIB],
  ['2GiB', 2 * GIB],
  ['100KB', 100_000],
  ['100kb', 100_000],
  ['8MB', 8_000_000],
  ['1GB', 1_000_000_000],
  ['1.5GiB', 1.5 * GIB],
  ['1.5K', 1536],
  ['0.1KiB', 102], // 102.4 rounded down
  ['4.35MB', 4_350_000], // exact: a float product would give 4349999
  ['1.0000000001KB', 1000],
  ['007', 7],
];

for (const [input, bytes] of SIZE_VALID) {
  test(`parseSize(${JSON.stringify(input)}) is ${bytes}`, () => {
    assert.equal(parseSize(input, '--buffer', ANY), bytes);
  });
}

const SIZE_ERRORS: [input: string, bounds: Bounds, reason: string][] = [
  ...['', ' ', '64XB', '64 TiB', '-1', '-64MiB', 'NaN', 'Infinity', 'MiB', '.5MiB', '5.MiB', '1e6', '0x10', '64 Mi B', '64MiB64', '1,024', '1_024'].map(
    (input): [string, Bounds, string] => [input, ANY, 'expected a size like 64MiB, 512KiB or 65536 (bytes)'],
  ),
  ['1KiB', BUFFER, 'must be at least 256 KiB'],
  ['262143', BUFFER, 'must be at least 256 KiB'],
  ['3GiB', BUFFER, 'must be at most 2 GiB'],
  ['2147483649', BUFFER, 'must be at most 2 GiB'],
  ['99999999999999999999GiB', BUFFER, 'must be at most 2 GiB'],
  ['100', { min: 1000, max: 2000 }, 'must be at least 1 KB'],
  ['2000', { min: 1000, max: 1999 }, 'must be at most 1999 B'],
];

for (const [input, bounds, reason] of SIZE_ERRORS) {
  test(`parseSize rejects ${JSON.stringify(input)} with ${JSON.stringify(reason)}`, () => {
    assertBadOption(() => parseSize(input, '--buffer', bounds), `--buffer ${JSON.stringify(input)}: ${reason}`);
  });
}

test('parseSize accepts its bounds inclusively', () => {
  assert.equal(parseSize('256KiB', '--buffer', BUFFER), BUFFER.min);
  assert.equal(parseSize('2GiB', '--buffer', BUFFER), BUFFER.max);
});

const DURATION_VALID: [input: string, ms: number][] = [
  ['0', 0],
  ['250', 250],
  ['100ms', 100],
  ['100MS', 100],
  ['100 ms', 100],
  ['5s', 5000],
  ['5S', 5000],
  ['1.5s', 1500],
  ['0.0015s', 1], // 1.5 ms rounded down
  ['2m', 120_000],
  ['0.5m', 30_000],
  ['1h', 3_600_000],
];

for (const [input, ms] of DURATION_VALID) {
  test(`parseDurationMs(${JSON.stringify(input)}) is ${ms}`, () => {
    assert.equal(parseDurationMs(input, '--drain-timeout', ANY), ms);
  });
}

const DURATION_ERRORS: [input: string, bounds: Bounds, reason: string][] = [
  ...['', '5x', '5 sec', '-5s', 'ms', '1e3', '5s5', 'PT5S', 'NaN'].map((input): [string, Bounds, string] => [
    input,
    ANY,
    'expected a duration like 100ms, 5s or 2m (a plain number is milliseconds)',
  ]),
  ['0', TIMEOUT, 'must be at least 1ms'],
  ['0.5ms', TIMEOUT, 'must be at least 1ms'],
  ['11m', TIMEOUT, 'must be at most 10m'],
  ['601s', TIMEOUT, 'must be at most 10m'],
  ['50ms', { min: 100, max: 1500 }, 'must be at least 100ms'],
  ['2s', { min: 100, max: 1500 }, 'must be at most 1500ms'],
];

for (const [input, bounds, reason] of DURATION_ERRORS) {
  test(`parseDurationMs rejects ${JSON.stringify(input)} with ${JSON.stringify(reason)}`, () => {
    assertBadOption(() => parseDurationMs(input, '--drain-timeout', bounds), `--drain-timeout ${JSON.stringify(input)}: ${reason}`);
  });
}

function assertBadOption(fn: () => unknown, message: string): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof RelayError, `expected a RelayError, got ${String(error)}`);
    assert.equal(error.code, 'ERR_BAD_OPTION');
    assert.equal(error.message, message);
    return true;
  });
}

const FORMAT_BYTES: [bytes: number, text: string][] = [
  [0, '0 B'],
  [100, '100 B'],
  [1023, '1023 B'],
  [1000, '1 KB'],
  [KIB, '1 KiB'],
  [512 * KIB, '512 KiB'],
  [1536, '1536 B'],
  [64 * MIB, '64 MiB'],
  [1.5 * GIB, '1536 MiB'],
  [2 * GIB, '2 GiB'],
  [100_000_000, '100 MB'],
  [65535, '65535 B'],
];

for (const [bytes, text] of FORMAT_BYTES) {
  test(`formatBytes(${bytes}) is ${JSON.stringify(text)} and parses back`, () => {
    assert.equal(formatBytes(bytes), text);
    assert.equal(parseSize(text, '--buffer', ANY), bytes);
  });
}

const FORMAT_DURATIONS: [ms: number, text: string][] = [
  [0, '0ms'],
  [150, '150ms'],
  [1000, '1s'],
  [1500, '1500ms'],
  [5000, '5s'],
  [120_000, '2m'],
  [90_000, '90s'],
  [3_600_000, '1h'],
];

for (const [ms, text] of FORMAT_DURATIONS) {
  test(`formatDurationMs(${ms}) is ${JSON.stringify(text)} and parses back`, () => {
    assert.equal(formatDurationMs(ms), text);
    assert.equal(parseDurationMs(text, '--drain-timeout', ANY), ms);
  });
}
