/** The bench's batched sender: a UDP socket of the native addon (src/native/addon.ts) sending with sendmmsg. */
import type { NativeHandle, NativeUdp, NativeUdpAddress } from '../native/addon.js';

/** A UDP socket connected to one destination, sending batches with sendmmsg. */
export class NativeUdpSender {
  private readonly handle: NativeHandle;
  private isClosed = false;

  /** Connects (no traffic) to host:port from a fresh ephemeral port; throws the addon's Error. */
  static open(native: NativeUdp, family: 4 | 6, host: string, port: number): NativeUdpSender {
    return new NativeUdpSender(native, native.udpSenderOpen(family, host, port));
  }

  private constructor(
    private readonly native: NativeUdp,
    handle: NativeHandle,
  ) {
    this.handle = handle;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** The local (source) address and port. */
  address(): NativeUdpAddress {
    return this.native.udpAddress(this.handle);
  }

  /**
   * Sends datagrams 0..count-1 (lengths[i] bytes each, back to back in buffer) and returns how
   * many left: fewer than count when the socket buffer is full or the destination refuses.
   */
  sendBatch(buffer: Uint8Array, lengths: Int32Array, count: number = lengths.length): number {
    return this.native.udpSendBatch(this.handle, buffer, lengths, count);
  }

  /** Idempotent. */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.native.udpSenderClose(this.handle);
  }
}
