/**
 * What the main thread hands each worker thread (workerData), and the messages they exchange.
 * Control messages only: datagrams never travel by postMessage, they go through the ring.
 *
 * This module owns these types: the thread modules import them from here, and it imports no
 * implementation (only the shapes of the shared ring, addresses and framings). The main thread
 * builds the options from the configuration in one place: src/main/thread-options.ts. So
 * src/config/ imports this module and this module imports nothing from src/config/.
 */
import type { RelayErrorCode } from './errors.js';
import type { GroupSpec } from './group/group-spec.js';
import type { RouteSpec } from './route/route-spec.js';
import type { FramingName } from './framing/index.js';
import type { RingBuffers } from './ring/layout.js';
import type { DestinationDropReason } from './metrics/snapshot-types.js';
import type { SplitName } from './ingest/line-split.js';
import type { RateLimit } from './ingest/rate-limit.js';
import type { ProxyVersion } from './framing/proxy-header.js';

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';

/** What a worker thread posts to the main thread to have a line logged. */
export interface LogMessage {
  type: 'log';
  level: LogLevel;
  message: string;
}

/**
 * One block of sources allowed to send (`--allow`): `10.0.0.0/8`, `2001:db8::/32`; a bare address
 * is a /32 or /128. src/config/cidr.ts parses it (parseCidr) and checks sources against a list
 * (AllowList). That file still declares the same interface: it is to import this one instead.
 */
export interface Cidr {
  address: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
  /** Canonical text, e.g. '10.0.0.0/8'. */
  text: string;
}

/** How UDP listeners receive: the native recvmmsg addon, or node:dgram. */
export type UdpIngestPath = 'native' | 'dgram';

/** One listener, as the ingest thread opens it. */
export interface ListenerOptions {
  index: number;
  scheme: 'udp' | 'tcp' | 'tls' | 'unix';
  /** unix@: the socket path. */
  host: string;
  port: number;
  /** Canonical address text, for logs. */
  text: string;
  /** Framing of a TCP input stream. */
  framing: FramingName;
  /** UDP and unix@: 'lf' makes each line of a datagram one message; undefined: each datagram is one. */
  split: SplitName | undefined;
  /** TCP/TLS: each connection begins with a PROXY protocol header of this version; undefined: none. */
  proxy: ProxyVersion | undefined;
  /** Under socket activation, the FileDescriptorName= of the socket to take (src/service/activated-socket.ts); undefined: matched by address. */
  fdname?: string;
}

/** What every listener of the ingest thread shares. */
export interface IngestOptions {
  maxMessageBytes: number;
  /** Sources allowed to send (`--allow`); empty: everyone. */
  allow: Cidr[];
  /** Sources refused even inside `allow` (`--deny`). */
  deny: Cidr[];
  /** SO_RCVBUF asked for on UDP listeners. */
  recvBufferBytes: number;
  /** How UDP listeners receive (decided by the main thread, which checked the addon loads). */
  udpIngest: UdpIngestPath;
  /** What tls@ listeners serve with (--listen-tls-*); undefined when no listener is tls@. */
  tls: ListenerTls | undefined;
  limits: InputLimits;
  /** The socket file of unix@ listeners (fixed at start, as the ring is). */
  unixSocket: UnixSocketFile;
  /** udp@, tcp@ and tls@ listeners bind with SO_REUSEPORT (--reuse-port; fixed at start). */
  reusePort: boolean;
  /** --max-delay: when every listener is a native datagram socket, each is held this long after a small batch (ring/wake.ts); 0: never. */
  maxDelayMs: number;
  /** The sockets systemd passed (socket activation, src/service/socket-activation.ts); undefined or empty: none. */
  activated?: ActivatedSocket[];
}

/** The socket file a unix@ listener makes: its mode (--unix-mode) and owner (--unix-owner, looked up by the main thread). */
export interface UnixSocketFile {
  mode: number;
  /** undefined: the relay's own; an id of -1 leaves that one as it is. */
  owner: { text: string; uid: number; gid: number } | undefined;
}

/** What inputs may take (--max-connections, --idle-timeout, --rate-limit, --rate-burst). */
export interface InputLimits {
  /** Most open connections per TCP/TLS listener. */
  maxConnections: number;
  /** A connection that completes no message for this long is closed; 0: never. */
  idleTimeoutMs: number;
  /** Messages per second per source address, per listener (src/ingest/rate-limit.ts); undefined: no limit. */
  rateLimit: RateLimit | undefined;
}

