/**
 * The one place that turns the relay's configuration into what each thread is given (the types
 * are the thread protocol's, src/thread-protocol.ts). The policy constants that are not options
 * live here, named, with the reason for each.
 */
import type { DestinationName, DestinationOptions, IngestOptions, ListenerOptions, SpillOptions } from '../thread-protocol.js';
import type { Endpoint } from '../config/address.js';
import type { DestinationConfig, GroupConfig, RelayConfig } from '../config/config.js';
import type { GroupSpec } from '../group/group-spec.js';
import { RING_POLICY } from '../ring/policies.js';

const MIB = 1024 * 1024;

/**
 * Largest single write to a destination, in ring bytes: a fraction of the ring
 * (RING_POLICY.maxWriteFraction, ../ring/policies.ts), at most 1 MiB. One write per contiguous
 * range is what makes egress cheap (~30 ns/message), and 1 MiB already carries thousands of messages.
 */
export const MAX_WRITE_BYTES_CAP = 1 * MIB;

/**
 * Spill segment size: an eighth of --spill-max, between 1 MiB and 64 MiB. Several segments per
 * directory, so replayed ones can be deleted while spilling goes on; not so many small files
 * that a long outage means thousands of them.
 */
export const SPILL_SEGMENTS_PER_DIRECTORY = 8;
export const SPILL_SEGMENT_MIN_BYTES = 1 * MIB;
export const SPILL_SEGMENT_MAX_BYTES = 64 * MIB;

/** Every listener at start, in configuration order: its position is its slot (counter block). */
export function listenerOptions(config: RelayConfig): ListenerOptions[] {
  return config.listeners.map((l, slot) => listenerOptionsFor(config, l, slot));
}

/** One listener in `slot`. */
export function listenerOptionsFor(config: RelayConfig, l: Endpoint, slot: number): ListenerOptions {
  return {
    index: slot,
    scheme: l.scheme === 'tcp' || l.scheme === 'tls' || l.scheme === 'unix' ? l.scheme : 'udp',
    host: l.host,
    port: l.port,
    text: l.text,
    framing: l.framing ?? config.framing,
    split: l.split,
    proxy: l.proxy,
    fdname: l.fdname,
  };
}

/** What the ingest thread's listeners share. */
export function ingestOptions(config: RelayConfig): IngestOptions {
  return {
    maxMessageBytes: config.maxMessageBytes,
    recvBufferBytes: config.recvBufferBytes,
    allow: config.allow,
    deny: config.deny,
    udpIngest: config.udpIngest,
    tls: config.listenerTls,
    limits: config.inputLimits,
    unixSocket: config.unixSocket,
    reusePort: config.reusePort,
    maxDelayMs: config.maxDelayMs,
  };
}

/** The name of the destination `d` in `slot`, as ingest's ring-full line gives it. */
export function destinationName(d: DestinationConfig, slot: number): DestinationName {
  return { index: slot, text: d.endpoint.text };
}

/** Every destination at start, in configuration order: its position is its slot (counter block and RELEASED slot). */
export function destinationOptions(config: RelayConfig): DestinationOptions[] {
  return config.destinations.map((d, slot) => destinationOptionsFor(config, d, slot));
}

/** One destination in `slot`. */
export function destinationOptionsFor(config: RelayConfig, { endpoint: d, tls, member, name }: DestinationConfig, slot: number): DestinationOptions {
  return {
    member: member && { group: groupSpec(member.group), position: member.position },
    route: member ? member.group.name : (name ?? d.text),
    index: slot,
    scheme: d.scheme === 'tls' || d.scheme === 'relp' ? d.scheme : 'tcp',
    host: d.host,
    port: d.port,
    tls,
    text: d.text,
    // A RELP session frames each message itself: it takes the ring's own len32le frames (src/relp/client.ts).
    framing: d.scheme === 'relp' ? 'len32le' : (d.framing ?? config.framing),
    relpWindow: config.relpWindow,
    maxWriteBytes: Math.min(MAX_WRITE_BYTES_CAP, config.ringBytes * RING_POLICY.maxWriteFraction),
    connectTimeoutMs: config.connectTimeoutMs,
    stallTimeoutMs: config.stallTimeoutMs,
    reconnectMinMs: config.reconnectMinMs,
    reconnectMaxMs: config.reconnectMaxMs,
  };
}
/** The spill settings, or undefined without --spill-dir. */
export function spillOptions(config: RelayConfig): SpillOptions | undefined {
  if (!config.spill) return undefined;
  const segmentBytes = Math.max(SPILL_SEGMENT_MIN_BYTES, Math.min(SPILL_SEGMENT_MAX_BYTES, config.spill.maxBytes / SPILL_SEGMENTS_PER_DIRECTORY));
  return { dir: config.spill.dir, maxBytes: config.spill.maxBytes, segmentBytes, maxRecordBytes: config.maxMessageBytes };
}

/** A group as the egress thread runs it. */
export function groupSpec(g: GroupConfig): GroupSpec {
  const members = g.members.map(({ member: m, instance }) => ({ host: m.host, port: m.port, instance, text: m.text }));
  return { name: g.name, mode: g.mode, key: g.key, replication: g.replication, dynamic: g.dynamic, members };
}
