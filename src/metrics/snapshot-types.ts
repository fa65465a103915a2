/**
 * The snapshot: every number the relay reports, as plain data taken at one moment. Prometheus
 * text, JSON (/stats), the stats log line, /health and `relay top` are all renderings of it
 * (compute, then render: docs/ARCHITECTURE.md). Counters are totals since start; gauges are now.
 */

/** Why ingest dropped a message before it reached the ring. */
export type IngestDropReason = 'oversize' | 'ring_full' | 'framing' | 'not_allowed' | 'denied' | 'rate_limited';
/** Why ingest refused (or closed) an input connection: its TLS handshake failed. */
export type ConnectionClose = 'tls_handshake' | 'max_connections' | 'idle_timeout' | 'proxy_header';
/** Why a destination did not get a message the relay had received. */
export type DestinationDropReason = 'overflow' | 'spill_full' | 'unframeable' | 'shutdown' | 'rejected';

export interface ListenerSnapshot {
  /** Canonical bound address, e.g. udp@127.0.0.1:2008 (the `listener` label). */
  name: string;
  /** Bound with SO_REUSEPORT (--reuse-port): other relays may receive on its port too, each its share of the senders. */
  reusePort: boolean;
  receivedMessages: number;
  receivedBytes: number;
  /** Datagrams the kernel dropped on this socket before the relay read them (UDP; 0 for TCP). */
  kernelDroppedMessages: number;
  droppedMessages: Record<IngestDropReason, number>;
  /** TCP input connections accepted (0 for UDP). */
  connectionsAccepted: number;
  /** Input connections refused or closed by the relay, by reason. */
  closedConnections: Record<ConnectionClose, number>;
}

export interface DestinationSnapshot {
  /** Canonical address, e.g. tcp@127.0.0.1:2009 (the `destination` label). */
  name: string;
  up: boolean;
  /** When `up` last changed (ms since the epoch); the relay's start time if it never did. */
  sinceMs: number;
  sentMessages: number;
  sentBytes: number;
  droppedMessages: Record<DestinationDropReason, number>;
  spilledMessages: number;
  replayedMessages: number;
  /** Messages received but not yet handed to a write for this destination. */
  lagMessages: number;
  lagBytes: number;
  /** Connections lost or failed attempts. */
  reconnects: number;
  /** Messages forwarded on `lf` that the receiver will split (contain a newline). */
  splitMessages: number;
  /** Connections closed because the peer stopped reading. */
  stalls: number;
  /** Connections established (the first one included). */
  connects: number;
  /** Messages written again on a new connection because the lost one had not confirmed them. */
  resentMessages: number;
  /** Spill segments found damaged (bad checksum, truncated): their remainder was skipped. */
  spillCorruptSegments: number;
  /** Bytes skipped in damaged spill segments. */
  spillCorruptBytes: number;
  /** TLS attempts that reached the server but did not come up, or were refused by a TLS alert right after (0 for tcp@). */
  tlsFailures: number;
  /** Messages written and not yet confirmed: for relp@, sent and not yet acknowledged. */
  unconfirmedMessages: number;
  /** The group it is a member of (README "Groups"); undefined for a plain destination. */
  group: string | undefined;
  /** A group member: ring messages that were other members' to send. */
  othersMessages: number;
  /** A group member: messages it handed, unconfirmed, to the members that took its share when it went down. */
  handedOverMessages: number;
  /** A group member: messages another member handed it. */
  takenOverMessages: number;
}

/** Why the routing rules sent a message nowhere. */
export type RouteDropReason = 'unrouted' | 'blackholed' | 'invalid';

export interface RoutesSnapshot {
  droppedMessages: Record<RouteDropReason, number>;
  /** Each rule (where it was written, e.g. `relay.toml: route 2`), and the messages it matched. */
  rules: { rule: string; matchedMessages: number }[];
}

export interface Snapshot {
  /** When it was taken (ms since the epoch). */
  timeMs: number;
  startedMs: number;
  /** False once ingest has stopped (shutting down). */
  ingestRunning: boolean;
  /** How UDP listeners receive: 'native' (recvmmsg addon) or 'dgram' (node:dgram). */
  udpIngest: 'native' | 'dgram';
  ring: { capacityBytes: number; usedBytes: number };
  /** Configuration reloads (SIGHUP) applied, and refused (bad file, a listener that cannot bind). */
  reloads: { ok: number; failed: number };
  listeners: ListenerSnapshot[];
  destinations: DestinationSnapshot[];
  /** Routing (README "Routing"): messages no rule sent anywhere, by reason, and what each rule matched; absent without rules. */
  routes?: RoutesSnapshot;
  /** CPU seconds per relay thread: main, ingest, egress, background. */
  /** Each thread's kernel id (as in /proc/PID/task/TID) and CPU time. */
  threads: { name: string; tid: number; cpuSeconds: number }[];
  process: { cpuSeconds: number; residentBytes: number };
}