/** A tls@ listener's certificate and key, and with `ca` the CAs client certificates must lead to (mutual TLS): PEM text. */
export interface ListenerTls {
  cert: string;
  key: string;
  ca: string | undefined;
}

/** A destination's name in its ring slot: ingest names the destination that holds a full ring. */
export interface DestinationName {
  index: number;
  text: string;
}

/** What a bound listener reports. */
export interface BoundListener {
  /** The address actually bound, port 0 resolved: e.g. udp@127.0.0.1:41234. */
  text: string;
  /** SO_RCVBUF the kernel granted (UDP only). */
  recvBufferBytes?: number;
  /** Bound with SO_REUSEPORT: other sockets (relays) may share its port (--reuse-port). */
  reusePort?: boolean;
  /** The socket systemd passed that it uses, instead of one it bound (socket activation). */
  activated?: { fd: number; name: string | undefined };
}

/**
 * TLS to a tls@ destination, as the main thread read it (src/config/tls-files.ts): PEM text, not
 * paths, so the egress thread never touches the files. Verification is always on.
 */
export interface TlsClientOptions {
  /** CA certificates trusted beside Node's store (--tls-ca), PEM. */
  ca: string | undefined;
  /** Client certificate and its key for mutual TLS, PEM; both or neither. */
  cert: string | undefined;
  key: string | undefined;
  /** Name the server certificate must carry (also sent as SNI); default: the host. */
  servername: string | undefined;
  /** Digest of all of the above: equal fingerprints mean nothing changed (reload compares them). */
  fingerprint: string;
}

/** One destination, as the egress thread runs it. */
export interface DestinationOptions {
  /** Its slot: counter block and RELEASED slot (src/ring/layout.ts); stable while it runs. */
  index: number;
  /** tcp, or tls (then `tls` is set). */
  scheme: 'tcp' | 'tls' | 'relp';
  host: string;
  port: number;
  tls: TlsClientOptions | undefined;
  /** Canonical address text, for logs. */
  text: string;
  framing: FramingName;
  /** Largest single write, in ring bytes. */
  maxWriteBytes: number;
  connectTimeoutMs: number;
  /** A connection with writes pending and no progress for this long is reported stalled and closed. */
  stallTimeoutMs: number;
  reconnectMinMs: number;
  reconnectMaxMs: number;
  /** relp@: most commands unanswered at once (--relp-window). */
  relpWindow: number;
  /** A group member: its group and its position in the member list (src/group/). */
  member?: { group: GroupSpec; position: number };
  /** The name routing rules send to it by (a group member: its group's). */
  route: string;
}

/** Where and how much a relay spills (`--spill-dir`, `--spill-max`). */
export interface SpillOptions {
  dir: string;
  /** Bytes each destination's directory may hold. */
  maxBytes: number;
  segmentBytes: number;
  maxRecordBytes: number;
}

/** Messages a destination (by slot) left neither delivered nor spilled when it finished. */
export interface Undelivered {
  index: number;
  messages: number;
}

/**
 * What a removed destination came to when it finished (its counters leave /metrics then, so the
 * main thread logs this): messages confirmed sent, dropped by reason, and spilled to its
 * directory, over its whole run; `messages` are those left neither delivered nor spilled at the end.
 */
export interface RetiredReport extends Undelivered {
  sent: number;
  dropped: Partial<Record<DestinationDropReason, number>>;
  spilled: number;
  /** A group member: messages it handed to other members, or to its successor in a changed group. */
  handedOver: number;
}

/** What is left undelivered per destination after a drain (destinations still retiring included). */
export interface DrainReport {
  undelivered: Undelivered[];
}

/** A reload's changes to the destinations (src/main/reload-plan.ts decides them). */
export interface DestinationChange {
  /** New destinations, each in a free slot: they start at the current tail. */
  add: DestinationOptions[];
  /** Slots of destinations to retire (drain, then close). */
  remove: number[];
  /** Destinations that stay, with their new settings (timeouts; TLS, which reconnects when it changed). */
  update: DestinationOptions[];
  /** The routing rules from now on (undefined: none). */
  routes: RouteSpec | undefined;
}

