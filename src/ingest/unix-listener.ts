/**
 * A unix@PATH listener: a Unix datagram socket (the local syslog socket, /dev/log style) on the
 * native addon, received as udp-native-listener.ts receives UDP: recvmmsg batches, one JS call per
 * batch, each datagram copied once into the ring, one publish per batch. node:dgram has no Unix
 * datagram sockets, so there is no other path: the main thread refused unix@ without the addon
 * (./udp-path.ts). Its senders are usually unnamed sockets, so --allow, --deny and --rate-limit,
 * which match a source address, do not apply: no allow-list check, no source bucket.
 *
 * The socket file: the addon binds it, replacing a stale one and refusing a live one or a path that
 * is not a socket (native/relay_unix.c); then it gets --unix-mode and --unix-owner. At close it is
 * removed if it is still the file this listener made (same device, inode and change time): a file
 * put there since is someone else's. A socket systemd passed (socket activation) is used as it is:
 * its file is systemd's (SocketMode=, SocketUser=), neither changed nor removed here.
 */
import { chmodSync, chownSync, lstatSync, unlinkSync } from 'node:fs';
import { loadNativeUdp, nativeUdpUnavailableReason } from '../native/addon.js';
import { NativeUdpReceiver } from './native-receiver.js';
import { checkRecvBuffer, type Intake, type OpenListener } from './listener.js';

/** unixOpen's bind error as one line: what is at the path, or what the kernel said. */
function bindError(error: NodeJS.ErrnoException, path: string): Error {
  if (error.code === 'EADDRINUSE') return new Error(`address in use: another socket is bound to ${path}`, { cause: error });
  if (error.code === 'ENOTSOCK') return new Error(`${path} exists and is not a socket; it is left as it is`, { cause: error });
  return new Error(error.code ? `${error.syscall ?? 'bind'} ${error.code} ${path}` : error.message, { cause: error });
}

/**
 * What tells the socket file a listener made from one made at the path since: its device, inode (a
 * freed inode number is given out again at once) and change time, taken after its chmod and chown.
 * Undefined when nothing is there.
 */
function identityOf(path: string): string | undefined {
  const stat = lstatSync(path, { bigint: true, throwIfNoEntry: false });
  return stat === undefined ? undefined : `${stat.dev}:${stat.ino}:${stat.ctimeNs}`;
}

/** Removes `path` if it is still the file of identity `made`; never throws. */
function removeIfOurs(path: string, made: string): void {
  try {
    if (identityOf(path) === made) unlinkSync(path);
  } catch {
    // Gone, or not ours to remove: nothing to do.
  }
}

/** Gives the socket file its mode and owner; throws one line when the system refuses. */
function applySocketFile(path: string, intake: Intake): void {
  const { mode, owner } = intake.unixSocket;
  const step = (what: string, apply: () => void): void => {
    try {
      apply();
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
      const hint = code === 'EPERM' ? ' (giving a file away needs root)' : '';
      throw new Error(`cannot ${what}: ${code}${hint}`, { cause: error });
    }
  };
  step(`set the mode of ${path}`, () => chmodSync(path, mode));
  if (owner !== undefined) step(`give ${path} to ${owner.text}`, () => chownSync(path, owner.uid, owner.gid));
}

/**
 * Binds a Unix datagram socket at the listener's path (its `host`), or adopts the one systemd passed
 * (`address.fd`, bound at `address.host`); rejects with one line when it cannot.
 */
export const openUnixListener: OpenListener = async (options, address, intake) => {
  const passed = address.fd;
  const path = passed === undefined ? options.host : address.host;
  const native = loadNativeUdp();
  if (native === undefined) throw new Error(`the native addon is not available: ${nativeUdpUnavailableReason()}`);
  let batch: Buffer | undefined;
  let receiver: NativeUdpReceiver;
  try {
    receiver = NativeUdpReceiver.open(native, {
      ...(passed === undefined ? { path } : { fd: passed, path }),
      recvBufferBytes: intake.recvBufferBytes,
      maxDatagramBytes: intake.datagramBytes,
      onBatch: (count, r) => {
        batch ??= Buffer.from(r.bytes.buffer, r.bytes.byteOffset, r.bytes.byteLength);
        for (let i = 0; i < count; i++) {
          // A truncated datagram reports its real length: accept() drops it whole as oversize.
          const length = r.length(i);
          if (length > intake.datagramBytes) intake.accept(batch, r.offsetOf(i), length);
          else intake.acceptDatagram(batch, r.offsetOf(i), length);
        }
        intake.publish();
      },
      onError: (error) => intake.log.log('warn', `unix-error:${options.index}`, `${options.text}: ${error.message}`),
      holdMs: intake.holdMs,
    });
  } catch (error) {
    throw bindError(error as NodeJS.ErrnoException, path);
  }
  const granted = receiver.recvBufferSize();
  checkRecvBuffer(options, intake, granted);
  const bound = { text: receiver.boundText(), recvBufferBytes: granted };
  if (passed !== undefined) {
    return { bound, port: 0, close: () => receiver.finish(), gathers: true };
  }
  let made: string | undefined;
  try {
    applySocketFile(path, intake);
    made = identityOf(path);
  } catch (error) {
    receiver.close();
    // The file bind just made: nothing else can bind the path while a file is there.
    try {
      unlinkSync(path);
    } catch {
      // Gone already.
    }
    throw error;
  }
  const close = async (): Promise<void> => {
    await receiver.finish();
    if (made !== undefined) removeIfOurs(path, made);
  };
  return { bound, port: 0, close, gathers: true };
};
