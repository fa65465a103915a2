/**
 * The egress loop: wakes when ingest publishes a new tail, lets every destination write what it
 * can, and parks again. No busy polling: while idle the thread waits for the tail to move
 * (RingReader.waitForTail, the consumer half of the wake protocol in ring/wake.ts).
 *
 * Reload (reconfigure, docs/ARCHITECTURE.md "Reload"): an added destination takes a free ring slot
 * at the current tail and forwards from there; a removed one is retired: it stops at the tail of
 * the moment it was removed (`endAt`), keeps sending what it holds for up to the drain timeout
 * while it is up, then finishes like at shutdown (what is left is spilled or counted) and gives its
 * slot back (./retiree.ts). While it retires it is held to the limits of a running destination,
 * measured against the live tail, so it never holds the ring for the others. A destination with new settings is
 * updated in place (src/egress/destination.ts, update()).
 *
 * A spill directory has one owner at a time: a destination added while a retiring one still owns
 * its directory (removed and added again within the drain timeout) makes that one finish at once,
 * so what it left is on disk, and opens the directory only after it closed: the added one replays
 * that first, in order. SpillStore refuses a second open of a directory in one process besides.
 * A group member that stays in its changed group without a spill directory hands what it holds to
 * its successor in memory instead (docs/ARCHITECTURE.md, "Groups").
 */
import { distance, type RingViews } from '../ring/layout.js';
import { RingReader } from '../ring/ring-reader.js';
import { DestinationCounters, destinationBase, routeBlockBase } from '../metrics/counters.js';
import { Retiree } from './retiree.js';
import type { RateLimitedLog } from '../logging.js';
import type { SpillStore } from '../spill/segment-store.js';
import { openSpillStore } from './spill-open.js';
import { spillDirectoryFor } from '../spill/spill-options.js';
import type { DestinationChange, DestinationOptions, DrainReport, RetiredReport, SpillOptions } from '../thread-protocol.js';
import type { ConnectFn } from './attempt.js';
import { systemClock, type Clock } from './clock.js';
import { Destination, type DestinationContext } from './destination.js';
import type { DestinationSetup, Servable } from './destination-setup.js';
import type { Group } from '../group/group.js';
import { shareIn } from '../group/share.js';
import { RouteTable } from '../route/route-table.js';
import type { RouteSpec } from '../route/route-spec.js';
import { RouteCounters } from '../metrics/route-counters.js';
import { connectFnFor } from './transport.js';

/** A destination's identity: the name of its spill directory, which is made of exactly that. */
function identityOf(options: DestinationOptions): string {
  return spillDirectoryFor('', options);
}

/** What a destination is created with besides its options. */
type DestinationParts = Pick<DestinationSetup, 'connect' | 'store' | 'tail' | 'tailItems'>;

/** How egress reaches the world; the simulation passes fakes. */
export interface EgressEnvironment {
  clock: Clock;
  random: () => number;
  /** How a destination is reached: TCP or TLS (./transport.ts); the simulation's fake network. */
  transport: (options: DestinationOptions) => ConnectFn;
  /** False: pump() does not park on the ring (the simulation drives it). */
  park: boolean;
  /** --max-delay: after a pump that found a little work, wait this long before the next unless ingest gathers (ring/wake.ts); 0 or absent: park at once. */
  maxDelayMs?: number;
}

/** The real network and clock. */
export const systemEnvironment: EgressEnvironment = { clock: systemClock, random: Math.random, transport: connectFnFor, park: true };

/**
 * With --max-delay, a pump that found less than this waits before the next; one that found more,
 * or nothing, parks on the ring at once (at high rates batches are large anyway, and at rest
 * nothing wakes the thread).
 */
const SMALL_BATCH_BYTES = 16 * 1024;

