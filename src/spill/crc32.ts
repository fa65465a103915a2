/** CRC-32 (IEEE 802.3, as zlib and gzip compute it) for spill records. */
import zlib from 'node:zlib';

const TABLE = (() => {
  const table = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c;
  }
  return table;
})();

/** Table-driven CRC-32 in TypeScript: the path Node 20 (no zlib.crc32) takes. */
export function crc32Portable(data: Uint8Array): number {
  let crc = -1;
  for (let i = 0; i < data.length; i++) crc = TABLE[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ -1) >>> 0;
}

const native = (zlib as unknown as { crc32?: (data: Uint8Array) => number }).crc32;

/** CRC-32 of `data`: zlib's native one where Node has it (22.2+), else crc32Portable. */
export const crc32: (data: Uint8Array) => number = typeof native === 'function' ? (data) => native(data) >>> 0 : crc32Portable;
