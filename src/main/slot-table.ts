/**
 * The main thread's one record of slots (pure: no threads, no I/O). A slot is the index of a
 * listener's or destination's counter block and, for a destination, of its RELEASED position in
 * the ring (src/ring/positions.ts). The reload plan reads it (./reload-plan.ts), Relay
 * changes it, and nothing else keeps a copy.
 *
 * A destination slot is free, running or retiring. The order that keeps it true across threads:
 * a reload marks removed destinations retiring *before* it asks the egress thread to retire them,
 * and the egress thread reports a slot retired only after it was asked; the main thread handles
 * its messages in order, so a `retired` report always finds its slot retiring, whether it comes
 * before or after egress's `reconfigured` reply (a removed destination that is down finishes at
 * once, while an added one may still be opening its spill directory). Each retiring slot is freed
 * exactly once; a report for a slot that is not retiring is refused and counted, never applied.
 */
import type { DestinationConfig } from '../config/config.js';
import type { Endpoint } from '../config/address.js';
import type { BoundListener } from '../thread-protocol.js';

/** A listener in its slot: what was asked, and what it bound. */
export interface ListenerSlot {
  endpoint: Endpoint;
  bound: BoundListener;
}

/** A destination's slot: running, or removed and still draining (its slot is taken until then). */
export interface DestinationSlot {
  state: 'running' | 'retiring';
  config: DestinationConfig;
}

/** Every slot the relay holds, by index. */
export class SlotTable {
  private readonly listenerSlots = new Map<number, ListenerSlot>();
  private readonly destinationSlots = new Map<number, DestinationSlot>();
  /** Reports that named a slot that was not retiring (a bug if ever non-zero). */
  refusedReports = 0;

  constructor(
    /** Slots available for destinations (DESTINATION_SLOTS; fewer in tests). */
    readonly destinationCapacity: number,
  ) {}

  /** Listeners now, by slot. */
  get listeners(): ReadonlyMap<number, ListenerSlot> {
    return this.listenerSlots;
  }

  /** Running destinations, by slot. */
  running(): Map<number, DestinationConfig> {
    return new Map([...this.destinationSlots].filter(([, s]) => s.state === 'running').map(([slot, s]) => [slot, s.config]));
  }

  /** Slots of removed destinations still draining. */
  retiring(): Set<number> {
    return new Set([...this.destinationSlots].filter(([, s]) => s.state === 'retiring').map(([slot]) => slot));
  }

  /** Every destination slot taken, running or retiring. */
  get destinations(): ReadonlyMap<number, DestinationSlot> {
    return this.destinationSlots;
  }

  setListener(slot: number, listener: ListenerSlot): void {
    this.listenerSlots.set(slot, listener);
  }

  removeListener(slot: number): ListenerSlot | undefined {
    const listener = this.listenerSlots.get(slot);
    this.listenerSlots.delete(slot);
    return listener;
  }

  /** Puts a new destination in free `slot`; throws if the slot is taken (the plan only hands out free ones). */
  addDestination(slot: number, config: DestinationConfig): void {
    if (this.destinationSlots.has(slot)) throw new Error(`slot ${slot} is taken (${this.destinationSlots.get(slot)!.state})`);
    if (slot < 0 || slot >= this.destinationCapacity) throw new Error(`slot ${slot} is out of range`);
    this.destinationSlots.set(slot, { state: 'running', config });
  }

  /** New settings for the running destination in `slot`. */
  updateDestination(slot: number, config: DestinationConfig): void {
    const s = this.destinationSlots.get(slot);
    if (s?.state !== 'running') throw new Error(`slot ${slot} is not running`);
    s.config = config;
  }

  /** Marks the running destination in `slot` as retiring (before egress is asked to retire it). */
  retireDestination(slot: number): DestinationConfig {
    const s = this.destinationSlots.get(slot);
    if (s?.state !== 'running') throw new Error(`slot ${slot} is not running`);
    s.state = 'retiring';
    return s.config;
  }

  /**
   * The egress thread reports the destination in `slot` retired: the slot is free again. Returns
   * what ran there, or undefined (counted in refusedReports) when the slot was not retiring.
   */
  retired(slot: number): DestinationConfig | undefined {
    const s = this.destinationSlots.get(slot);
    if (s?.state !== 'retiring') {
      this.refusedReports++;
      return undefined;
    }
    this.destinationSlots.delete(slot);
    return s.config;
  }

  /**
   * Records a reload's destination changes, before the egress thread is asked to make them:
   * removed ones retiring, kept ones with their new settings, added ones running in their slots.
   * Returns the removed ones' configurations.
   */
  applyDestinations(plan: {
    remove: number[];
    keep: { slot: number; destination: DestinationConfig }[];
    add: { slot: number; destination: DestinationConfig }[];
  }): DestinationConfig[] {
    const removed = plan.remove.map((slot) => this.retireDestination(slot));
    for (const { slot, destination } of plan.keep) this.updateDestination(slot, destination);
    for (const { slot, destination } of plan.add) this.addDestination(slot, destination);
    return removed;
  }

  /** Free destination slots, lowest first. */
  freeDestinationSlots(): number[] {
    const free: number[] = [];
    for (let slot = 0; slot < this.destinationCapacity; slot++) if (!this.destinationSlots.has(slot)) free.push(slot);
    return free;
  }
}
