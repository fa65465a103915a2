/** A RelayConfig for tests that run Relay in process: defaults, a small ring, node:dgram, and what the test says. */
import { DEFAULTS, type RelayConfig } from '../../src/config/config.js';
import { DESTINATION_ADDRESS, LISTENER_ADDRESS, parseEndpoint } from '../../src/config/address.js';

/** A relay from `listeners` to `destinations` (address strings), spilling to `spillDir` if given; `more` overrides anything. */
export function relayConfig(listeners: string[], destinations: string[], spillDir: string | undefined, more: Partial<RelayConfig> = {}): RelayConfig {
  return {
    listeners: listeners.map((l) => parseEndpoint(l, LISTENER_ADDRESS)),
    destinations: destinations.map((d) => ({ endpoint: parseEndpoint(d, DESTINATION_ADDRESS), tls: undefined })),
    groups: [],
    framing: DEFAULTS.framing,
    ringBytes: 1 << 20,
    maxMessageBytes: DEFAULTS.maxMessageBytes,
    recvBufferBytes: 1 << 20,
    udpIngest: 'dgram',
    allow: [],
    deny: [],
    inputLimits: DEFAULTS.inputLimits,
    unixSocket: DEFAULTS.unixSocket,
    reusePort: DEFAULTS.reusePort,
    drainTimeoutMs: 1000,
    connectTimeoutMs: DEFAULTS.connectTimeoutMs,
    stallTimeoutMs: DEFAULTS.stallTimeoutMs,
    reconnectMinMs: DEFAULTS.reconnectMinMs,
    reconnectMaxMs: DEFAULTS.reconnectMaxMs,
    relpWindow: DEFAULTS.relpWindow,
    maxDelayMs: DEFAULTS.maxDelayMs,
    spill: spillDir === undefined ? undefined : { dir: spillDir, maxBytes: DEFAULTS.spillMaxBytes },
    reclaimIntervalMs: DEFAULTS.reclaimIntervalMs,
    logIntervalMs: DEFAULTS.logIntervalMs,
    ...more,
  };
}
