/**
 * Replay of one destination's spill directory: reads batches, oldest first, and hands each to
 * the destination, as long as the connection takes more. One read at a time; the ring waits
 * while `pending` (newer ring data must not overtake a batch read but not yet written).
 */
import type { SpillBatch, SpillStore } from '../spill/segment-store.js';

export interface ReplayHooks {
  /** True while the connection is up and does not need 'drain'. */
  canWrite(): boolean;
  /** A batch read from disk: the destination frames it and makes it owed (and written, if up). */
  deliver(batch: SpillBatch): void;
  /** The spill had nothing more to read: the ring may go on. */
  emptied(): void;
  /** A read failed (logged by the caller); replay goes on with what is readable. */
  readFailed(error: Error): void;
}

/** Drives one spill store's replay; see the module comment. */
export class ReplayDriver {
  private reading = false;

  constructor(
    private readonly store: SpillStore,
    private readonly maxBatchBytes: number,
    private readonly hooks: ReplayHooks,
  ) {}

  /** True while a batch is being read or the store holds anything unread. */
  get pending(): boolean {
    return this.reading || this.store.hasBacklog;
  }

  /** Starts reading if the connection can take data and no read runs yet. */
  kick(): void {
    // A full socket resumes us through its 'drain' event; starting now would only spin.
    if (this.reading || !this.hooks.canWrite()) return;
    this.reading = true;
    void this.run();
  }

  private async run(): Promise<void> {
    try {
      while (this.hooks.canWrite()) {
        const batch = await this.store.readBatch(this.maxBatchBytes).catch((error: Error) => {
          this.hooks.readFailed(error);
          return undefined;
        });
        if (!batch) {
          this.reading = false;
          this.hooks.emptied();
          return;
        }
        this.hooks.deliver(batch);
      }
    } finally {
      this.reading = false;
    }
  }
}
