/**
 * What a Destination (./destination.ts) is built from: what the destinations of one egress thread
 * share, what one starts with, and what it reports for the accounting. Apart from the class, so
 * that its egress and the simulations can build one without reaching into it.
 */
import type { RingReader } from '../ring/ring-reader.js';
import type { DestinationCounters } from '../metrics/counters.js';
import type { SpillStore } from '../spill/segment-store.js';
import type { RateLimitedLog } from '../logging.js';
import type { DestinationOptions } from '../thread-protocol.js';
import type { ConnectFn } from './attempt.js';
import type { Clock } from './clock.js';
import type { Share } from '../group/share.js';
import type { RouteView } from '../route/route-table.js';

/** A destination as whoever serves it sees it. */
export interface Servable {
  readonly index: number;
  /** Writes what it can up to `endAt` (the live tail unless it is retiring), under the limits measured against `tail`. */
  service(tail: number, endAt?: number): void;
}

/** What the destinations of one egress thread share: the ring, the log, and how they reach the world. */
export interface DestinationContext {
  reader: RingReader;
  log: RateLimitedLog;
  clock: Clock;
  random: () => number;
  /** How a destination with these options is reached: ./transport.ts's connectFnFor, or the simulation's fake network. */
  transport: (options: DestinationOptions) => ConnectFn;
  /** Called when a destination can take data again (connected, drained, spill ready). */
  onWritable(destination: Servable): void;
}

/** What one destination starts with, chosen or opened by its egress before it is built. */
export interface DestinationSetup {
  counters: DestinationCounters;
  /** context.transport(options), chosen before its spill directory opened (settings that do not load fail before that). */
  connect: ConnectFn;
  /** Its spill store, with --spill-dir: what an earlier run left there is sent first. */
  store: SpillStore | undefined;
  /** Where its cursor starts: the tail when it was added (a relay forwards what arrives from then on)... */
  tail: number;
  /** ...which is this many items into the ring's history. */
  tailItems: number;
  /** A group member's share of the ring (src/group/share.ts); absent for a plain destination. */
  share?: Share;
  /** Its routes (src/route/route-table.ts): a group member's are its group's. */
  route?: RouteView;
}

/** Where the messages not yet sent nor dropped are; see the module comment. */
export interface DestinationAccounting {
  windowMessages: number;
  /** Net messages this run added to the spill queue: appended (or on their way) minus read for replay. */
  spillQueueDelta: number;
}