/** Runs every destination off the shared ring. One instance, in the egress thread. */
export class Egress {
  private readonly reader: RingReader;
  /** Running destinations by slot. */
  private readonly destinations = new Map<number, Destination>();
  /** Removed destinations still draining, by slot (their slot stays taken until they finish). */
  private readonly retiring = new Map<number, Retiree>();
  private readonly context: DestinationContext;
  /** Destination groups with members running or retiring (src/group/). */
  private readonly groups = new Set<Group>();
  /** Which items each destination gets, decided once per item (src/route/route-table.ts). */
  private readonly routes: RouteTable;
  private parked = false;
  private delayed: NodeJS.Timeout | undefined;
  private stopped = false;
  private lastTail = 0;

  constructor(
    views: RingViews,
    private readonly initial: DestinationOptions[],
    private readonly counters: Float64Array,
    private readonly listenerSlots: number,
    private readonly log: RateLimitedLog,
    private readonly spill: SpillOptions | undefined,
    private readonly env: EgressEnvironment = systemEnvironment,
    routes?: RouteSpec,
  ) {
    this.reader = new RingReader(views);
    const { clock, random, transport } = env;
    this.context = { reader: this.reader, log, clock, random, transport, onWritable: (d) => this.serviceOne(d) };
    this.routes = new RouteTable(routes, new RouteCounters(counters, routeBlockBase(counters)), log);
  }

  private countersOf(options: DestinationOptions): DestinationCounters {
    return new DestinationCounters(this.counters, destinationBase(this.listenerSlots, options.index));
  }

  /**
   * A destination complete: its store opened (or none), its cursor at `tail`, `tailItems` items
   * into the ring's history; a group member with its share of its group (`groups`: the groups of
   * the destinations started together, by spec: members started together share one).
   */
  private create(options: DestinationOptions, setup: DestinationParts, groups: Map<string, Group>): Destination {
    const share = options.member && shareIn(groups, options.member, (g) => this.groups.add(g));
    return new Destination(options, { ...setup, counters: this.countersOf(options), share, route: this.routes.viewFor(options.route) }, this.context);
  }

  /** Serves one destination now (it became writable): a running one up to the tail, a retiring one up to where it stops. */
  private serviceOne(d: Servable): void {
    const retiree = this.retiring.get(d.index);
    if (retiree?.destination === d) retiree.serve();
    else d.service(this.reader.loadTail());
  }

  /**
   * Opens the spill directories (if any), connects every destination and starts serving the
   * ring. Their slots were allocated taken, at position 0 (allocateRing), before any append.
   */
  async start(): Promise<void> {
    const connects = this.initial.map((o) => this.env.transport(o));
    const stores = await Promise.all(this.initial.map((o) => this.openSpill(o)));
    const tail = this.reader.loadTail();
    const groups = new Map<string, Group>();
    for (const [i, o] of this.initial.entries()) this.run(this.create(o, { connect: connects[i]!, store: stores[i], tail, tailItems: 0 }, groups));
    this.pump();
  }

  /**
   * Applies a reload: retires the removed destinations, updates the changed ones and starts the
   * added ones at the current tail. Resolves once the added ones run; `retired` is called as
   * each removed one finishes (after up to `drainTimeoutMs`), with its final tally.
   */
  async reconfigure(change: DestinationChange, drainTimeoutMs: number, retired: (report: RetiredReport) => void): Promise<void> {
    // One tail for the whole change: removed destinations stop exactly where added ones start
    // (ingest publishes meanwhile; a second load would leave the items between to no one).
    const tail = this.reader.loadTail();
    const tailItems = this.itemsAt(tail);
    // New rules apply from the tail, past every cursor: no item's routes change once a destination read it.
    const cursors = [...this.destinations.values(), ...[...this.retiring.values()].map((r) => r.destination)].map((d) => d.cursorItems);
    this.routes.reconfigure(change.routes, tailItems, Math.min(tailItems, ...cursors));
    // Group members that stay in a changed group without a spill directory: what they hold goes to
    // their successor when they finish (with one, it goes through the directory).
    const heirs = new Set(change.add.filter((o) => o.member).map(identityOf));
    const awaiting: Retiree[] = [];
    for (const index of change.remove) {
      const destination = this.destinations.get(index);
      if (!destination) continue;
      this.destinations.delete(index);
      const heir = destination.settings.member !== undefined && !destination.spillStore && heirs.has(identityOf(destination.settings));
      const retiree = this.retire(destination, tail, drainTimeoutMs, retired, heir);
      if (heir) awaiting.push(retiree);
      retiree.done.catch((error: Error) => this.log.log('error', `retire:${index}`, `retiring a destination failed: ${error.message}`));
    }
    try {
      await this.add(change, tail, tailItems, awaiting);
    } finally {
      for (const r of awaiting) r.handTo(undefined); // the reload failed before adding it: it finishes as it would have
    }
  }

