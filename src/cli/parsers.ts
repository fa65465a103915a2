/**
 * Commander argument parsers: each wraps the one parser in config/ and turns its RelayError into
 * commander's InvalidArgumentError, so every CLI argument error is reported the same way.
 */
import { InvalidArgumentError } from 'commander';
import { parseEndpoint, parseHostPort, type Endpoint, type HostPort, type ParseOptions } from '../config/address.js';
import { parseFilePath, parseFramingOption, type Setting } from '../config/setting-kinds.js';
import { parseDurationMs, parseSize } from '../config/size.js';
import type { FramingName } from '../framing/index.js';
import { RelayError } from '../errors.js';

function commanderError<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof RelayError) {
      // Commander's error type (so it reports it as an argument error), keeping ours as the cause.
      const invalid = new InvalidArgumentError(error.message);
      invalid.cause = error;
      throw invalid;
    }
    throw error;
  }
}

/** Parser for one endpoint argument. */
export function endpointArgument(options: ParseOptions): (value: string) => Endpoint {
  return (value) => commanderError(() => parseEndpoint(value, options));
}

/** Commander's parser for a setting's option (src/config/settings.ts). */
export function settingOption<T>(parse: NonNullable<Setting<string, T>['parse']>): (value: string, previous: T | undefined) => T {
  return (value, previous) => commanderError(() => parse(value, previous));
}

/** Parser for a size option such as --buffer 64MiB. */
export function sizeOption(name: string, bounds: { min: number; max: number }): (value: string) => number {
  return (value) => commanderError(() => parseSize(value, name, bounds));
}

/** Parser for a duration option such as --drain-timeout 5s. */
export function durationOption(name: string, bounds: { min: number; max: number }): (value: string) => number {
  return (value) => commanderError(() => parseDurationMs(value, name, bounds));
}

/** Parser for --framing. */
export function framingOption(value: string): FramingName {
  return commanderError(() => parseFramingOption(value));
}

/** Parser for a HOST:PORT option such as --metrics (port 0 picks a free one). */
export function hostPortOption(name: string): (value: string) => HostPort {
  return (value) => commanderError(() => parseHostPort(value, name, true));
}

/** Parser for a file option: a non-empty path (whether it can be read is checked where it is read). */
export function fileOption(value: string): string {
  return commanderError(() => parseFilePath(value));
}
