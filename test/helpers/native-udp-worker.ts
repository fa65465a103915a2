/**
 * A worker_thread that opens a native UDP receiver on 127.0.0.1:0 and reports to its parent:
 * { type: 'ready', port }, then { type: 'received', total } after each batch.
 * mode 'terminate': keeps receiving until the parent terminates it.
 * mode 'close': closes the receiver once `expected` datagrams arrived and posts { type: 'closed' };
 *   with nothing else open, the worker then ends on its own.
 * mode 'throw': onBatch throws Error('boom from onBatch') at the first batch.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { loadNativeUdp, nativeUdpUnavailableReason } from '../../src/native/addon.js';
import { NativeUdpReceiver } from '../../src/ingest/native-receiver.js';

const { mode, expected } = workerData as { mode: 'terminate' | 'close' | 'throw'; expected: number };
const port = parentPort!;
const native = loadNativeUdp();
if (native === undefined) {
  port.postMessage({ type: 'unavailable', reason: nativeUdpUnavailableReason() });
} else {
  let total = 0;
  const receiver = NativeUdpReceiver.open(native, {
    family: 4,
    host: '127.0.0.1',
    port: 0,
    recvBufferBytes: 1 << 20,
    maxDatagramBytes: 2048,
    batchSize: 32,
    onBatch: (count, r) => {
      if (mode === 'throw') throw new Error('boom from onBatch');
      for (let i = 0; i < count; i++) {
        // Every datagram is 64 bytes of its own index (mod 256): check one byte of each.
        if (r.length(i) !== 64 || r.datagram(i)[63] !== (total + i) % 256) {
          port.postMessage({ type: 'bad', index: total + i, length: r.length(i) });
        }
      }
      total += count;
      port.postMessage({ type: 'received', total });
      if (mode === 'close' && total >= expected) {
        r.close();
        port.postMessage({ type: 'closed' });
      }
    },
  });
  port.postMessage({ type: 'ready', port: receiver.address().port });
}
