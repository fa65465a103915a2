/**
 * A UDP listener on the native addon: recvmmsg batches straight from this thread's event loop,
 * one JS call per batch; each datagram is copied once, from the batch buffer into the ring, and
 * the batch is published at once (one TAIL store, at most one wake of egress). The allow-list
 * and --rate-limit match each IPv4 sender's raw address bytes: no text per datagram. With
 * --reuse-port the socket shares its port (SO_REUSEPORT) and leaves the port's group at a graceful
 * stop before the last reads (./reuse-port.ts).
 */
import { formatHostPort } from '../config/address.js';
import { loadNativeUdp, type NativeUdp } from '../native/addon.js';
import { NativeUdpReceiver, type NativeReceiveOptions, type NativeUdpReceiverOptions } from './native-receiver.js';
import { bucketOfAddress, checkRecvBuffer, type OpenListener } from './listener.js';
import { ipv4Key, type SourceBucket } from './rate-limit.js';

/** NativeUdpReceiver.open, its errors worded as node:dgram words them (`bind EADDRINUSE 127.0.0.1:2008`). */
function openReceiver(native: NativeUdp, options: NativeUdpReceiverOptions & NativeReceiveOptions): NativeUdpReceiver {
  try {
    return NativeUdpReceiver.open(native, options);
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    const where = 'fd' in options ? `fd ${options.fd}` : 'host' in options ? formatHostPort(options.host, options.port) : options.path;
    throw new Error(e.code ? `${e.syscall ?? 'bind'} ${e.code} ${where}` : e.message, { cause: error });
  }
}

/** Binds a native receiver on `address`, or adopts the socket systemd passed (the main thread checked the addon loads); rejects with its bind error. */
export const openNativeUdpListener: OpenListener = async (options, address, intake) => {
  let batch: Buffer | undefined;
  const socket = address.fd === undefined ? { family: address.family, host: address.host, port: options.port } : { fd: address.fd, path: undefined };
  const receiver = openReceiver(loadNativeUdp()!, {
    ...socket,
    reusePort: intake.reusePort,
    recvBufferBytes: intake.recvBufferBytes,
    maxDatagramBytes: intake.datagramBytes,
    onBatch: (count, r) => {
      batch ??= Buffer.from(r.bytes.buffer, r.bytes.byteOffset, r.bytes.byteLength);
      const allowList = intake.allowList();
      const checkSource = !allowList.allowsEveryone;
      const limiter = intake.rateLimiter();
      for (let i = 0; i < count; i++) {
        const why = checkSource ? allowList.refusalBytes(r.senderFamily(i), r.metaBytes, r.senderAddressOffset(i)) : undefined;
        if (why !== undefined) {
          intake.refuseDatagram(r.senderAddress(i), why, batch, r.offsetOf(i), Math.min(r.length(i), intake.datagramBytes));
          continue;
        }
        // A slot holds datagramBytes, so a truncated datagram reports a longer real length: accept()
        // drops it (whole) as oversize before copying anything.
        const length = r.length(i);
        let from: SourceBucket | undefined;
        if (limiter !== undefined) {
          const text = () => r.senderAddress(i);
          from = r.senderFamily(i) === 4 ? limiter.bucketOf(ipv4Key(r.metaBytes, r.senderAddressOffset(i)), text) : bucketOfAddress(limiter, text());
        }
        if (length > intake.datagramBytes) intake.accept(batch, r.offsetOf(i), length, from);
        else intake.acceptDatagram(batch, r.offsetOf(i), length, from);
      }
      intake.publish();
    },
    onError: (error) => intake.log.log('warn', `udp-error:${options.index}`, `${options.text}: ${error.message}`),
    holdMs: intake.holdMs,
  });
  const granted = receiver.recvBufferSize();
  checkRecvBuffer(options, intake, granted);
  return {
    bound: { text: receiver.boundText(), recvBufferBytes: granted, reusePort: intake.reusePort },
    port: receiver.address().port,
    close: () => receiver.finish(),
    gathers: true,
    leaveSharedPort: intake.reusePort ? () => receiver.leavePortGroup() : undefined,
  };
};