  /** The added half of reconfigure(): each added destination at `tail`; a retiree in `awaiting` hands what it holds to the one with its identity. */
  private async add(change: DestinationChange, tail: number, tailItems: number, awaiting: Retiree[]): Promise<void> {
    for (const options of change.update) this.destinations.get(options.index)?.update(options);
    // Every added destination holds its slot from that tail before anything is awaited, so
    // ingest cannot overwrite what it is to send while its spill directory opens.
    const connects = change.add.map((options) => {
      this.countersOf(options).reset();
      this.reader.takeSlot(options.index, tail);
      return this.env.transport(options);
    });
    // One removed a moment ago may still be draining to the same peer: the added one waits for it.
    const predecessors = change.add.map((o) => [...this.retiring.values()].find((r) => r.key === identityOf(o))?.done);
    const stores = await Promise.all(change.add.map((o) => this.openSpill(o)));
    const groups = new Map<string, Group>();
    for (const [i, o] of change.add.entries()) {
      const d = this.create(o, { connect: connects[i]!, store: stores[i], tail, tailItems }, groups);
      this.run(d, predecessors[i]);
      for (const r of awaiting) if (r.key === identityOf(o)) r.handTo(d);
    }
    this.pump();
  }

  /** Counts `d` running and starts it (after `connectAfter`, when given). */
  private run(d: Destination, connectAfter?: Promise<unknown>): void {
    this.destinations.set(d.index, d);
    d.start(connectAfter?.catch(() => {}));
  }

  /**
   * How many items the ring has published up to `tail`, counted from a destination whose cursor
   * is known exactly and whose bytes the ring still holds (a running one, or a retiring one that
   * has not let the ring go). Without one (every destination removed, and those retiring done with
   * the ring), TAIL_ID: it is stored apart from TAIL, so it may be a batch off in a running relay.
   */
  private itemsAt(tail: number): number {
    const holders = [...this.destinations.values(), ...[...this.retiring.values()].filter((r) => !r.ringFreed).map((r) => r.destination)];
    const reference = holders[0];
    if (!reference) return this.reader.loadTailId();
    return reference.cursorItems + this.reader.countItems(reference.cursor, tail);
  }

  /** Lets a removed destination send what it holds up to `endAt` (while up, for at most `timeoutMs`), then finishes it and frees its slot (./retiree.ts). */
  private retire(destination: Destination, endAt: number, timeoutMs: number, retired: (report: RetiredReport) => void, heir: boolean): Retiree {
    const retiree = new Retiree(destination, endAt, timeoutMs, identityOf(destination.settings), destination.spillStore?.dir, {
      reader: this.reader,
      clock: this.env.clock,
      tally: () => this.countersOf(destination.settings).tally(),
      closed: (r, report) => {
        // Reported in the same turn that it leaves `retiring`: whoever reads both never sees it in neither.
        this.retiring.delete(r.destination.index);
        retired(report);
      },
    });
    this.retiring.set(destination.index, retiree);
    if (heir) retiree.awaitHeir();
    retiree.start();
    return retiree;
  }

