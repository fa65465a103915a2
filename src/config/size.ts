/**
 * Option values with units: sizes ('64MiB', '100KB', '65535') and durations ('100ms', '5s', '2m'),
 * and their display. Parsing is exact (BigInt), so '4.35MB' is 4350000 bytes, not 4349999;
 * a fraction that does not come out whole is rounded down.
 *
 * Errors are one line, `<option> "<input>": <what was expected>`, with code ERR_BAD_OPTION.
 */
import { RelayError } from '../errors.js';

export interface Bounds {
  min: number;
  max: number;
}

const KIB = 1024;
const MIB = 1024 ** 2;
const GIB = 1024 ** 3;

/** Multipliers by lowercased unit: binary units are 1024-based, the 'B' forms 1000-based. */
const SIZE_UNITS: ReadonlyMap<string, number> = new Map([
  ['', 1],
  ['b', 1],
  ['k', KIB],
  ['kib', KIB],
  ['m', MIB],
  ['mib', MIB],
  ['g', GIB],
  ['gib', GIB],
  ['kb', 1e3],
  ['mb', 1e6],
  ['gb', 1e9],
]);

const DURATION_UNITS: ReadonlyMap<string, number> = new Map([
  ['', 1],
  ['ms', 1],
  ['s', 1000],
  ['m', 60_000],
  ['h', 3_600_000],
]);

/** Display order: the largest unit that divides the value exactly wins, so the text parses back to the same number. */
const SIZE_DISPLAY: readonly (readonly [string, number])[] = [
  ['GiB', GIB],
  ['MiB', MIB],
  ['KiB', KIB],
  ['GB', 1e9],
  ['MB', 1e6],
  ['KB', 1e3],
];
const DURATION_DISPLAY: readonly (readonly [string, number])[] = [
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1000],
];

/** A non-negative decimal number, optional whitespace, an optional unit of letters. */
const QUANTITY = /^([0-9]+)(?:\.([0-9]+))?\s*([A-Za-z]*)$/;

/** Parses a byte size ('64MiB', '8M', '65535', '1.5GiB', '100KB'), rounding a fraction down; throws RelayError('ERR_BAD_OPTION'). */
export function parseSize(input: string, what: string, bounds: Bounds): number {
  const bytes = parseQuantity(input, SIZE_UNITS);
  if (bytes === undefined) {
    throw badOption(what, input, 'expected a size like 64MiB, 512KiB or 65536 (bytes)');
  }
  return checkBounds(bytes, what, input, bounds, formatBytes);
}

/** Parses a duration in milliseconds ('100ms', '5s', '2m', a plain number is ms), rounding down; throws RelayError('ERR_BAD_OPTION'). */
export function parseDurationMs(input: string, what: string, bounds: Bounds): number {
  const ms = parseQuantity(input, DURATION_UNITS);
  if (ms === undefined) {
    throw badOption(what, input, 'expected a duration like 100ms, 5s or 2m (a plain number is milliseconds)');
  }
  return checkBounds(ms, what, input, bounds, formatDurationMs);
}

/** Parses a whole count ('128'), bounded; throws RelayError('ERR_BAD_OPTION'). */
export function parseCount(input: string, what: string, bounds: Bounds): number {
  if (!/^[0-9]+$/.test(input.trim())) throw badOption(what, input, 'expected a whole number');
  return checkBounds(Number(input.trim()), what, input, bounds, String);
}

/** Formats bytes exactly in the largest unit that divides them ('64 MiB', '512 KiB', '100 MB', '100 B'); parseSize reads it back. */
export function formatBytes(n: number): string {
  return formatExact(n, SIZE_DISPLAY, 'B', ' ');
}

/** Formats milliseconds exactly in the largest unit that divides them ('2m', '5s', '150ms'); parseDurationMs reads it back. */
export function formatDurationMs(ms: number): string {
  return formatExact(ms, DURATION_DISPLAY, 'ms', '');
}

function formatExact(n: number, units: readonly (readonly [string, number])[], base: string, separator: string): string {
  for (const [name, size] of units) {
    if (n >= size && n % size === 0) return `${n / size}${separator}${name}`;
  }
  return `${n}${separator}${base}`;
}

/** The value in base units, rounded down, or undefined when the text is not a number with a known unit. */
function parseQuantity(input: string, units: ReadonlyMap<string, number>): number | undefined {
  const match = QUANTITY.exec(input.trim());
  if (match === null) return undefined;
  const [, whole = '', fraction = '', unit = ''] = match;
  const multiplier = units.get(unit.toLowerCase());
  if (multiplier === undefined) return undefined;
  // whole.fraction * multiplier, computed as (digits * multiplier) / 10^fractionDigits in integers.
  const scaled = BigInt(whole + fraction) * BigInt(multiplier);
  const value = scaled / 10n ** BigInt(fraction.length);
  return value > BigInt(Number.MAX_SAFE_INTEGER) ? Number.POSITIVE_INFINITY : Number(value);
}

function checkBounds(value: number, what: string, input: string, bounds: Bounds, format: (n: number) => string): number {
  if (value < bounds.min) throw badOption(what, input, `must be at least ${format(bounds.min)}`);
  if (value > bounds.max) throw badOption(what, input, `must be at most ${format(bounds.max)}`);
  return value;
}

function badOption(what: string, input: string, reason: string): RelayError {
  return new RelayError('ERR_BAD_OPTION', `${what} ${JSON.stringify(input)}: ${reason}`);
}
