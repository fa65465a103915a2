/**
 * carbon-c-relay's cleansing of a Graphite line (placeholder until the verified implementation
 * lands): returns the line unchanged.
 */

/** The line as carbon-c-relay cleanses it; undefined when it drops the line. */
export function cleanseGraphiteLine(line: Uint8Array): Uint8Array | undefined {
  return line;
}