/** A reload's changes to the listeners. */
export interface ListenerChange {
  /** New listeners, each in a free slot. */
  add: ListenerOptions[];
  /** Slots of listeners to close. */
  remove: number[];
  /** Sources allowed from now on. */
  allow: Cidr[];
  /** Sources denied from now on. */
  deny: Cidr[];
  /** What tls@ listeners serve with from now on (kept ones too: a rotated certificate applies to new connections). */
  tls: ListenerTls | undefined;
  /** Limits from now on (open listeners and connections too). */
  limits: InputLimits;
}

interface Shared {
  ring: RingBuffers;
  counters: SharedArrayBuffer;
  /** Counter blocks for listeners (MAX_LISTENERS): destination blocks follow them. */
  listenerSlots: number;
  /** Ring RELEASED slots and destination counter blocks (DESTINATION_SLOTS). */
  destinationSlots: number;
  /** One line per cause per interval for repeated warnings. */
  logIntervalMs: number;
  /** Every how many ms the thread bumps its heartbeat for systemd's watchdog (src/service/heartbeat.ts); 0: it does not. */
  heartbeatMs: number;
}

export interface IngestWorkerData extends Shared {
  listeners: ListenerOptions[];
  options: IngestOptions;
  /** The destinations at start. */
  destinations: DestinationName[];
}

export interface EgressWorkerData extends Shared {
  destinations: DestinationOptions[];
  /** The routing rules at start (undefined: none, every destination gets every message). */
  routes: RouteSpec | undefined;
  /** Absent without --spill-dir. */
  spill: SpillOptions | undefined;
  /** --max-delay: after a pump that found a little work, egress waits this long before the next (0: it parks at once). */
  maxDelayMs: number;
}

export interface BackgroundWorkerData extends Shared {
  reclaimIntervalMs: number;
}

/** Every thread, once at start: its kernel thread id, for per-thread CPU accounting. */
export interface ThreadIdMessage {
  type: 'thread-id';
  tid: number | undefined;
}

/** main -> ingest */
/** A reconfigure's `destinations`: those the reload adds, named before egress takes their slots. */
export type ToIngest =
  | { type: 'stop' }
  | { type: 'reconfigure'; change: ListenerChange; destinations: DestinationName[] }
  /** The relay's own messages (carbon-c-relay's statistics lines), appended as if received. */
  | { type: 'inject'; messages: string[] };
/** ingest -> main */
export type FromIngest =
  | { type: 'listening'; listeners: BoundListener[] }
  /** A reconfigure was applied: what each added listener bound (same order), or why it could not be. */
  | { type: 'reconfigured'; listeners: BoundListener[] }
  /**
   * A reconfigure failed. `closed`: slots of removed listeners it had closed and could not re-open
   * (their port was taken meanwhile; the message names them): they are closed now. Usually empty.
   */
  | { type: 'reconfigure-failed'; message: string; closed: number[] }
  /** `cause`: the error the RelayError wrapped, as structured clone carries it (message and stack). */
  | { type: 'fatal'; code: RelayErrorCode; message: string; cause?: unknown }
  | { type: 'stopped' }
  | ThreadIdMessage
  | LogMessage;

/** main -> egress */
export type ToEgress = { type: 'drain'; timeoutMs: number } | { type: 'reconfigure'; change: DestinationChange; drainTimeoutMs: number };
/** egress -> main */
export type FromEgress =
  | { type: 'ready' }
  | ({ type: 'drained' } & DrainReport)
  /** The added destinations run, the removed ones are retiring. */
  | { type: 'reconfigured' }
  /** A removed destination finished and gave its slot back. */
  | ({ type: 'retired' } & RetiredReport)
  | ThreadIdMessage
  | LogMessage;
/** background -> main */
export type FromBackground = ThreadIdMessage | LogMessage;

/** A socket systemd passed, as the main thread found it (plain data: it is posted to the ingest thread; src/service/activated-socket.ts matches listeners to it). */
export interface ActivatedSocket {
  fd: number;
  /** Its FileDescriptorName= (LISTEN_FDNAMES); undefined when systemd gave no names. */
  name: string | undefined;
  /** What listener it can serve: 'other' for a socket none can (a stream socket not listening, a Unix stream socket...). */
  kind: 'udp' | 'tcp' | 'unix' | 'other';
  /** IP: the bound address and port. */
  host?: string;
  port?: number;
  /** Unix: the bound path. */
  path?: string;
  /** For log lines: `udp [::]:514 (fd 3, "relay.socket")`. */
  text: string;
}
