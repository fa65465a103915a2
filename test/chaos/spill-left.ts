/**
 * What a relay left in its spill directory after it exited: the numbers of the messages still on
 * disk per destination, read with the relay's own store (src/spill/segment-store.ts) from its
 * replay position on, without confirming anything (the directory stays as the relay left it).
 */
import { numberOf } from '../helpers/numbered.js';
import { SpillStore } from '../../src/spill/segment-store.js';
import { spillDirectoryFor } from '../../src/spill/spill-options.js';

/** The numbers still to be replayed to the destination at 127.0.0.1:`port` (`lf` for tcp@, len32le for relp@), in order. */
export async function spillLeft(root: string, destination: { scheme: 'tcp' | 'relp'; port: number }): Promise<number[]> {
  const framing = destination.scheme === 'tcp' ? 'lf' : 'len32le';
  const dir = spillDirectoryFor(root, { scheme: destination.scheme, host: '127.0.0.1', port: destination.port, framing });
  const corrupt: string[] = [];
  const store = await SpillStore.open(dir, {
    maxBytes: Number.MAX_SAFE_INTEGER,
    segmentBytes: 64 * 1024 * 1024,
    maxRecordBytes: 64 * 1024,
    onCorrupt: (segment, bytes, why) => corrupt.push(`${segment}: ${bytes} bytes, ${why}`),
  });
  try {
    const numbers: number[] = [];
    for (let batch = await store.readBatch(1 << 20); batch; batch = await store.readBatch(1 << 20)) {
      for (const payload of batch.payloads) numbers.push(numberOf(payload));
    }
    if (corrupt.length > 0) throw new Error(`spill directory ${dir} is damaged: ${corrupt.join('; ')}`);
    return numbers;
  } finally {
    await store.close();
  }
}
