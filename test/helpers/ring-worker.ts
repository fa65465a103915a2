/**
 * One role of the multi-thread ring test: 'writer' appends `items` seeded payloads, 'reader'
 * verifies and releases them (parking on TAIL like egress does), 'reclaimer' runs the real
 * background loop. Posts { ok, detail, count } when done (the reclaimer runs until stopped).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { EGRESS_SLEEPING, ITEM_HEADER_BYTES, TAIL, viewRing, type RingBuffers } from '../../src/ring/layout.js';
import { RingReader } from '../../src/ring/ring-reader.js';
import { RingWriter } from '../../src/ring/ring.js';
import { runReclaimer } from '../../src/background/reclaimer.js';
import { payloadFor } from './prng.js';

const { buffers, items, maxLength, seed, role, index } = workerData as {
  buffers: RingBuffers;
  items: number;
  maxLength: number;
  seed: number;
  role: 'writer' | 'reader' | 'reclaimer';
  index: number;
};
const v = viewRing(buffers);
const deadline = Date.now() + 60_000;
const nap = new Int32Array(new SharedArrayBuffer(4));

function write(): { ok: boolean; detail: string; count: number } {
  const writer = new RingWriter(v);
  let id = 0;
  while (id < items) {
    if (Date.now() > deadline) return { ok: false, detail: `writer timed out at ${id}`, count: id };
    if (writer.append(payloadFor(seed, id, maxLength))) id++;
    else Atomics.wait(nap, 0, 0, 1); // full: back off 1 ms (a test writer may wait; ingest never does)
    if (id % 7 === 0 || id === items) writer.publish();
  }
  writer.publish();
  return { ok: true, detail: 'written', count: id };
}

function read(): { ok: boolean; detail: string; count: number } {
  const reader = new RingReader(v);
  let cursor = 0;
  let id = 0;
  while (id < items) {
    if (Date.now() > deadline) return { ok: false, detail: `reader ${index} timed out at ${id}`, count: id };
    const tail = reader.loadTail();
    if (!reader.scan(cursor, tail, 4096)) {
      Atomics.store(v.control, EGRESS_SLEEPING, 1);
      Atomics.wait(v.control, TAIL, tail | 0, 20);
      continue;
    }
    let position = reader.segmentStart;
    while (position !== reader.segmentEnd) {
      const length = reader.payloadLength(position);
      const offset = (position & v.mask) + ITEM_HEADER_BYTES;
      if (!Buffer.from(v.data.buffer, offset, length).equals(payloadFor(seed, id, maxLength))) {
        return { ok: false, detail: `reader ${index}: item ${id} torn`, count: id };
      }
      position = (position + ITEM_HEADER_BYTES + length) >>> 0;
      id++;
    }
    cursor = reader.segmentEnd;
    reader.release(index, cursor);
  }
  return { ok: true, detail: 'read', count: id };
}

if (role === 'reclaimer') runReclaimer(v, 5);
else parentPort!.postMessage(role === 'writer' ? write() : read());
