/** Test payloads from the one seeded generator (src/prng.ts), re-exported for the tests. */
import { mulberry32, randomInt } from '../../src/prng.js';

export { mulberry32, randomInt };

/**
 * The payload of message `id`: its length and bytes follow from `id` and `seed` alone, so a
 * receiver can check any message without having seen the sender. Bytes are binary (0-255).
 */
export function payloadFor(seed: number, id: number, maxLength: number): Buffer {
  const random = mulberry32((seed ^ Math.imul(id + 1, 0x9e3779b1)) >>> 0);
  const length = randomInt(random, 0, maxLength);
  const out = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i += 4) {
    const word = (random() * 4294967296) >>> 0;
    out[i] = word & 0xff;
    if (i + 1 < length) out[i + 1] = (word >>> 8) & 0xff;
    if (i + 2 < length) out[i + 2] = (word >>> 16) & 0xff;
    if (i + 3 < length) out[i + 3] = word >>> 24;
  }
  return out;
}
