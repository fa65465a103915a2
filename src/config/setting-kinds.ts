/**
 * What a row of the settings table (src/config/settings.ts) is, and the kinds of value rows are
 * built from: sizes, durations, file paths, framing names. Each parser throws RelayError naming
 * the option as typed (`--buffer "64XB": …`).
 */
import { formatBytes, formatDurationMs, parseDurationMs, parseSize } from './size.js';
import { RelayError } from '../errors.js';
import { FRAMING_NAMES, isFramingName, type FramingName } from '../framing/index.js';

/**
 * Where a setting applies: `relay`, one value for the whole relay (RelayConfig); `destination`,
 * a value each destination applies on its own (its connection, timers, spill); `main`, the main
 * thread only (logging, metrics endpoint); `command line`, how the configuration is read.
 */
export type SettingScope = 'relay' | 'destination' | 'main' | 'command line';

/** One setting. `T` is its value's type once parsed; `K` its long option name, also its TOML key. */
export interface Setting<K extends string = string, T = unknown> {
  key: K;
  /** The option's value placeholder (`<size>`); absent for a flag, whose value is true or false. */
  arg?: string;
  /** A short flag (`-q`). */
  short?: string;
  /** Text to value (`previous` collects a repeatable one); absent: the text itself. Throws RelayError. */
  parse?(text: string, previous: T | undefined): T;
  /** The only texts accepted (checked before `parse`). */
  choices?: readonly string[];
  /** Least and most a size (bytes) or duration (ms) may be; `parse` enforces them. */
  bounds?: { min: number; max: number };
  /** The value when none is given; a list default makes the setting repeatable. */
  default: T;
  /** How --help and the README show the default, when not as the value itself. */
  defaultText?: string;
  /** What no value means (README), for a setting without default: `system store`. */
  unset?: string;
  scope: SettingScope;
  /** When a changed value takes effect: at once on SIGHUP (`live`), or only after a restart. */
  applied: 'live' | 'restart';
  /** A path: in the TOML file, relative to the file's directory. */
  path?: boolean;
  /** Only on the command line (--config, --check-config): not a key of the file. */
  commandLineOnly?: boolean;
  /** The --help text. */
  help: string;
  /** The README's text, when it says more than the help. */
  readme?: string;
  /** How --check-config shows the value (src/cli/run-settings.ts describeSettings). */
  show: Shown<T>;
}

/**
 * Where --check-config shows a setting: a fragment of a summary line (`line`; the fragments of
 * one line are joined by ", ", in table order; `undefined` leaves the fragment out), `listeners`,
 * `destinations` or `routes` (shown on each listener's, destination's or rule's own line), or
 * `not shown` (how the configuration is read). `values` are all settings' values, by camel-cased key.
 */
export type Shown<T> =
  | { line: string; text(value: T, values: Readonly<Record<string, unknown>>): string | undefined }
  | 'listeners'
  | 'destinations'
  | 'routes'
  | 'not shown';

/** A row, with its key, scope and `applied` as literal types (SettingValues and RestartOnlyKey are derived from them). */
export function row<const K extends string, T, const S extends SettingScope, const A extends 'live' | 'restart'>(
  setting: Setting<K, T> & { scope: S; applied: A },
): Setting<K, T> & { scope: S; applied: A } {
  return setting;
}

/** A size in bytes (`64MiB`), bounded. */
export function size<const K extends string>(key: K, defaultBytes: number, bounds: { min: number; max: number }) {
  return {
    key,
    bounds,
    default: defaultBytes,
    defaultText: formatBytes(defaultBytes).replace(' ', ''),
    parse: (text: string) => parseSize(text, `--${key}`, bounds),
  };
}

/** A duration in milliseconds (`5s`), bounded. */
export function duration<const K extends string>(key: K, defaultMs: number, bounds: { min: number; max: number }) {
  return { key, bounds, default: defaultMs, defaultText: formatDurationMs(defaultMs), parse: (text: string) => parseDurationMs(text, `--${key}`, bounds) };
}

/** A file path: any non-empty text (whether it can be read is checked where it is read). */
export function parseFilePath(text: string): string {
  if (text === '') throw new RelayError('ERR_BAD_OPTION', 'expected a file path, got ""');
  return text;
}

/** A framing name, for an option named --framing. */
export function parseFramingOption(text: string): FramingName {
  if (!isFramingName(text)) throw new RelayError('ERR_BAD_OPTION', `--framing "${text}": expected one of ${FRAMING_NAMES.join(', ')}`);
  return text;
}
