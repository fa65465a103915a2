/**
 * Opening a destination's spill directory in the egress thread (docs/ARCHITECTURE.md, "Reload":
 * one owner at a time): after the retiring destination that still owns it has finished, with its
 * damage counted and logged; a directory that cannot be used is logged, and the destination runs
 * without one (lagging data is dropped, counted).
 */
import type { RateLimitedLog } from '../logging.js';
import type { DestinationCounters } from '../metrics/counters.js';
import { SpillStore } from '../spill/segment-store.js';
import { spillDirectoryFor } from '../spill/spill-options.js';
import type { DestinationOptions, SpillOptions } from '../thread-protocol.js';

/** The store of `options`' directory under `spill`; `owner`, when given, is the retiring destination that holds it now. */
export async function openSpillStore(
  spill: SpillOptions,
  options: DestinationOptions,
  counters: DestinationCounters,
  log: RateLimitedLog,
  owner: { finish(): Promise<unknown> } | undefined,
): Promise<SpillStore | undefined> {
  const dir = spillDirectoryFor(spill.dir, options);
  if (owner) await owner.finish().catch(() => {});
  try {
    return await SpillStore.open(dir, {
      maxBytes: spill.maxBytes,
      segmentBytes: spill.segmentBytes,
      maxRecordBytes: spill.maxRecordBytes,
      onCorrupt: (segment, bytes, why) => {
        counters.spillCorrupt(bytes);
        log.log('warn', `spill-corrupt:${options.index}`, `${options.text}: skipped ${bytes} damaged byte(s) of ${segment}: ${why}`);
      },
    });
  } catch (error) {
    log.log(
      'error',
      `spill-open:${options.index}`,
      `${options.text}: cannot use spill directory ${dir}: ${(error as Error).message}; lagging data will be dropped`,
    );
    return undefined;
  }
}