  /**
   * A destination's spill store; undefined without --spill-dir or when its directory fails
   * (logged). A retiring destination that still owns the directory finishes first.
   */
  private async openSpill(options: DestinationOptions): Promise<SpillStore | undefined> {
    if (!this.spill) return undefined;
    const dir = spillDirectoryFor(this.spill.dir, options);
    const owner = [...this.retiring.values()].find((r) => r.dir === dir);
    return openSpillStore(this.spill, options, this.countersOf(options), this.log, owner);
  }

  /**
   * Called once ingest has stopped: keeps serving until every connected destination has handed
   * the whole ring (and its spill backlog) to the kernel or `timeoutMs` passes, then closes the
   * connections; what is left goes to the spill directory when there is one. Destinations still
   * retiring from a reload finish with the rest.
   */
  async drain(timeoutMs: number): Promise<DrainReport> {
    const deadline = Date.now() + timeoutMs;
    const done = (): boolean => {
      const tail = this.reader.loadTail();
      return [...this.destinations.values()].every((d) => !d.isUp || d.caughtUp(tail));
    };
    this.pump();
    while (!done() && Date.now() < deadline) {
      // Shutdown only: a short poll keeps this simple and costs nothing in normal running.
      await new Promise((resolve) => setTimeout(resolve, 5));
      this.pump();
    }
    return this.stop();
  }

  /** Finishes every destination, running and retiring, at the tail of this moment. */
  async stop(): Promise<DrainReport> {
    this.stopped = true;
    clearTimeout(this.delayed);
    const tail = this.reader.loadTail();
    const running = [...this.destinations.values()];
    const undelivered = await Promise.all([
      ...running.map(async (d) => {
        const { lost, closed } = d.finish(tail);
        await closed;
        return { index: d.index, messages: lost };
      }),
      ...[...this.retiring.values()].map(async (r) => ({ index: r.destination.index, messages: (await r.finish()).messages })),
    ]);
    return { undelivered };
  }

  /** Serves every destination up to the current tail (a retiring one up to where it stops), then parks until the tail moves. */
  pump(): void {
    if (this.stopped) return;
    const previousTail = this.lastTail;
    this.lastTail = this.reader.loadTail();
    for (const g of this.groups) {
      if (g.isEmpty) this.groups.delete(g);
      else g.rebalance();
    }
    for (const d of this.destinations.values()) d.service(this.lastTail);
    for (const r of this.retiring.values()) r.serve();
    if (this.env.park) this.park(distance(this.lastTail, previousTail));
  }

  private park(movedBytes = 0): void {
    if (this.parked || this.stopped || this.delayed) return;
    const delay = this.env.maxDelayMs ?? 0;
    // When ingest gathers, it publishes once per budget: park on the ring and wake once per batch.
    if (delay > 0 && movedBytes > 0 && movedBytes < SMALL_BATCH_BYTES && !this.reader.ingestGathers()) {
      this.delayed = setTimeout(() => {
        this.delayed = undefined;
        this.pump();
      }, delay);
      return;
    }
    const moved = this.reader.waitForTail(this.lastTail);
    if (!moved) {
      // The tail moved between our pump and the wait: serve it, but let socket events run first.
      setImmediate(() => this.pump());
      return;
    }
    this.parked = true;
    void moved.then(() => {
      this.parked = false;
      this.pump();
    });
  }

  /** What the simulation checks: the slots running and retiring, and the spill directories owned. */
  inspect(): { running: ReadonlyMap<number, Destination>; retiring: ReadonlyMap<number, Readonly<Retiree>>; dirs: string[] } {
    const retiring = [...this.retiring.values()];
    return {
      running: this.destinations,
      retiring: this.retiring,
      dirs: [
        ...[...this.destinations.values()].flatMap((d) => (d.spillStore ? [d.spillStore.dir] : [])),
        ...retiring.flatMap((r) => (r.dir && !r.closed ? [r.dir] : [])),
      ],
    };
  }
}
