/**
 * Commander argument parsers: each wraps the one parser in config/ and turns its RelayError into
 * commander's InvalidArgumentError, so every CLI argument error is reported the same way.
 */
import { InvalidArgumentError } from 'commander';
import { parseEndpoint, parseHostPort, type Endpoint, type HostPort, type ParseOptions } from '../config/address.js';
import { parseDurationMs, parseSize } from '../config/size.js';
import { parseCidr, type Cidr } from '../config/cidr.js';
import { FRAMING_NAMES, isFramingName, type FramingName } from '../framing/index.js';
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

/** Parser for a repeatable endpoint option (collects into a list). */
export function endpointListOption(options: ParseOptions): (value: string, previous: Endpoint[] | undefined) => Endpoint[] {
  return (value, previous) => [...(previous ?? []), commanderError(() => parseEndpoint(value, options))];
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
  if (!isFramingName(value)) {
    throw new InvalidArgumentError(`--framing "${value}": expected one of ${FRAMING_NAMES.join(', ')}`);
  }
  return value;
}

/** Parser for the repeatable --allow. */
export function cidrListOption(value: string, previous: Cidr[] | undefined): Cidr[] {
  return [...(previous ?? []), commanderError(() => parseCidr(value))];
}

/** Parser for a HOST:PORT option such as --metrics (port 0 picks a free one). */
export function hostPortOption(name: string): (value: string) => HostPort {
  return (value) => commanderError(() => parseHostPort(value, name, true));
}

/** Parser for a file option: a non-empty path (whether it can be read is checked where it is read). */
export function fileOption(value: string): string {
  if (value === '') throw new InvalidArgumentError('expected a file path, got ""');
  return value;
}
